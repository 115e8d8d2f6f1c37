"""A comment keeps the answer deadline of the draft it was written on, once a later draft opens.

The Weifang first draft closes 2024-11-10 23:59:59 Beijing time; its answers are due 15 days
later, 2024-11-25 23:59:59. Its second draft is published for comment on 2024-11-28 and
closes 2024-12-01 23:59:59; its answers are due 2024-12-16 23:59:59. The overdue reminders
come weekly at 09:00 from the day after a deadline: for the first draft on 11-26, 12-03, 12-10,
12-17 …, for the second from 12-17 — the same moment as the first draft's fourth.
"""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consult.comments.models import Comment
from consult.comments.reminders import reminders_send
from consult.comments.revision_outcomes import comment_answer_deadline
from consult.comments.services import comment_submit
from consult.comments.status_links import status_token
from consult.consultations.models import Revision
from consult.consultations.revisions import links_confirm
from consult.notices.importer import revision_import
from consult.notices.parser import parse_notice
from consult.notifications.models import Reminder
from consult.notifications.rendering import emails_render
from tests.conftest import load_weifang
from tests.support.admin_pages import admin_form
from tests.support.revisions import DRAFT2

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
QUEUE = "/admin/comments/comment/"


def at(*args):
    return datetime.datetime(*args, tzinfo=SHANGHAI)


FIRST_DEADLINE = at(2024, 11, 25, 23, 59, 59)
SECOND_DEADLINE = at(2024, 12, 16, 23, 59, 59)


def submit(consultation, label, n, moment):
    clause = consultation.current_clauses().get(label=label) if label else None
    with time_machine.travel(moment, tick=False):
        return comment_submit(
            consultation=consultation,
            clause=clause,
            body=f"第{n}条意见：建议明确集聚区的评价指标并公开评选结果。",
            channel="web",
            consent=True,
            phone=f"1381234{n:04d}",
            email=f"citizen{n}@example.cn",
        ).comment


def second_draft(consultation):
    """Draft 2, open from 2024-11-28 09:00 to 2024-12-01 23:59:59, published on 11-28."""
    from consult.comments.revision_outcomes import revision_publish

    source = DRAFT2.read_text("utf-8")
    with time_machine.travel(at(2024, 11, 28, 9, 0), tick=False):
        revision = revision_import(
            parsed=parse_notice(source), consultation=consultation, source_text=source
        )
        revision.opens_at = at(2024, 11, 28, 9, 0)
        revision.closes_at = at(2024, 12, 1, 23, 59, 59)
        revision.save(update_fields=["opens_at", "closes_at"])
        links_confirm(revision.links.all(), by=None)
        revision_publish(revision)
    consultation.refresh_from_db()
    return revision


@pytest.fixture
def drafts():
    """On draft 1: a comment on 二(一)1 and one on the whole draft; on draft 2: one on 二(一)1."""
    consultation = load_weifang(slug="weifang", open_now=False)
    first = submit(consultation, "二(一)1", 1, at(2024, 11, 5, 10, 0))
    whole = submit(consultation, None, 2, at(2024, 11, 6, 10, 0))
    second_draft(consultation)
    later = submit(consultation, "二(一)1", 3, at(2024, 11, 29, 10, 0))
    return consultation, first, whole, later


def test_each_comment_keeps_its_drafts_answer_deadline(drafts):
    consultation, first, whole, later = drafts
    assert consultation.answer_deadline == SECOND_DEADLINE
    assert comment_answer_deadline(Comment.objects.get(pk=first.pk)) == FIRST_DEADLINE
    assert comment_answer_deadline(Comment.objects.get(pk=whole.pk)) == FIRST_DEADLINE
    assert comment_answer_deadline(Comment.objects.get(pk=later.pk)) == SECOND_DEADLINE


def test_the_status_page_stays_overdue_after_the_next_draft_opens(client, drafts):
    _consultation, first, whole, later = drafts
    with time_machine.travel(at(2024, 11, 29, 12, 0), tick=False):
        for comment in (first, whole):
            page = client.get(
                reverse("intake:comment_status_signed", args=[status_token(comment)])
            ).content.decode()
            assert "应在 2024年11月25日（北京时间）前答复，已逾期" in page
            assert "答复期限 2024年11月25日（北京时间）已过" in page
        page = client.get(
            reverse("intake:comment_status_signed", args=[status_token(later)])
        ).content.decode()
        assert "预计在 2024年12月16日（北京时间）前答复" in page and "已逾期" not in page


def test_the_answer_deadline_is_past_only_after_its_whole_last_second(client, drafts):
    """Overdue at 23:59:59.5 on the status page and in the staff line, while the close itself
    takes comments until the second is over."""
    _consultation, first, _whole, _later = drafts
    root = User.objects.create_superuser("root", password="pw")
    url = reverse("intake:comment_status_signed", args=[status_token(first)])
    with time_machine.travel(at(2024, 11, 25, 23, 59, 59, 500000), tick=False):
        assert "已逾期" not in client.get(url).content.decode()
        client.force_login(root)
        assert (
            "答复期限 2024-11-25（今天到期）"
            in client.get(f"{QUEUE}{first.pk}/change/").content.decode()
        )
    with time_machine.travel(at(2024, 11, 26, 0, 0, 0), tick=False):
        client.logout()
        assert "已逾期" in client.get(url).content.decode()


def test_an_afternoon_deadline_is_shown_to_its_second(client, drafts):
    """A notice's "17:00前" closes at 16:59:59: a date alone reads as the whole day."""
    consultation, first, _whole, _later = drafts
    Revision.objects.filter(consultation=consultation, number=1).update(
        closes_at=at(2024, 11, 10, 16, 59, 59)
    )
    with time_machine.travel(at(2024, 11, 25, 17, 30), tick=False):
        page = client.get(
            reverse("intake:comment_status_signed", args=[status_token(first)])
        ).content.decode()
        assert "2024年11月25日 16:59:59" in page and "已逾期" in page
        client.force_login(User.objects.create_superuser("root", password="pw"))
        change = client.get(f"{QUEUE}{first.pk}/change/").content.decode()
        assert "答复期限 2024-11-25 16:59:59（已逾期）" in change


def test_the_receipt_names_the_deadline_of_the_draft_commented_on(client, drafts):
    _consultation, first, _whole, later = drafts
    with time_machine.travel(at(2024, 11, 29, 12, 0), tick=False):
        mine = client.get(reverse("intake:comment_receipt", args=[status_token(first)]))
        theirs = client.get(reverse("intake:comment_receipt", args=[status_token(later)]))
    assert "各单位在 2024年11月25日（北京时间）前完成答复" in mine.content.decode()
    assert "各单位在 2024年12月16日（北京时间）前完成答复" in theirs.content.decode()


def test_the_queue_marks_the_earlier_drafts_comments_overdue(client, drafts):
    consultation, first, whole, later = drafts
    client.force_login(User.objects.create_superuser("root", password="pw"))

    def row_of(comment):
        page = client.get(QUEUE, {"scope": "all", "q": comment.tracking_number}).content.decode()
        assert comment.tracking_number in page
        return page

    with time_machine.travel(at(2024, 11, 29, 12, 0), tick=False):
        assert 'class="overdue"' in row_of(first)
        assert 'class="overdue"' in row_of(whole)
        assert 'class="overdue"' not in row_of(later)
        change = client.get(f"{QUEUE}{first.pk}/change/").content.decode()
        assert "答复期限 2024-11-25（已逾期 4 天）" in change
        change = client.get(f"{QUEUE}{later.pk}/change/").content.decode()
        assert "答复期限 2024-12-16（还有 17 天）" in change

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(QUEUE, {"scope": "all"}).status_code == 200
        return len(captured)

    # The marks cost no query per row: a page of either draft's, on a clause or the whole
    # draft, costs the same at any size.
    with time_machine.travel(at(2024, 11, 29, 12, 0), tick=False):
        few = queries()
    for n in range(10, 30):
        submit(consultation, "二(一)1" if n % 2 else None, n, at(2024, 11, 30, 10, n))
    with time_machine.travel(at(2024, 11, 30, 12, 0), tick=False):
        assert queries() == few


def overdue_reminders(consultation):
    return Reminder.objects.filter(
        kind=Reminder.Kind.OVERDUE, consultation=consultation, outcome="queued"
    ).select_related("notification", "notification__consultation", "notification__department")


def test_the_earlier_drafts_overdue_reminders_go_on_while_the_next_is_open(drafts):
    consultation, first, whole, _later = drafts
    reminders_send(now=at(2024, 12, 3, 9, 1))
    (reminder,) = overdue_reminders(consultation)
    assert reminder.department == consultation.issuer
    context = reminder.notification.context
    assert [part["number"] for part in context["drafts"]] == [1]
    assert context["total"] == 2  # the draft-1 comments; the draft-2 one is not late yet
    ((_subject, text, html),) = emails_render([[reminder.notification]])
    assert "征求意见稿" in text and "2024年11月25日 23:59:59" in text
    assert "2024年12月16日" not in text
    assert "<strong>征求意见稿</strong>" in html
    # Answered, the series ends.
    Comment.objects.filter(pk__in=[first.pk, whole.pk]).update(status="answered")
    reminders_send(now=at(2024, 12, 10, 9, 1))
    assert overdue_reminders(consultation).count() == 1


def test_the_next_drafts_closing_reminder_lists_only_its_own_comments(drafts):
    # One day before draft 2 closes; draft 1's comments are still untouched.
    reminders_send(now=at(2024, 11, 30, 9, 1))
    closing = Reminder.objects.filter(kind=Reminder.Kind.CLOSING, outcome="queued")
    assert closing.exists()
    for reminder in closing.select_related("notification"):
        parts = reminder.notification.context["drafts"]
        assert [part["number"] for part in parts] == [2]
        assert sum(row["count"] for row in parts[0]["clauses"]) == 1
        ((_subject, text, _html),) = emails_render([[reminder.notification]])
        assert "第2稿" in text


def test_two_drafts_overdue_at_the_same_moment_make_one_reminder_with_a_part_each(drafts):
    consultation, *_comments = drafts
    counts = reminders_send(now=at(2024, 12, 17, 9, 1))
    assert counts["queued"] >= 1
    (reminder,) = overdue_reminders(consultation)
    context = reminder.notification.context
    assert [(part["number"], part["total"]) for part in context["drafts"]] == [(1, 2), (2, 1)]
    assert context["total"] == 3
    ((subject, text, _html),) = emails_render([[reminder.notification]])
    assert "3 条意见未答复" in subject
    assert text.index("征求意见稿") < text.index("2024年11月25日 23:59:59")
    assert text.index("第2稿") < text.index("2024年12月16日 23:59:59")
    # Run again: nothing twice.
    assert reminders_send(now=at(2024, 12, 17, 9, 5)) == {"queued": 0, "missed": 0}


# --- Moving the period moves the draft's own -----------------------------------------------


def test_moving_the_close_moves_the_current_drafts_close(drafts):
    consultation, *_comments = drafts
    draft2 = Revision.objects.get(consultation=consultation, number=2)
    consultation.closes_at = at(2024, 12, 8, 23, 59, 59)
    consultation.save()
    draft2.refresh_from_db()
    assert draft2.closes_at == at(2024, 12, 8, 23, 59, 59)
    draft1 = Revision.objects.get(consultation=consultation, number=1)
    assert draft1.closes_at == at(2024, 11, 10, 23, 59, 59)  # an earlier draft keeps its own
    # Saved without its period, the consultation leaves the draft's alone.
    Revision.objects.filter(pk=draft2.pk).update(closes_at=at(2024, 12, 9, 23, 59, 59))
    consultation.title = "新标题"
    consultation.save(update_fields=["title"])
    draft2.refresh_from_db()
    assert draft2.closes_at == at(2024, 12, 9, 23, 59, 59)


def test_extending_the_close_in_the_admin_carries_to_the_first_draft_and_its_answers(client):
    """Extended from 11-10 to 11-20 in the admin, then draft 2 published: draft 1's page shows
    the extended period and its comments' answers are due 15 days after 11-20."""
    consultation = load_weifang(slug="weifang", open_now=False)
    comment = submit(consultation, "二(一)1", 1, at(2024, 11, 5, 10, 0))
    client.force_login(User.objects.create_superuser("root", password="pw"))
    url = f"/admin/consultations/consultation/{consultation.pk}/change/"
    with time_machine.travel(at(2024, 11, 8, 10, 0), tick=False):
        data = admin_form(client.get(url).content.decode())
        data["closes_at_0"], data["closes_at_1"] = "2024-11-20", "23:59:59"
        assert client.post(url, data).status_code == 302
    first = Revision.objects.get(consultation=consultation, number=1)
    assert first.closes_at == at(2024, 11, 20, 23, 59, 59)
    client.logout()

    second_draft(consultation)
    page = client.get(reverse("intake:revision", args=[consultation.slug, 1])).content.decode()
    assert "2024年11月20日 23:59:59" in page
    deadline = comment_answer_deadline(Comment.objects.get(pk=comment.pk))
    assert deadline == at(2024, 12, 5, 23, 59, 59)
