"""Every existing report is the report on its consultation's first draft, published when the
consultation's report was."""

from django.db import migrations


def reports_of_revision_one(apps, schema_editor):
    AdoptionReport = apps.get_model("reports", "AdoptionReport")
    Revision = apps.get_model("consultations", "Revision")
    for report in AdoptionReport.objects.filter(revision__isnull=True).select_related(
        "consultation"
    ):
        consultation = report.consultation
        # consultations 0005 gave every consultation its revision 1.
        report.revision = Revision.objects.get(consultation=consultation, number=1)
        report.published_at = consultation.report_published_at
        report.save(update_fields=["revision", "published_at"])


class Migration(migrations.Migration):
    dependencies = [("reports", "0005_report_per_revision")]

    operations = [migrations.RunPython(reports_of_revision_one, migrations.RunPython.noop)]
