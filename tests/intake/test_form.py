"""The comment form on the web, field by field, with bad input of every kind."""

import datetime
import io
import re
import zipfile

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from consult.comments.models import Attachment, Comment
from consult.notifications.models import Notification
from tests.support.receipts import same_receipt

pytestmark = pytest.mark.django_db

BODY = "建议在第1项中明确集聚区的评价指标，并公开评选结果。"


def form_url(consultation, clause=None):
    if clause is None:
        return reverse("intake:comment_create", args=[consultation.slug])
    return reverse("intake:clause_comment_create", args=[consultation.slug, clause.pk])


def valid(**overrides):
    data = {
        "body": BODY,
        "name": "张三",
        "kind": "individual",
        "organisation": "",
        "phone": "13812345678",
        "email": "zhang@example.cn",
        "consent": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def post(client, consultation, clause=None, **data):
    return client.post(form_url(consultation, clause), valid(**data))


def test_form_page_shows_the_clause_and_every_labelled_field(client, weifang_open, item):
    response = client.get(form_url(weifang_open, item))
    assert response.status_code == 200
    page = response.content.decode()
    assert item.heading in page
    for field in ("body", "name", "kind", "organisation", "phone", "email", "consent"):
        assert f'name="{field}"' in page
    assert '<label for="id_body">' in page
    assert "<legend>" in page
    assert "个人信息处理说明" in page


def test_a_valid_comment_is_stored_routed_and_receipted(
    client, weifang_open, item, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, weifang_open, item)
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert comment.clause == item
    assert comment.body == BODY
    assert comment.consent and comment.consent_at is not None
    assert comment.channel == "web"
    assert [(r.department.name, r.role) for r in comment.routes.order_by("position")] == [
        ("市发改委", "lead"),
        ("市科技局", "cooperating"),
        ("市工信局", "cooperating"),
        ("市交通局", "cooperating"),
        ("市海渔局", "cooperating"),
        ("市文化和旅游局", "cooperating"),
        ("市卫健委", "cooperating"),
    ]
    receipt = client.get(response["Location"])
    assert receipt.status_code == 200
    page = receipt.content.decode()
    assert comment.tracking_number in page
    assert "市发改委" in page
    # The receipt masks the contact details it repeats.
    assert "138****5678" in page
    assert "13812345678" not in page
    # The email receipt goes through the outbox and the task path.
    receipt_note = Notification.objects.get(comment=comment, kind="receipt")
    assert receipt_note.to == ["zhang@example.cn"]
    assert [m.to for m in mail.outbox] == [["zhang@example.cn"]]
    assert comment.tracking_number in mail.outbox[0].subject
    assert "/comments/" in mail.outbox[0].body


def test_the_signed_link_in_the_receipt_email_opens_the_status_page(
    client, weifang_open, item, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, weifang_open, item)
    comment = Comment.objects.get()
    link = next(line for line in mail.outbox[0].body.splitlines() if "/comments/" in line)
    path = link.strip().removeprefix("http://testserver")
    response = client.get(path)
    assert response.status_code == 200
    assert comment.tracking_number in response.content.decode()
    tampered = path.rstrip("/")[:-2] + "xx/"
    assert client.get(tampered).status_code == 404


def test_whole_draft_comment_goes_to_the_issuer(client, weifang_open):
    response = post(client, weifang_open, None)
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert comment.clause is None
    assert [(r.department.name, r.role) for r in comment.routes.all()] == [
        ("市海渔局", "coordinator")
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "请填写意见内容"),
        ("   \n\t  ", "请填写意见内容"),
        ("太短了", "至少 10 个字"),
        ("字" * 5001, "最多 5000 个字"),
        ("含有空字符\x00的意见内容很长很长", "控制字符"),
        ("含有响铃\x07字符的意见内容很长很长", "控制字符"),
    ],
)
def test_bad_bodies_are_refused_with_a_message_on_the_field(
    client, weifang_open, item, body, message
):
    response = post(client, weifang_open, item, body=body)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'id="id_body-error"' in page or "id_body_error" in page or "body-error" in page
    assert 'id="error-summary"' in page
    assert not Comment.objects.exists()


def test_body_of_exactly_the_limits_is_accepted_and_kept_exactly(client, weifang_open, item):
    start = "🌊海洋牧场𠀀𪚥\n第二行\n\n第四行："
    body = "  " + start + "字" * (5000 - len(start)) + "  "
    assert len(body.strip()) == 5000
    response = post(client, weifang_open, item, body=body)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Comment.objects.get().body == body.strip()


def test_ten_characters_is_enough(client, weifang_open, item):
    assert post(client, weifang_open, item, body="一二三四五六七八九十").status_code == 302


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "12345", "有效的手机号"),
        ("phone", "1381234567a", "有效的手机号"),
        ("email", "not-an-email", "有效的电子邮箱地址"),
        ("kind", "alien", "选择一个有效的选项"),
    ],
)
def test_bad_contact_fields_are_refused(client, weifang_open, item, field, value, message):
    response = post(client, weifang_open, item, **{field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    "phone", ["13812345678", "+86 138 1234 5678", "0536-8888888", "05368888888"]
)
def test_mobile_and_landline_numbers_are_accepted(client, weifang_open, item, phone):
    assert post(client, weifang_open, item, phone=phone).status_code == 302


def test_missing_consent_is_refused(client, weifang_open, item):
    data = valid()
    del data["consent"]
    response = client.post(form_url(weifang_open, item), data)
    assert response.status_code == 400
    assert "请阅读并同意个人信息处理说明" in response.content.decode()
    assert not Comment.objects.exists()


def test_organisations_must_name_themselves(client, weifang_open, item):
    response = post(client, weifang_open, item, kind="company", organisation="")
    assert response.status_code == 400
    assert "请填写单位名称" in response.content.decode()
    assert (
        post(client, weifang_open, item, kind="company", organisation="某渔业公司").status_code
        == 302
    )


def test_asking_for_a_reply_needs_a_phone_or_an_email(client, weifang_open, item):
    response = post(client, weifang_open, item, phone="", email="", wants_reply="on")
    assert response.status_code == 400
    assert "至少填写联系电话或电子邮箱" in response.content.decode()
    assert post(client, weifang_open, item, phone="", email="", wants_reply="").status_code == 302


def test_real_names_are_required_when_the_consultation_asks(client, weifang_open, item):
    weifang_open.real_names_required = True
    weifang_open.save()
    response = post(client, weifang_open, item, name="  ")
    assert response.status_code == 400
    assert not Comment.objects.exists()
    assert post(client, weifang_open, item, name="李四").status_code == 302


def test_honeypot_filled_stores_nothing(client, weifang_open, item):
    response = post(client, weifang_open, item, website="http://spam.example")
    assert response.status_code == 400
    assert not Comment.objects.exists()


def test_the_same_body_from_the_same_contact_returns_the_first_receipt(client, weifang_open, item):
    first = post(client, weifang_open, item)
    second = post(client, weifang_open, item)
    assert Comment.objects.count() == 1
    assert same_receipt(first["Location"], second["Location"])
    assert "repeat=1" in second["Location"]
    # Another contact with the same text is a different person's comment.
    post(client, weifang_open, item, phone="13900001111", email="")
    assert Comment.objects.count() == 2


def test_the_same_body_after_ten_minutes_is_a_new_comment(client, weifang_open, item):
    with time_machine.travel(weifang_open.opens_at + datetime.timedelta(hours=1), tick=False):
        post(client, weifang_open, item)
    with time_machine.travel(weifang_open.opens_at + datetime.timedelta(hours=1, minutes=11)):
        post(client, weifang_open, item)
    assert Comment.objects.count() == 2


def test_rate_limit_per_ip_answers_429_and_keeps_what_was_stored(
    client, weifang_open, item, settings, one_window
):
    settings.COMMENT_RATE_LIMITS_PER_IP = ["3/m"]
    for n in range(3):
        assert (
            post(client, weifang_open, item, body=f"{BODY}第{n}次", phone="", email="").status_code
            == 302
        )
    response = post(client, weifang_open, item, body=f"{BODY}第四次", phone="", email="")
    assert response.status_code == 429
    assert "过于频繁" in response.content.decode()
    assert Comment.objects.count() == 3


def test_rate_limit_per_contact_across_addresses(client, weifang_open, item, settings, one_window):
    settings.COMMENT_RATE_LIMITS_PER_CONTACT = ["2/m"]
    for n in range(2):
        response = client.post(
            form_url(weifang_open, item),
            valid(body=f"{BODY}{n}"),
            REMOTE_ADDR=f"10.0.0.{n}",
        )
        assert response.status_code == 302
    response = client.post(
        form_url(weifang_open, item), valid(body=f"{BODY}third"), REMOTE_ADDR="10.0.0.9"
    )
    assert response.status_code == 429
    assert Comment.objects.count() == 2


def test_captcha_when_switched_on(client, weifang_open, item, settings):
    settings.COMMENT_CAPTCHA = True
    page = client.get(form_url(weifang_open, item)).content.decode()
    assert "captcha" in page
    assert 'alt="验证码图片' in page  # not the package's English "captcha"
    response = post(client, weifang_open, item, captcha_0="x", captcha_1="WRONG")
    assert response.status_code == 400
    assert not Comment.objects.exists()
    # In the label's word, saying what to do (the package's said 认证码错误).
    assert response.context["form"].errors["captcha"] == ["验证码不正确，请输入新图片中的字符。"]
    assert post(client, weifang_open, item).context["form"].errors["captcha"] == [
        "请输入图片中的字符。"
    ]
    # The way round the image (for whoever cannot see it) and then the error are read out
    # with the input the answer is typed into; it is marked required like the others.
    for shown, described_by in (
        (page, ["helptext"]),
        (response.content.decode(), ["helptext", "error"]),
    ):
        typed_into = re.search(r'<input type="text" name="captcha_1"[^>]*>', shown).group(0)
        ids = re.search(r'aria-describedby="([^"]+)"', typed_into).group(1).split()
        assert [i.removeprefix("id_captcha_") for i in ids] == described_by
        for i in ids:
            assert f'id="{i}"' in shown
        help_text = re.search(rf'<p class="help" id="{ids[0]}">([^<]*)</p>', shown).group(1)
        assert f"可以把意见发到电子邮箱 {weifang_open.contact_email}，" in help_text
        # The hidden key is nothing anyone fills in: no description, error or required on it.
        key = re.search(r'<input type="hidden" name="captcha_0"[^>]*>', shown).group(0)
        assert "aria-" not in key and "required" not in key
        assert re.search(r'<div class="field[^"]* required" id="field-captcha">', shown)
    response = post(client, weifang_open, item, captcha_0="x", captcha_1="PASSED")
    assert response.status_code == 302


def test_a_double_click_with_the_captcha_on_gets_the_first_post_s_receipt(
    client, weifang_open, item, settings, monkeypatch
):
    """The first post was stored and used the CAPTCHA's code up; the second, the same, was
    refused for the code alone, and the citizen read "提交未成功" for a comment stored (found by
    a review). The suite's test mode takes any answer and never uses a code up: off here."""
    from captcha.conf import settings as captcha_settings
    from captcha.models import CaptchaStore

    settings.COMMENT_CAPTCHA = True
    monkeypatch.setattr(captcha_settings, "CAPTCHA_TEST_MODE", False)
    key = CaptchaStore.generate_key()
    answer = CaptchaStore.objects.get(hashkey=key).response
    client.get(form_url(weifang_open, item))
    first = post(client, weifang_open, item, captcha_0=key, captcha_1=answer)
    assert first.status_code == 302
    second = post(client, weifang_open, item, captcha_0=key, captcha_1=answer)
    assert second.status_code == 302
    assert second["Location"] == first["Location"] + "?repeat=1"
    assert Comment.objects.count() == 1
    # A different comment with a used code is refused for it, as any wrong answer is.
    third = post(client, weifang_open, item, captcha_0=key, captcha_1=answer, body=BODY + "另外")
    assert third.status_code == 400 and Comment.objects.count() == 1


@pytest.mark.parametrize("minutes_writing", [6, 100])
def test_a_captcha_answered_right_after_long_writing_is_accepted(
    client, weifang_open, item, settings, monkeypatch, minutes_writing
):
    """The package's default gave five minutes from the form's page: a citizen who took longer
    over the comment was told the right answer was wrong."""
    from captcha.conf import settings as captcha_settings
    from captcha.models import CaptchaStore

    settings.COMMENT_CAPTCHA = True
    monkeypatch.setattr(captcha_settings, "CAPTCHA_TEST_MODE", False)
    page = client.get(form_url(weifang_open, item)).content.decode()
    key = re.search(r'name="captcha_0"[^>]*value="([^"]+)"', page).group(1)
    answer = CaptchaStore.objects.get(hashkey=key).response
    later = timezone.now() + datetime.timedelta(minutes=minutes_writing)
    with time_machine.travel(later, tick=False):
        response = post(client, weifang_open, item, captcha_0=key, captcha_1=answer)
    assert response.status_code == 302
    assert Comment.objects.count() == 1


class TestDeadline:
    def test_one_second_before_the_opening_the_form_is_refused(self, client, weifang_open, item):
        with time_machine.travel(weifang_open.opens_at - datetime.timedelta(seconds=1), tick=False):
            assert client.get(form_url(weifang_open, item)).status_code == 403
            response = post(client, weifang_open, item)
        assert response.status_code == 403
        assert "尚未开始" in response.content.decode()
        assert not Comment.objects.exists()

    def test_the_last_second_is_accepted(self, client, weifang_open, item):
        last = weifang_open.closes_at + datetime.timedelta(microseconds=999_000)
        with time_machine.travel(last, tick=False):
            assert post(client, weifang_open, item).status_code == 302

    def test_one_second_after_the_close_is_refused(self, client, weifang_open, item):
        with time_machine.travel(
            weifang_open.closes_at + datetime.timedelta(seconds=1), tick=False
        ):
            assert client.get(form_url(weifang_open, item)).status_code == 403
            response = post(client, weifang_open, item)
        assert response.status_code == 403
        assert "已截止" in response.content.decode()
        assert not Comment.objects.exists()

    def test_the_consultation_page_offers_no_form_when_closed(self, client, weifang_open):
        with time_machine.travel(
            weifang_open.closes_at + datetime.timedelta(seconds=1), tick=False
        ):
            page = client.get(weifang_open.get_absolute_url()).content.decode()
        assert "对本条提意见" not in page
        assert "已截止" in page


def docx_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("意见.pdf", b"%PDF-1.7\n1 0 obj\n"),
        ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 20),
        # A Word 97 file: the OLE container with a WordDocument stream (UTF-16 name).
        (
            "old.doc",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 20 + "WordDocument".encode("utf-16-le"),
        ),
        ("new.docx", docx_bytes()),
    ],
)
def test_accepted_attachments_are_stored_privately(client, weifang_open, item, name, content):
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    response = client.post(form_url(weifang_open, item), {**valid(), "attachment": upload})
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.original_name == name
    assert name not in attachment.file.name  # stored under a random name
    assert attachment.file.read() == content
    # Not under the static or media web roots.
    assert "static" not in attachment.file.path


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00"),  # a renamed .exe
        ("page.pdf", b"<!DOCTYPE html><script>alert(1)</script>"),
        ("image.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>'),
        ("archive.docx", zip_bytes()),
    ],
)
def test_wrong_attachment_types_are_refused_by_content(client, weifang_open, item, name, content):
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")
    response = client.post(form_url(weifang_open, item), {**valid(), "attachment": upload})
    assert response.status_code == 400
    assert "只接受 PDF" in response.content.decode()
    assert not Comment.objects.exists()
    assert not Attachment.objects.exists()


def test_oversize_attachment_is_refused(client, weifang_open, item):
    content = b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024)
    upload = SimpleUploadedFile("big.pdf", content, content_type="application/pdf")
    response = client.post(form_url(weifang_open, item), {**valid(), "attachment": upload})
    assert response.status_code == 400
    # Just over the limit, and said to be: 10.0 MB read as within it.
    assert "附件不能超过 10 MB（此文件 10.1 MB）。" in response.content.decode()
    assert not Comment.objects.exists()


def test_the_apis_shared_fields_are_never_changed_by_one_submission(weifang_open, item):
    # ApiCommentForm's fields are prepared once per process and shared by every instance: a
    # consultation that asks for real names gets its own copy of the name field.
    from consult.intake.forms import ApiCommentForm

    data = {"clause": item.pk, "body": BODY, "consent": True, "kind": "individual"}
    weifang_open.real_names_required = True
    named = ApiCommentForm(data=data, consultation=weifang_open)
    assert not named.is_valid() and "name" in named.errors
    assert named.fields["name"] is not ApiCommentForm.base_fields["name"]
    assert not ApiCommentForm.base_fields["name"].required

    weifang_open.real_names_required = False
    anonymous = ApiCommentForm(data=data, consultation=weifang_open)
    assert anonymous.is_valid(), anonymous.errors
    assert anonymous.fields["body"] is ApiCommentForm.base_fields["body"]
    assert "attachment" not in anonymous.fields and "website" not in anonymous.fields
    # The same rules as the page's form: NUL is refused by our rule's message, not Django's.
    nul = ApiCommentForm(data={**data, "body": BODY + "\x00"}, consultation=weifang_open)
    assert not nul.is_valid()
    assert [e.code for e in nul.errors.as_data()["body"]] == ["control_character"]


def test_a_file_chosen_is_named_as_not_saved_when_the_form_comes_back_with_errors(
    client, weifang_open, item
):
    """A browser cannot refill a file input: the page with errors says the file chosen was not
    kept, in the summary and beside the field, naming it escaped."""
    name = "<i>方案&附件.pdf"
    upload = SimpleUploadedFile(name, b"%PDF-1.7\n1 0 obj\n", content_type="application/pdf")
    response = client.post(
        form_url(weifang_open, item), {**valid(body="太短了"), "attachment": upload}
    )
    assert response.status_code == 400
    page = response.content.decode()
    escaped = "&lt;i&gt;方案&amp;附件.pdf"
    assert name not in page
    summary = page.split('id="error-summary"')[1].split("</div>")[0]
    assert f'<a href="#id_attachment">您选择的文件 {escaped} 未保存，请重新选择。</a>' in summary
    assert f'<p class="error" id="id_attachment_unsaved">您选择的文件 {escaped} 未保存' in page
    field = str(response.context["form"]["attachment"])
    assert 'aria-describedby="id_attachment_helptext id_attachment_unsaved"' in field
    assert not Comment.objects.exists()


def test_a_refused_file_is_not_also_named_as_not_saved(client, weifang_open, item):
    upload = SimpleUploadedFile("page.pdf", b"<!DOCTYPE html>", content_type="application/pdf")
    response = client.post(form_url(weifang_open, item), {**valid(), "attachment": upload})
    page = response.content.decode()
    assert "只接受 PDF" in page
    assert "未保存" not in page and "id_attachment_unsaved" not in page


def test_a_form_with_errors_and_no_file_says_nothing_of_one(client, weifang_open, item):
    page = post(client, weifang_open, item, body="太短了").content.decode()
    assert "未保存" not in page and "id_attachment_unsaved" not in page


def test_over_the_rate_limit_the_file_chosen_is_named_as_not_saved(
    client, weifang_open, item, settings, one_window
):
    settings.COMMENT_RATE_LIMITS_PER_IP = ["1/m"]
    assert post(client, weifang_open, item, phone="", email="").status_code == 302
    upload = SimpleUploadedFile("意见.pdf", b"%PDF-1.7\n1 0 obj\n", content_type="application/pdf")
    response = client.post(
        form_url(weifang_open, item),
        {**valid(body=f"{BODY}再一条", phone="", email=""), "attachment": upload},
    )
    assert response.status_code == 429
    page = response.content.decode()
    notice = page.split('id="rate-limited"')[1].split("</div>")[0]
    assert "您选择的文件 意见.pdf 未保存，请重新选择。" in notice
    assert 'id="id_attachment_unsaved"' in page


def test_every_error_in_the_summary_is_named_and_leads_to_its_field(client, weifang_open):
    """A tampered post (the form offers neither): the hidden clause's error was headed by the
    field's English name on the Chinese page, and the kind's linked to "#" (a group of radio
    buttons has no one id to label)."""
    from tests.factories import ClauseFactory

    foreign = ClauseFactory()  # of a consultation of its own
    for language, clause, kind in (
        ("zh-hans", "条款：", "身份："),
        ("en", "Clause: ", "Submitting as: "),
    ):
        response = client.post(
            form_url(weifang_open),
            valid(clause=str(foreign.pk), kind="alien"),
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert response.status_code == 400
        page = response.content.decode()
        summary = page.split('id="error-summary"')[1].split("</div>")[0]
        assert f"<li>{clause}" in summary, summary
        linked = re.findall(r'<a href="#([^"]*)">', summary)
        assert linked and all(f'id="{target}"' in page for target in linked), linked
        assert f'<a href="#id_kind_0">{kind}' in summary


def test_without_a_contact_email_the_captcha_note_points_to_the_notice(
    client, weifang_open, item, settings
):
    from consult.consultations.models import Consultation

    settings.COMMENT_CAPTCHA = True
    Consultation.objects.filter(pk=weifang_open.pk).update(contact_email="")
    page = client.get(form_url(weifang_open, item)).content.decode()
    assert "可以按征求意见通知中的联系方式，通过电子邮件或信函提交意见。" in page
    assert "hycytjb@" not in page
