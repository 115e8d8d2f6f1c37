"""Loading departments from plain rows: every mailbox is one email address, or nothing loads."""

import pytest
from django.core.exceptions import ValidationError

from consult.consultations.models import Department, Mailbox
from consult.consultations.services import departments_load

pytestmark = pytest.mark.django_db


def test_departments_and_their_mailboxes_are_loaded_once():
    rows = [{"name": "市海渔局", "aliases": ["海渔局"], "mailboxes": ["hyj@weifang.example"]}]
    departments_load(rows)
    departments_load(iter(rows))
    assert list(Mailbox.objects.values_list("department__name", "email")) == [
        ("市海渔局", "hyj@weifang.example")
    ]


def test_a_mailbox_that_is_not_one_address_is_refused_naming_its_department_and_value():
    rows = [
        {"name": "市海渔局", "mailboxes": ["hyj@weifang.example"]},
        {"name": "市发改委", "mailboxes": ["x@y.cn;z@w.cn", "fgw@weifang.example"]},
        {"name": "市工信局", "mailboxes": ["gxj weifang.example"]},
    ]
    with pytest.raises(ValidationError) as refused:
        departments_load(rows)
    assert refused.value.messages == [
        "部门“市发改委”的通知邮箱“x@y.cn;z@w.cn”不是一个有效的邮箱地址；多个邮箱请分别列出。",
        "部门“市工信局”的通知邮箱“gxj weifang.example”不是一个有效的邮箱地址；多个邮箱请分别列出。",
    ]
    assert not Department.objects.exists() and not Mailbox.objects.exists()
