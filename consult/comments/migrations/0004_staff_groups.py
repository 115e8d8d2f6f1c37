"""The two staff groups the triage work needs, with their permissions.

Which comments a member of staff sees is decided by department membership (comments.access);
these groups decide what they may do with them.
"""

from django.db import migrations

from consult.consultations.group_grants import group_permissions_grant

DEPARTMENT_STAFF = "部门工作人员"
COORDINATORS = "牵头统筹单位工作人员"

DEPARTMENT_PERMISSIONS = [
    "comments.view_comment",
    "comments.change_comment",
    "comments.view_commentevent",
    "comments.view_cooperatingopinion",
    "comments.view_commentrouting",
    "comments.view_attachment",
    "consultations.view_consultation",
    "consultations.view_clause",
    "notifications.view_reminder",
]
COORDINATOR_PERMISSIONS = DEPARTMENT_PERMISSIONS + [
    "consultations.publish_report",
    "notifications.view_notification",
    "notifications.view_outgoingemail",
    "notifications.change_outgoingemail",
]


def create_groups(apps, schema_editor):
    group_permissions_grant(apps, DEPARTMENT_STAFF, DEPARTMENT_PERMISSIONS)
    group_permissions_grant(apps, COORDINATORS, COORDINATOR_PERMISSIONS)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=[DEPARTMENT_STAFF, COORDINATORS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("comments", "0003_work_history"),
        ("consultations", "0002_report_subscription"),
        ("notifications", "0003_reminders"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
