"""An admin list's query string never fails the page: a value the database cannot take is a
400, as an unknown parameter is, never a 500.

Each of these used to answer 500 on PostgreSQL: NUL in a filter's value (psycopg refuses it in
any text), and the date drill-down at year 9999 (Django computes the end of the year, month or
day outside its own check, past datetime's last day).
"""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model

from consult.comments.services import comment_submit
from consult.querystring import LAST_DRILLABLE_YEAR, UsableLookupValues

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(client, weifang_open):
    comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(一)1"),
        body="建议明确集聚区的评价指标，并按年度公开评选结果。",
        channel="web",
        consent=True,
        email="zhangsan@example.cn",
    )
    client.force_login(get_user_model().objects.create_superuser("root", password="pw-123456"))
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/comments/comment/?scope=all&role=%00",
        "/admin/comments/comment/?scope=all&status__exact=%00",
        "/admin/comments/comment/?scope=all&channel__exact=a%00b",
        "/admin/notifications/notification/?status__exact=%00",
        "/admin/notifications/outgoingemail/?status__exact=%00",
        "/admin/consultations/membership/?role__exact=%00",
        "/admin/comments/export/?format__exact=%00",
        # Django's own lookups on a model's fields: PostgreSQL cannot compile the expression.
        "/admin/consultations/department/?name__regex=(",
        "/admin/auth/user/?username__iregex=[",
    ],
)
def test_a_value_the_database_cannot_take_is_refused_not_an_error(root, path):
    assert root.get(path).status_code == 400


def _drill_downs():
    for model, model_admin in admin.site._registry.items():
        if model_admin.date_hierarchy:
            base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/?"
            year = f"{model_admin.date_hierarchy}__year"
            month = f"{model_admin.date_hierarchy}__month"
            yield base + f"{year}=9999"
            yield base + f"{year}=9999&{month}=12"
            yield base + f"{year}=%2B9999"  # int() reads "+9999" as 9999
            yield base + f"{year}=2024&{month}=9999999999"  # OverflowError, not ValueError
            # Beijing's year 1 begins in UTC's year 0: an OverflowError on SQLite.
            yield base + f"{year}=1"
            yield base + f"{year}=1&{month}=1"


@pytest.mark.parametrize("path", list(_drill_downs()))
def test_a_drill_down_outside_the_years_datetime_holds_is_refused_not_an_error(root, path):
    if path.startswith("/admin/comments/comment/"):
        path += "&scope=all"
    assert root.get(path).status_code == 400


def test_the_last_year_that_can_be_drilled_into_lists_normally(root):
    year = f"submitted_at__year={LAST_DRILLABLE_YEAR}"
    response = root.get(f"/admin/comments/comment/?scope=all&{year}&submitted_at__month=12")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/admin/jobs/jobstatus/%00/change/",
        "/admin/jobs/jobstatus/%00/history/",
        "/admin/comments/comment/abc%00/change/",
    ],
)
def test_an_object_key_the_database_cannot_take_does_not_exist(root, path):
    """A text primary key with NUL in it was a DataError on PostgreSQL: a 500."""
    response = root.get(path)
    assert response.status_code == 302  # the admin's "does not exist", to its index
    assert "/admin/" in response["Location"]


@pytest.mark.parametrize(
    ("model_name", "field_name"), [("comment", "clause"), ("commentevent", "comment")]
)
@pytest.mark.parametrize("term", ["\x00", "a\x00b"])
def test_an_autocomplete_search_with_nul_is_searched_without_it(root, model_name, field_name, term):
    """Through a comment's own search (tracking numbers, contact details) it was a 500."""
    response = root.get(
        "/admin/autocomplete/",
        {"term": term, "app_label": "comments", "model_name": model_name, "field_name": field_name},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("model_name", "field_name"),
    [("comment", "events"), ("comment", "routes"), ("commentevent", "nonexistent")],
)
def test_an_autocomplete_through_a_field_the_model_does_not_hold_is_refused(
    root, model_name, field_name
):
    """A reverse relation (a comment's events, its routes) used to crash Django's view: a 500."""
    response = root.get(
        "/admin/autocomplete/",
        {"term": "a", "app_label": "comments", "model_name": model_name, "field_name": field_name},
    )
    assert response.status_code == 403


def test_an_autocomplete_through_a_foreign_key_still_searches(root):
    response = root.get(
        "/admin/autocomplete/",
        {
            "term": "",
            "app_label": "comments",
            "model_name": "commentevent",
            "field_name": "comment",
        },
    )
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize("selected", [["abc"], ["\x00"], ["1", "abc"], [str(2**64)]])
@pytest.mark.parametrize("action", ["export_csv", "bulk_start", "bulk_mark_invalid"])
def test_an_action_on_keys_that_are_none_does_nothing_and_says_so(root, selected, action):
    from consult.comments.models import Comment

    before = list(Comment.objects.values_list("pk", "status"))
    response = root.post(
        "/admin/comments/comment/?scope=all",
        {"action": action, "index": "0", "_selected_action": selected},
        follow=True,
    )
    assert response.status_code == 200
    assert "所选项目无效" in response.content.decode()
    assert list(Comment.objects.values_list("pk", "status")) == before


def test_an_action_whose_text_is_refused_says_why_and_changes_nothing(root):
    """Django reads an invalid action form as "no action selected": a reply with NUL in it was
    refused with that message."""
    from consult.comments.models import Comment

    before = list(Comment.objects.values_list("pk", "status", "reply"))
    response = root.post(
        "/admin/comments/comment/?scope=all",
        {
            "action": "bulk_answer",
            "index": "0",
            "_selected_action": [pk for pk, _status, _reply in before],
            "decision": "adopted",
            "text": "已采纳\x00。",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert [str(message) for message in response.context["messages"]] == [
        "答复或理由：内容含有不可见的控制字符，请删除后重新提交。"
    ]
    assert list(Comment.objects.values_list("pk", "status", "reply")) == before


def test_every_admin_list_refuses_unusable_values():
    """A new admin gets the rule too, and so do other apps' (users, groups, axes' records)."""
    missing = [
        type(model_admin).__name__
        for model_admin in admin.site._registry.values()
        if not isinstance(model_admin, UsableLookupValues)
    ]
    assert missing == []
