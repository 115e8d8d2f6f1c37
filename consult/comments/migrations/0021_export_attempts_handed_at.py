from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0020_export_claimed_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="export",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="export",
            name="handed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
