"""A citizen is written to in the language they commented in: the receipt, the department's
reply and the report's email. Before, only the receipt was (in the request's language); the
reply and later emails were Chinese, and a letter typed in by staff got a receipt in the
language of the staff member's admin."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone, translation

from consult.comments.models import Comment
from consult.comments.services import comment_record_received, comment_submit
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.notifications.models import Notification

CLAUSE = "二(三)4"  # 市工信局 answers


def submit(consultation, n, language):
    with translation.override(language):
        return comment_submit(
            consultation=consultation,
            clause=consultation.clauses.get(label=CLAUSE),
            body=f"第{n}条意见：建议在数字化转型专项中明确中小企业的申报条件。",
            channel="api",
            consent=True,
            email=f"c{n}@example.org",
        ).comment


@pytest.mark.django_db
def test_the_reply_goes_out_in_the_language_the_citizen_wrote_in(
    weifang_open, django_capture_on_commit_callbacks
):
    english, chinese = submit(weifang_open, 1, "en"), submit(weifang_open, 2, "zh-hans")
    assert (english.language, chinese.language) == ("en", "zh-hans")
    owner = get_user_model().objects.create_user("gxj", is_staff=True)
    staff_join(owner, Department.objects.get(name="市工信局"))
    with translation.override("zh-hans"):  # the staff member's admin, whatever it is
        for comment in (english, chinese):
            with django_capture_on_commit_callbacks(execute=True):
                comment_change_apply(
                    comment,
                    owner,
                    CommentChange(
                        status="answered",
                        decision="adopted",
                        reply="已采纳。",
                        waive_reason="急需答复",
                    ),
                )
    languages = dict(
        Notification.objects.filter(kind=Notification.Kind.REPLY).values_list(
            "comment_id", "language"
        )
    )
    assert languages == {english.pk: "en", chinese.pk: "zh-hans"}
    subjects = {
        tuple(m.to): m.subject
        for m in mail.outbox
        if "答复" in m.subject or "answered" in m.subject
    }
    assert subjects[("c1@example.org",)].startswith(f"Your comment {english.tracking_number} has")
    assert subjects[("c2@example.org",)].startswith(f"您的意见（{chinese.tracking_number}）已答复")


@pytest.mark.django_db
def test_a_letter_typed_in_by_staff_is_answered_in_the_sites_language(weifang_open):
    staff = get_user_model().objects.create_user("hyj", is_staff=True)
    staff_join(staff, Department.objects.get(name="市海渔局"))
    with translation.override("en"):
        comment = comment_record_received(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label=CLAUSE),
            body="来信：建议在数字化转型专项中明确中小企业的申报条件。",
            channel="letter",
            received_on=timezone.localdate(),
            recorded_by=staff,
            email="writer@example.org",
        ).comment
    assert comment.language == "zh-hans"
    receipt = Notification.objects.get(kind=Notification.Kind.RECEIPT, comment=comment)
    assert receipt.language == "zh-hans"


@pytest.mark.django_db(transaction=True)
def test_comments_stored_before_learn_their_language_from_their_receipts():
    from consult.testing.weifang import load_weifang

    consultation = load_weifang()
    english, chinese = submit(consultation, 1, "en"), submit(consultation, 2, "zh-hans")
    # A letter typed in by staff in the English admin: its receipt was English before, and it
    # is answered in the site's language now.
    letter = submit(consultation, 3, "en")
    Comment.objects.filter(pk=letter.pk).update(channel=Comment.Channel.LETTER)
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("comments", "0015_fewer_indexes")])
        executor = MigrationExecutor(connection)
        executor.migrate([("comments", "0017_comment_language_from_receipts")])
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert dict(Comment.objects.values_list("pk", "language")) == {
        english.pk: "en",
        chinese.pk: "zh-hans",
        letter.pk: "zh-hans",
    }


@pytest.mark.django_db
def test_the_links_in_an_english_email_open_in_english_unless_the_site_was_told_otherwise(
    client, weifang_open
):
    # The email was English, the page it linked to Chinese on any browser without the
    # language cookie (a phone's mail app, another computer, a Chinese-language system).
    from consult.comments.status_links import comment_status_url, status_token

    english = submit(weifang_open, 1, "en")
    chinese_browser = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
    receipt = reverse("intake:comment_receipt", args=[status_token(english)])

    for url in (comment_status_url(english).removeprefix(settings.SITE_URL), receipt):
        page = client.get(url, **chinese_browser)
        assert page.status_code == 200 and page["Content-Language"] == "en", url
        assert '<html lang="en">' in page.content.decode()

    # Chosen on the site (the switcher's cookie): that choice is kept.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(receipt, **chinese_browser)
    assert page["Content-Language"] == "zh-hans"
