import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("reports", "0006_reports_of_revision_one")]

    operations = [
        migrations.AlterField(
            model_name="adoptionreport",
            name="revision",
            field=models.OneToOneField(
                help_text="报告统计对这一稿提出的意见。",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="report",
                to="consultations.revision",
                verbose_name="所属文本",
            ),
        ),
    ]
