"""Every existing consultation gets its first revision, holding its text, period and clauses."""

from django.db import migrations


def revision_one_for_each(apps, schema_editor):
    Consultation = apps.get_model("consultations", "Consultation")
    Revision = apps.get_model("consultations", "Revision")
    Clause = apps.get_model("consultations", "Clause")
    for consultation in Consultation.objects.all().iterator():
        revision, _created = Revision.objects.get_or_create(
            consultation=consultation,
            number=1,
            defaults={
                "draft_title": consultation.draft_title,
                "preamble": consultation.preamble,
                "source_text": consultation.source_text,
                "opens_at": consultation.opens_at,
                "closes_at": consultation.closes_at,
                "published_at": consultation.created_at,
                "created_at": consultation.created_at,
            },
        )
        Clause.objects.filter(consultation=consultation, revision__isnull=True).update(
            revision=revision
        )
        Consultation.objects.filter(pk=consultation.pk).update(current_revision=revision)


class Migration(migrations.Migration):
    dependencies = [("consultations", "0004_revisions")]

    operations = [migrations.RunPython(revision_one_for_each, migrations.RunPython.noop)]
