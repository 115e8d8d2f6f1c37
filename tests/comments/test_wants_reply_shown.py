"""A citizen who asks for a reply is seen to have asked: the department that answers is told in
its email (and to telephone when no email address was left, as the reply is emailed only to an
address), and the export has the column."""

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.utils import translation

from consult.comments.exports import export_write
from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.notifications.models import Notification
from consult.notifications.rendering import emails_render

pytestmark = pytest.mark.django_db

CLAUSE = "二(三)4"  # 市工信局 answers, two departments cooperate
TELEPHONE = "提交人希望收到答复，但没有留电子邮箱：请电话答复。"


def submit(consultation, **contact):
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label=CLAUSE),
        body="建议明确申报条件和评审标准。",
        channel="web",
        consent=True,
        submitter_name="李雷",
        wants_reply=True,
        **contact,
    ).comment


def emails_to(comment, *, owner: bool) -> str:
    department = comment.routes.filter(is_owner=owner).first().department
    notification = Notification.objects.get(
        comment=comment, department=department, kind="comment_routed"
    )
    with translation.override("zh-hans"):
        ((_subject, text, html),) = emails_render([[notification]])
    return text + html


def test_the_answering_department_is_told_to_telephone(weifang_open):
    comment = submit(weifang_open, phone="13812345678")

    assert TELEPHONE in emails_to(comment, owner=True)
    # A cooperating department sees no contact details, nor this.
    assert "希望收到答复" not in emails_to(comment, owner=False)


def test_with_an_address_the_answering_department_is_told_of_the_wish(weifang_open):
    comment = submit(weifang_open, email="li@example.org")

    text = emails_to(comment, owner=True)
    assert "提交人希望收到答复。" in text and TELEPHONE not in text


def test_the_export_has_the_wish(weifang_open):
    submit(weifang_open, phone="13812345678")
    handle = io.BytesIO()
    export_write("csv", Comment.objects.all(), User.objects.create_superuser("root"), handle)

    rows = list(csv.DictReader(io.StringIO(handle.getvalue().decode("utf-8-sig"))))

    assert [row["希望答复"] for row in rows] == ["是"]
