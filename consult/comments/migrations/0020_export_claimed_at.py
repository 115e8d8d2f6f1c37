from django.db import migrations, models


def running_exports_claimed_when_created(apps, schema_editor):
    # An export already being built has no claim time: taking its creation as one lets the
    # export sweep hand it on if its worker died before this migration.
    Export = apps.get_model("comments", "Export")
    Export.objects.filter(status="running").update(claimed_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0019_help_text_organisation_removed"),
    ]

    operations = [
        migrations.AddField(
            model_name="export",
            name="claimed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(running_exports_claimed_when_created, migrations.RunPython.noop),
    ]
