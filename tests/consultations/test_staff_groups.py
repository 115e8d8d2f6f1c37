"""The staff groups the migrations create match the rule in consultations.services, and every
way of making someone staff of a department puts them in the right one."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from consult.consultations.models import Membership
from consult.consultations.services import (
    DEPARTMENT_STAFF_GROUP,
    GROUP_PERMISSIONS,
    staff_group,
    staff_join,
)
from consult.notices.importer import notice_import
from consult.notices.parser import parse_notice
from consult.testing.weifang import ROOT
from tests.factories import DepartmentFactory

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


# A bureau's superuser makes staff in the admin, not by calling staff_join: a member added there
# must be able to sign in and work at once.


@pytest.fixture
def superuser_client(client):
    admin_user = get_user_model().objects.create_superuser("root", password="pw-123456")
    client.force_login(admin_user)
    return client


def new_user(username="zhang"):
    return get_user_model().objects.create_user(username, password="pw-123456")


def can_work(user) -> bool:
    user = get_user_model().objects.get(pk=user.pk)  # a fresh copy: no cached permissions
    return user.is_staff and user.has_perm("comments.change_comment")


def test_a_member_added_on_the_department_page_gets_the_admin_and_the_group(superuser_client):
    department = DepartmentFactory()
    user = new_user()
    url = reverse("admin:consultations_department_change", args=[department.pk])
    page = superuser_client.get(url)
    data = {
        "name": department.name,
        "full_name": department.full_name,
        "is_active": "on",
        "digest_mode": department.digest_mode,
        "digest_window_minutes": department.digest_window_minutes,
    }
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management[name].value()
    data |= {
        "memberships-TOTAL_FORMS": 1,
        "memberships-0-user": user.pk,
        "memberships-0-role": Membership.Role.HANDLER,
        "memberships-0-department": department.pk,
    }
    response = superuser_client.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    assert Membership.objects.filter(user=user, department=department).exists()
    assert can_work(user)
    assert list(user.groups.values_list("name", flat=True)) == [DEPARTMENT_STAFF_GROUP]


def test_a_member_added_on_the_members_page_of_the_issuer_is_a_coordinator(
    superuser_client, weifang_open
):
    user = new_user()
    response = superuser_client.post(
        reverse("admin:consultations_membership_add"),
        {"user": user.pk, "department": weifang_open.issuer_id, "role": Membership.Role.MANAGER},
    )
    assert response.status_code == 302
    assert can_work(user)
    assert get_user_model().objects.get(pk=user.pk).has_perm("consultations.publish_report")


def test_staff_who_joined_before_their_department_issued_a_notice_become_its_coordinators(
    weifang_open,
):
    later_issuer = DepartmentFactory(name="市自然资源和规划局")
    user = new_user()
    staff_join(user, later_issuer)
    assert not get_user_model().objects.get(pk=user.pk).has_perm("consultations.publish_report")

    notice = (ROOT / "fixtures" / "notices" / "weifang-marine-2024.txt").read_text("utf-8")
    parsed = parse_notice(notice)
    parsed.issuer, parsed.issuer_short_names = later_issuer.full_name, [later_issuer.name]
    consultation = notice_import(parsed=parsed, slug="later-issuer")
    assert consultation.issuer == later_issuer
    assert get_user_model().objects.get(pk=user.pk).has_perm("consultations.publish_report")


def test_the_admin_index_s_hidden_headers_are_read_out_in_chinese(superuser_client):
    """Django 5.2's Chinese catalogue lacks them: screen readers read "Model name, Add link"
    in English on every staff page (locale/zh_Hans holds them)."""
    page = superuser_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = page.content.decode()
    assert "模型名称" in text and "修改或查看列表链接" in text
    assert "Model name" not in text and "Add link" not in text


def test_a_member_removed_or_moved_keeps_no_group_they_no_longer_have_a_reason_for(
    superuser_client, weifang_open
):
    """Moved from the issuing bureau to another department, a user kept the coordinators'
    group (exporting personal data, publishing reports) for good."""
    user = new_user()
    membership = staff_join(user, weifang_open.issuer)
    assert get_user_model().objects.get(pk=user.pk).has_perm("consultations.publish_report")
    other = DepartmentFactory()
    response = superuser_client.post(
        reverse("admin:consultations_membership_change", args=[membership.pk]),
        {"user": user.pk, "department": other.pk, "role": Membership.Role.HANDLER},
    )
    assert response.status_code == 302
    fresh = get_user_model().objects.get(pk=user.pk)
    assert not fresh.has_perm("consultations.publish_report") and can_work(fresh)

    response = superuser_client.post(
        reverse("admin:consultations_membership_delete", args=[membership.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert list(get_user_model().objects.get(pk=user.pk).groups.all()) == []


def test_a_department_deleted_takes_its_members_groups_with_it(superuser_client):
    department = DepartmentFactory()
    user = new_user()
    staff_join(user, department)
    response = superuser_client.post(
        reverse("admin:consultations_department_delete", args=[department.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert list(get_user_model().objects.get(pk=user.pk).groups.all()) == []
