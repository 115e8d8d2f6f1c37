"""A job's status row can be written before it ever ran: when its health is first read."""

import django.utils.timezone
from django.db import migrations, models


def first_seen_at_first_run(apps, schema_editor):
    JobStatus = apps.get_model("jobs", "JobStatus")
    JobStatus.objects.update(first_seen_at=models.F("first_run_at"))


def never_run_forget(apps, schema_editor):
    # Before the columns become required again; the rows come back when health is read.
    JobStatus = apps.get_model("jobs", "JobStatus")
    JobStatus.objects.filter(first_run_at__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0002_coordinators_see_job_health"),
    ]

    operations = [
        migrations.AddField(
            model_name="jobstatus",
            name="first_seen_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="第一次运行或第一次检查其状态的时间；从未运行的任务自此起计算是否逾期。",
                verbose_name="首次记录",
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="jobstatus",
            name="first_run_at",
            field=models.DateTimeField(
                blank=True, help_text="第一次运行的时间。", null=True, verbose_name="首次运行"
            ),
        ),
        migrations.AlterField(
            model_name="jobstatus",
            name="last_started_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="最近开始"),
        ),
        migrations.RunPython(first_seen_at_first_run, never_run_forget),
    ]
