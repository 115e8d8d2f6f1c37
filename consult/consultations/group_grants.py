"""Granting staff groups their permissions from a data migration.

The comments, reports and jobs apps each add permissions to the staff groups in a migration;
this is the one way they do it. It takes the migration's historical `apps`, never the models.
"""

from django.contrib.auth.management import create_permissions


def group_permissions_grant(apps, group_name: str, permissions: list[str]) -> None:
    """Give the group (created if missing) each "app_label.codename" permission."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for app_label in sorted({permission.split(".")[0] for permission in permissions}):
        # Django creates permissions after the last migration; the group needs them now.
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group, _created = Group.objects.get_or_create(name=group_name)
    for permission in permissions:
        app_label, codename = permission.split(".")
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def group_permissions_revoke(apps, group_name: str, permissions: list[str]) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name=group_name):
        for permission in permissions:
            app_label, codename = permission.split(".")
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
