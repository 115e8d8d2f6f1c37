from django.db import migrations

GROUPS = ["部门工作人员", "牵头统筹单位工作人员"]


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    add = Permission.objects.get(content_type__app_label="comments", codename="add_comment")
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.add(add)


class Migration(migrations.Migration):
    dependencies = [("comments", "0007_coordinators_export_personal_data")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
