from django.contrib.auth.management import create_permissions
from django.db import migrations

COORDINATORS = "牵头统筹单位工作人员"


def grant(apps, schema_editor):
    app_config = apps.get_app_config("comments")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=COORDINATORS)
    group.permissions.add(
        Permission.objects.get(content_type__app_label="comments", codename="export_personal_data")
    )


class Migration(migrations.Migration):
    dependencies = [("comments", "0006_exports")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
