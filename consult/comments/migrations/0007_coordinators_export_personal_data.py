from django.db import migrations

from consult.consultations.group_grants import group_permissions_grant

COORDINATORS = "牵头统筹单位工作人员"


def grant(apps, schema_editor):
    group_permissions_grant(apps, COORDINATORS, ["comments.export_personal_data"])


class Migration(migrations.Migration):
    dependencies = [("comments", "0006_exports")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
