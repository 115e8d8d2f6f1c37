"""The staff groups the migrations create match the rule in consultations.services."""

import pytest
from django.contrib.auth.models import Group

from consult.consultations.services import GROUP_PERMISSIONS, staff_group

pytestmark = pytest.mark.django_db


def permissions_of(group):
    return sorted(
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    )


def test_the_migrated_groups_have_exactly_their_permissions():
    for name, wanted in GROUP_PERMISSIONS.items():
        assert permissions_of(Group.objects.get(name=name)) == sorted(wanted)


def test_a_deleted_group_comes_back_with_its_permissions():
    for name, wanted in GROUP_PERMISSIONS.items():
        Group.objects.filter(name=name).delete()
        assert permissions_of(staff_group(name)) == sorted(wanted)
