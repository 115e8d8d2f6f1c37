from django.db import migrations

from consult.consultations.group_grants import group_permissions_grant

COORDINATORS = "牵头统筹单位工作人员"
PERMISSIONS = [
    "reports.view_adoptionreport",
    "reports.change_adoptionreport",
    "reports.view_reportclause",
    "reports.change_reportclause",
]


def grant(apps, schema_editor):
    group_permissions_grant(apps, COORDINATORS, PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("comments", "0004_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
