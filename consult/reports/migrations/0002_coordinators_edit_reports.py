from django.contrib.auth.management import create_permissions
from django.db import migrations

COORDINATORS = "牵头统筹单位工作人员"
PERMISSIONS = ["view_adoptionreport", "change_adoptionreport", "view_reportclause", "change_reportclause"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("reports")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=COORDINATORS)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="reports", codename__in=PERMISSIONS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("comments", "0004_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
