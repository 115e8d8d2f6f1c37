"""Coordinators see the periodic jobs' health (admin index warning, 定时任务状态)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

COORDINATORS = "牵头统筹单位工作人员"


def grant(apps, schema_editor):
    jobs = apps.get_app_config("jobs")
    jobs.models_module = True
    create_permissions(jobs, apps=apps, verbosity=0)
    jobs.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=COORDINATORS)
    group.permissions.add(
        Permission.objects.get(content_type__app_label="jobs", codename="view_jobstatus")
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name=COORDINATORS):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="jobs", codename="view_jobstatus")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("comments", "0004_staff_groups"),
        ("jobs", "0001_job_status"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
