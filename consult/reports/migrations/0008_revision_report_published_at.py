"""Each revision learns when the report on it was published (Revision.report_published_at)."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def report_dates_copy(apps, schema_editor):
    AdoptionReport = apps.get_model("reports", "AdoptionReport")
    Revision = apps.get_model("consultations", "Revision")
    published = AdoptionReport.objects.filter(
        revision=OuterRef("pk"), published_at__isnull=False
    ).values("published_at")[:1]
    Revision.objects.filter(report__published_at__isnull=False).update(
        report_published_at=Subquery(published)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0007_report_revision_required"),
        ("consultations", "0007_revision_report_published_at"),
    ]

    operations = [migrations.RunPython(report_dates_copy, migrations.RunPython.noop)]
