"""Coordinators see the periodic jobs' health (admin index warning, 定时任务状态)."""

from django.db import migrations

from consult.consultations.group_grants import group_permissions_grant, group_permissions_revoke

COORDINATORS = "牵头统筹单位工作人员"
PERMISSIONS = ["jobs.view_jobstatus"]


def grant(apps, schema_editor):
    group_permissions_grant(apps, COORDINATORS, PERMISSIONS)


def revoke(apps, schema_editor):
    group_permissions_revoke(apps, COORDINATORS, PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("comments", "0004_staff_groups"),
        ("jobs", "0001_job_status"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
