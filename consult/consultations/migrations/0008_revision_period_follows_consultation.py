"""The draft consulted on gets the consultation's period where the two drifted apart.

Before `Consultation.save` carried a moved period to that draft's row, moving the close in the
admin left the row behind: once a later draft was published, the earlier draft's page, its
report, retention and its comments' answer deadline read the old close. A consultation whose
later draft is out already cannot be repaired: its earlier draft's moved close was never kept.
"""

from django.db import migrations


def periods_follow(apps, schema_editor):
    Consultation = apps.get_model("consultations", "Consultation")
    Revision = apps.get_model("consultations", "Revision")
    for consultation in Consultation.objects.only("pk", "opens_at", "closes_at").iterator():
        consulted = (
            Revision.objects.filter(
                consultation_id=consultation.pk,
                published_at__isnull=False,
                opens_at__isnull=False,
            )
            .order_by("-number")
            .values_list("pk", flat=True)
            .first()
        )
        if consulted is None:
            continue
        Revision.objects.filter(pk=consulted).exclude(
            opens_at=consultation.opens_at, closes_at=consultation.closes_at
        ).update(opens_at=consultation.opens_at, closes_at=consultation.closes_at)


class Migration(migrations.Migration):
    dependencies = [
        ("consultations", "0007_revision_report_published_at"),
    ]

    operations = [
        migrations.RunPython(periods_follow, migrations.RunPython.noop, elidable=True),
    ]
