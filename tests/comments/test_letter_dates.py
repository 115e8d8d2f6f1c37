"""A letter posted in time and typed in after the close says when it was received wherever
it says when it was entered: the citizen's receipt and status page, the departments' email,
the change page and the export."""

import csv
import datetime
import io

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from consult.comments.services import comment_record_received
from consult.comments.status_links import status_token
from consult.consultations.directory import directory_changed
from consult.consultations.models import Department
from tests.support.people import member

pytestmark = pytest.mark.django_db

QUEUE = "/admin/comments/comment/"


def test_a_letter_typed_in_after_the_close_says_when_it_was_received(
    client, weifang_open, django_capture_on_commit_callbacks
):
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()
    received = timezone.localtime(weifang_open.closes_at).date() - datetime.timedelta(days=2)
    staff = member("hyj", "市海渔局")
    with (
        time_machine.travel(weifang_open.closes_at + datetime.timedelta(days=3), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        letter = comment_record_received(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label="二(四)2"),  # 市生态环境局 answers
            body="来信：建议公开海洋生态修复项目的资金使用情况。",
            channel="letter",
            received_on=received,
            recorded_by=staff,
            email="writer@example.org",
        ).comment
    day = received.strftime("%Y-%m-%d")
    [receipt] = [m for m in mail.outbox if m.to == ["writer@example.org"]]
    assert f"收到日期：{day}" in receipt.body and f"收到日期：{day}" in receipt.alternatives[0][0]
    to_department = [m for m in mail.outbox if m.to != ["writer@example.org"]]
    assert to_department and all("收到日期" in m.body for m in to_department)
    status = client.get(f"/comments/{status_token(letter)}/").content.decode()
    assert f"{received.year}年{received.month}月{received.day}日" in status and "收到日期" in status

    client.force_login(member("sthj", "市生态环境局"))
    page = client.get(f"{QUEUE}{letter.pk}/change/").content.decode()
    assert "field-received_on" in page
    export = client.post(
        f"{QUEUE}?scope=all", {"action": "export_csv", "_selected_action": [letter.pk]}
    ).content.decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(export)))
    assert row[header.index("收到日期")] == day
