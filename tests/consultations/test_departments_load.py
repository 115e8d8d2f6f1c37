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


def test_a_blank_name_or_alias_is_refused_naming_its_row():
    Department.objects.create(name="市海渔局")  # no full name: a blank name stood for it
    rows = [
        {"name": "市发改委", "aliases": ["发改委", " "]},
        {"name": "  ", "mailboxes": ["x@weifang.example"]},
    ]
    with pytest.raises(ValidationError) as refused:
        departments_load(rows)
    assert refused.value.messages == ["部门“市发改委”有一个空白的别名。", "第2个部门没有简称。"]
    assert list(Department.objects.values_list("name", flat=True)) == ["市海渔局"]
    assert not Mailbox.objects.exists()


def loaded_as_named_finds(rows) -> dict:
    """Which department each row's name stood for, as the load found it and as
    `Department.objects.named` finds it after each row."""
    found = {}
    for row in rows:
        before = Department.objects.named(row["name"]).first()
        (department,) = departments_load([row])
        found[row["name"]] = (department.name, before.name if before else department.name)
    return found


@pytest.mark.parametrize(
    ("existing", "rows"),
    [
        # A full name changed by an earlier row no longer stands for its department.
        (
            [{"name": "乙局", "full_name": "甲局"}],
            [{"name": "乙局", "full_name": "丙局"}, {"name": " 甲局"}],
        ),
        # Where two answer to one name, the first by short name wins, as named() orders
        # (丙 is U+4E19, 乙 U+4E59), not the one known first.
        ([{"name": "乙局"}], [{"name": "丙局", "full_name": "乙局"}, {"name": "乙局"}]),
        # An alias equal to a department's own full name, then the full name changed.
        (
            [{"name": "丁局", "full_name": "戊局", "aliases": ["己局"]}],
            [{"name": "丁局", "aliases": ["戊局"], "full_name": "庚局"}, {"name": "戊局"}],
        ),
    ],
)
def test_a_name_stands_for_the_department_named_finds_through_a_load(existing, rows):
    departments_load(existing)
    one_by_one = loaded_as_named_finds(rows)
    assert all(found == expected for found, expected in one_by_one.values()), one_by_one
    # And all at once: the load keeps what each row changed for the rows after it.
    names = {name: found for name, (found, _) in one_by_one.items()}
    Department.objects.all().delete()
    departments_load(existing)
    assert {row["name"]: d.name for row, d in zip(rows, departments_load(rows), strict=True)} == (
        names
    )


def test_loading_the_same_rows_twice_changes_nothing_when_a_row_renames_another():
    rows = [
        {"name": "丙局", "full_name": "甲局"},
        {"name": "乙局", "mailboxes": ["c@weifang.example"]},
        {"name": "丙局", "full_name": "乙局"},  # 丙局 is known as 乙局 once loaded
    ]
    departments_load(rows)
    first = sorted(Mailbox.objects.values_list("department__name", "email"))
    departments_load(rows)  # the first row takes 乙局 back from 丙局 before the second
    assert sorted(Mailbox.objects.values_list("department__name", "email")) == first
    assert first == [("乙局", "c@weifang.example")]
