import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("consultations", "0006_clause_revision_required"),
        ("reports", "0004_unanswered_reason"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="adoptionreport",
            options={
                "ordering": ["consultation", "revision__number"],
                "verbose_name": "意见采纳情况",
                "verbose_name_plural": "意见采纳情况",
            },
        ),
        migrations.AlterField(
            model_name="adoptionreport",
            name="consultation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="reports",
                to="consultations.consultation",
                verbose_name="征求意见",
            ),
        ),
        migrations.AddField(
            model_name="adoptionreport",
            name="published_at",
            field=models.DateTimeField(
                blank=True,
                help_text="公布后公众即可查看本报告。",
                null=True,
                verbose_name="公布时间",
            ),
        ),
        migrations.AddField(
            model_name="adoptionreport",
            name="revision",
            field=models.OneToOneField(
                help_text="报告统计对这一稿提出的意见。",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="report",
                to="consultations.revision",
                verbose_name="所属文本",
            ),
        ),
    ]
