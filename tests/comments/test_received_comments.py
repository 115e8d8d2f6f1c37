"""Comments received by letter or email, recorded by staff in the admin, then handled like any."""

import datetime

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from consult.comments.models import Attachment, Comment, CommentEvent
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from tests.conftest import load_weifang

pytestmark = pytest.mark.django_db

ADD = "/admin/comments/comment/add/"
EML = (
    b"Received: from mail.example.cn\r\nFrom: =?utf-8?b?5byg5LiJ?= <zhang@example.cn>\r\n"
    b"Subject: =?utf-8?b?5oSP6KeB?=\r\n\r\nbody\r\n"
)


@pytest.fixture
def coordinator(client, weifang_open):
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    user = User.objects.create_user("hyj", password="pw")
    staff_join(user, Department.objects.get(name="市海渔局"))
    client.force_login(user)
    return user


def letter(consultation, **changes):
    data = {
        "consultation": consultation.pk,
        "clause": consultation.clauses.get(label="二(四)2").pk,
        "channel": "email",
        "received_on": timezone.localdate(),
        "body": "来信建议：海洋生态修复项目应当听取沿海村民的意见，并公开招标结果。",
        "submitter_name": "张三",
        "submitter_kind": "individual",
        "phone": "0536-8123688",
        "email": "zhang@example.cn",
    }
    data.update(changes)
    return data


def test_an_email_is_recorded_routed_and_notified(client, weifang_open, coordinator,
                                                   django_capture_on_commit_callbacks):  # fmt: skip
    mail.outbox.clear()
    data = letter(weifang_open, attachment=SimpleUploadedFile("原件.eml", EML))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ADD, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    comment = Comment.objects.get()
    assert (comment.channel, comment.received_on) == ("email", data["received_on"])
    assert [r.department.name for r in comment.routes.all()] == ["市生态环境局"]
    assert Attachment.objects.get(comment=comment).content_type == "message/rfc822"
    assert CommentEvent.objects.get(comment=comment, kind="note").actor == coordinator
    assert any("sthjj@weifang.example" in m.to for m in mail.outbox)
    assert len(comment.tracking_number) >= 8


def test_bad_input_is_refused_with_messages_and_nothing_stored(client, weifang_open, coordinator):
    other = load_weifang(slug="weifang-elsewhere", departments=False).clauses.first()
    cases = [
        ({"body": "太短"}, "body"),
        ({"phone": "12345"}, "phone"),
        ({"attachment": SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf")}, "attachment"),
        ({"received_on": timezone.localdate() + datetime.timedelta(days=1)}, "received_on"),
        ({"clause": other.pk}, "clause"),  # a clause of another consultation
        # Stored, they used to fail every later export to a spreadsheet.
        ({"submitter_name": "张\x0c三"}, "submitter_name"),
        ({"organisation": "潍坊\x01某协会"}, "organisation"),
    ]
    for changes, field in cases:
        response = client.post(ADD, letter(weifang_open, **changes))
        assert response.status_code == 200, field
        assert field in response.context["adminform"].form.errors, field
    assert not Comment.objects.exists()


def test_text_with_nul_is_refused_in_words_that_say_so(client, weifang_open, coordinator):
    """Django's own Chinese for it is "不允许是用空字符串" ("no empty string"), under a letter
    that was anything but empty (locale/zh_Hans overrides it, everywhere Django says it)."""
    response = client.post(
        ADD, letter(weifang_open, body="来信建议：海洋生态修复\x00项目应当公开招标。")
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["body"] == [
        "内容含有不可见的控制字符，请删除后重新提交。"
    ]
    assert not Comment.objects.exists()


def test_a_letter_received_after_the_close_is_refused(weifang_open, coordinator):
    from django.core.exceptions import ValidationError

    from consult.comments.services import received_check

    # Days are Beijing's: from 00:00 to 07:59 there, the UTC date is still the day before.
    closing_day = timezone.localdate(weifang_open.closes_at)
    late = closing_day + datetime.timedelta(days=1)
    with pytest.raises(ValidationError):
        received_check(weifang_open, late, now=weifang_open.closes_at + datetime.timedelta(days=5))
    received_check(weifang_open, closing_day, now=weifang_open.closes_at)


def test_a_letter_received_before_the_opening_day_is_refused(weifang_open, coordinator):
    """ "During the comment period" held at the close only: a letter dated the day before the
    opening was recorded as a comment on the draft."""
    from django.core.exceptions import ValidationError

    from consult.comments.services import received_check

    opening_day = timezone.localdate(weifang_open.opens_at)
    with pytest.raises(ValidationError) as refused:
        received_check(weifang_open, opening_day - datetime.timedelta(days=1))
    assert "received_on" in refused.value.message_dict
    received_check(weifang_open, opening_day)


def test_a_letter_is_not_recorded_before_the_opening_hour(weifang_open, coordinator):
    """Dated the opening day and recorded hours before the period began, it was stored and
    routed as a comment on it (found by a review)."""
    from django.core.exceptions import ValidationError

    from consult.comments.services import received_check

    # An afternoon opening: the morning of its day is that day, and before the period.
    opens_at = timezone.localtime(weifang_open.opens_at).replace(hour=15, minute=0, second=0)
    weifang_open.opens_at = opens_at
    opening_day = timezone.localdate(opens_at)
    with pytest.raises(ValidationError) as refused:
        received_check(weifang_open, opening_day, now=opens_at - datetime.timedelta(hours=6))
    assert refused.value.message_dict["received_on"] == [
        "征求意见期尚未开始，开始前收到的来信不能作为本次意见登记。"
    ]
    received_check(weifang_open, opening_day, now=opens_at)


def test_department_staff_may_record_too(client, weifang_open):
    user = User.objects.create_user("fgw", password="pw")
    staff_join(user, Department.objects.get(name="市发改委"))
    client.force_login(user)
    assert client.get(ADD).status_code == 200


def test_the_admin_log_names_the_recorded_comment(client, weifang_open, coordinator):
    from django.contrib.admin.models import LogEntry

    assert client.post(ADD, letter(weifang_open)).status_code == 302
    comment = Comment.objects.get()
    entry = LogEntry.objects.get(object_id=str(comment.pk))
    assert entry.object_repr == comment.tracking_number
