"""What became of a comment's clause once a later revision is published, the one email per
citizen and revision, and comments on a revision routed by its own clauses."""

import datetime
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consult.comments.models import Comment
from consult.comments.revision_outcomes import (
    comment_outcomes,
    comment_revision_id,
    comments_of_revision,
    revision_publish,
)
from consult.comments.services import comment_submit
from consult.consultations.models import ClauseLink
from consult.consultations.revisions import (
    links_confirm,
    revision_create,
    revision_mark_published,
)
from consult.notifications.models import Notification
from tests.support.revisions import weifang_second_draft

pytestmark = pytest.mark.django_db
K = ClauseLink.Kind


def submit(consultation, clause, n, **extra):
    return comment_submit(
        consultation=consultation,
        clause=clause,
        body=f"第{n}条意见：建议明确集聚区评价指标并公开结果。",
        channel="web",
        consent=True,
        **extra,
    ).comment


@pytest.fixture
def first(weifang_open):
    return weifang_open.current_revision


def test_each_comment_learns_where_its_clause_went(weifang_open, first):
    on = {
        label: submit(weifang_open, first.clauses.get(label=label), i)
        for i, label in enumerate(["二(二)2", "二(二)1", "二(五)2", "二(三)3", "二(一)1"])
    }
    whole = submit(weifang_open, None, 9)
    assert comment_outcomes(on["二(二)2"]) == []  # nothing published after it yet

    second = weifang_second_draft(weifang_open)
    labels = {
        key: [(o.kind, [c.label for c in o.clauses]) for o in comment_outcomes(comment)]
        for key, comment in on.items()
    }
    assert labels == {
        "二(二)2": [(K.KEPT, ["二(二)2"])],
        "二(二)1": [(K.REWORDED, ["二(二)1"])],
        "二(五)2": [(K.MERGED, ["二(五)1"])],
        "二(三)3": [(K.DROPPED, [])],
        "二(一)1": [(K.SPLIT, ["二(一)1", "二(一)2"])],
    }
    outcome = comment_outcomes(on["二(三)3"])[0]
    assert outcome.revision == second
    assert outcome.changes_url == (
        reverse("intake:revision_changes", args=[weifang_open.slug, 2])
        + f"#old-{on['二(三)3'].clause_id}"
    )
    assert comment_outcomes(whole) == []


def test_an_unpublished_revision_tells_nobody_anything(weifang_open, first):
    comment = submit(
        weifang_open,
        first.clauses.get(label="二(三)3"),
        1,
        email="a@example.cn",
        notify_on_report=True,
    )
    weifang_second_draft(weifang_open, publish=False)
    assert comment_outcomes(comment) == []
    assert not Notification.objects.filter(kind=Notification.Kind.REVISION_PUBLISHED).exists()


def test_publishing_mails_each_citizen_who_asked_once_listing_all_their_clauses(
    weifang_open, first, django_capture_on_commit_callbacks
):
    dropped, merged = first.clauses.get(label="二(三)3"), first.clauses.get(label="二(五)2")
    mine = [
        submit(weifang_open, dropped, 1, email="Li@Example.cn", notify_on_report=True),
        submit(weifang_open, merged, 2, email="li@example.cn", notify_on_report=True),
    ]
    submit(weifang_open, merged, 3, email="quiet@example.cn")  # did not ask
    submit(weifang_open, None, 4, email="whole@example.cn", notify_on_report=True)  # whole draft
    second = weifang_second_draft(weifang_open, publish=False)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert revision_publish(second) == 1
        assert mail.outbox == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    (message,) = [m for m in mail.outbox if "第2稿已发布" in m.subject]
    assert message.to == ["Li@Example.cn"]
    for comment in mine:
        assert comment.tracking_number in message.body
    assert "二(三)3 打造高水平海洋人才集聚高地：已删除" in message.body
    assert "已合并入 二(五)1" in message.body
    assert f"/consultations/{weifang_open.slug}/revisions/2/changes/#old-{dropped.pk}" in (
        message.body
    )
    html = message.alternatives[0][0]
    assert "已删除" in html and "<script" not in html

    # Publishing again mails no one.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert revision_publish(second) == 0
    assert mail.outbox == []
    assert Notification.objects.filter(kind=Notification.Kind.REVISION_PUBLISHED).count() == 1


def test_a_refused_publication_mails_nobody(weifang_open, first):
    submit(
        weifang_open,
        first.clauses.get(label="二(三)3"),
        1,
        email="a@example.cn",
        notify_on_report=True,
    )
    second = weifang_second_draft(weifang_open, publish=False)
    second.links.update(confirmed_at=None)
    with pytest.raises(Exception, match="未确认"):
        revision_publish(second)
    assert not Notification.objects.filter(kind=Notification.Kind.REVISION_PUBLISHED).exists()


def test_comments_on_the_new_revision_go_to_the_new_clause_s_departments(weifang_open, first):
    second = weifang_second_draft(weifang_open)
    new_item = second.clauses.get(label="二(四)1")
    leads = {
        r.department_id
        for r in new_item.responsibilities.all()
        if r.role == "lead" and r.department_id
    }
    assert leads
    comment = submit(weifang_open, new_item, 1)
    owner = comment.routes.get(is_owner=True)
    assert owner.department_id in leads
    assert comment.clause.revision == second


def test_comments_of_a_revision_are_those_on_its_clauses_or_on_the_whole_draft_meanwhile(
    weifang_open, first
):
    old = submit(weifang_open, first.clauses.get(label="二(二)2"), 1)
    old_whole = submit(weifang_open, None, 2)
    second = weifang_second_draft(weifang_open)
    new = submit(weifang_open, second.clauses.get(label="二(二)2"), 3)
    new_whole = submit(weifang_open, None, 4)
    Comment.objects.filter(pk=old_whole.pk).update(
        submitted_at=second.published_at - datetime.timedelta(days=1)
    )
    comments = Comment.objects.all()
    assert set(comments_of_revision(comments, first)) == {old, old_whole}
    assert set(comments_of_revision(comments, second)) == {new, new_whole}


def test_the_queue_filters_by_revision(client, weifang_open, first):
    old = submit(weifang_open, first.clauses.get(label="二(二)2"), 1)
    second = weifang_second_draft(weifang_open)
    new = submit(weifang_open, second.clauses.get(label="二(二)2"), 2)
    admin = get_user_model().objects.create_superuser("root", password="pw-123456")
    client.force_login(admin)
    url = reverse("admin:comments_comment_changelist")
    page = client.get(url, {"scope": "all", "consultation__id__exact": weifang_open.pk})
    assert "修改稿" in page.content.decode()
    page = client.get(
        url, {"scope": "all", "consultation__id__exact": weifang_open.pk, "revision": "2"}
    ).content.decode()
    assert new.tracking_number in page and old.tracking_number not in page
    page = client.get(
        url, {"scope": "all", "consultation__id__exact": weifang_open.pk, "revision": "1"}
    ).content.decode()
    assert old.tracking_number in page and new.tracking_number not in page


def test_confirming_twice_changes_nothing(weifang_open):
    second = weifang_second_draft(weifang_open, publish=False)
    assert links_confirm(second.links.all(), by=None) == 0


def test_the_queue_filters_ignore_numbers_that_are_not_plain_digits(client, weifang_open, first):
    """The queue's filters ignore "²", a digit to str.isdigit but no number to the database."""
    comment = submit(weifang_open, first.clauses.get(label="二(二)2"), 1)
    admin = get_user_model().objects.create_superuser("root", password="pw-123456")
    client.force_login(admin)
    url = reverse("admin:comments_comment_changelist")
    for query in (
        {"consultation__id__exact": weifang_open.pk, "revision": "²"},
        {"consultation__id__exact": weifang_open.pk, "clause": "²"},
        {"consultation__id__exact": "²", "revision": "1"},
    ):
        response = client.get(url, {"scope": "all", **query})
        assert response.status_code in (200, 302)
        if response.status_code == 200:
            assert comment.tracking_number in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        # `department_id IN (…)` with a number past any integer column: OverflowError on SQLite.
        "/admin/comments/comment/?scope=all&department=99999999999999999999",
        "/admin/comments/comment/add/?consultation=²",
        "/admin/consultations/consultation/abc/import-revision/",
        "/admin/reports/adoptionreport/abc/preview/",
        "/admin/reports/adoptionreport/99999999999999999999/preview/",
        "/admin/notifications/outgoingemail/?department=99999999999999999999",
        # int() refuses a string of over 4,300 digits.
        "/admin/comments/comment/add/?consultation=" + "9" * 5000,
    ],
)
def test_admin_pages_take_odd_numbers_in_the_address_without_an_error(client, weifang_open, path):
    """Each used to answer 500: "²" is a digit to str.isdigit, "abc" reached a primary key."""
    client.force_login(get_user_model().objects.create_superuser("root", password="pw-123456"))
    assert client.get(path).status_code in (200, 302, 404)


def _queries_publishing(consultation, comments: int) -> int:
    first = consultation.current_revision
    clauses = list(first.clauses.order_by("path"))
    for n in range(comments):
        submit(
            consultation,
            clauses[n % len(clauses)],
            n,
            email=f"citizen{n % 7}@example.cn",
            notify_on_report=True,
        )
    second = weifang_second_draft(consultation, publish=False)
    with CaptureQueriesContext(connection) as queries:
        assert revision_publish(second) == min(comments, 7)
    return len(queries)


def test_publishing_a_revision_takes_as_many_queries_for_30_comments_as_for_5(weifang_open):
    """Each clause is followed once and the revisions' links read once: the queries made while
    the revision is locked do not grow with the comments."""
    few = _queries_publishing(weifang_open, 5)
    Comment.objects.all().delete()
    Notification.objects.all().delete()
    ClauseLink.objects.filter(revision__number=2).delete()
    weifang_open.revisions.filter(number=2).delete()
    weifang_open.current_revision = weifang_open.revisions.get(number=1)
    weifang_open.save(update_fields=["current_revision"])
    assert _queries_publishing(weifang_open, 30) == few


def test_the_revision_email_is_keyed_by_revision_and_comment_not_by_address(weifang_open, first):
    """The key outlives retention (which redacts the address and context, not the key): it
    names the revision and the citizen's first comment, never the address or a hash of it."""
    clause = first.clauses.get(label="二(三)3")
    earlier = submit(weifang_open, clause, 1, email="Li@Example.cn", notify_on_report=True)
    submit(weifang_open, clause, 2, email="li@example.cn", notify_on_report=True)
    second = weifang_second_draft(weifang_open)
    (notification,) = Notification.objects.filter(kind=Notification.Kind.REVISION_PUBLISHED)
    assert notification.key == f"revision:{second.pk}:comment:{earlier.pk}"


def test_a_whole_draft_comment_after_the_final_text_belongs_to_the_draft_consulted_on(
    weifang_open, first
):
    """The final text takes no comments: a letter on the whole draft recorded after it came out
    is one on the second draft, for the report (comments_of_revision) and the clause
    suggestions (comment_revision_id) alike."""
    from django.utils import timezone

    from consult.comments.services import comment_record_received
    from tests.support.people import member

    second = weifang_second_draft(weifang_open)
    final = revision_create(weifang_open, draft_title="正式文本", is_final=True)
    # Published once the second draft has closed; the letter came in on its last day.
    with time_machine.travel(second.closes_at + datetime.timedelta(days=2), tick=False):
        revision_mark_published(final)
        letter = comment_record_received(
            consultation=weifang_open,
            clause=None,
            body="来信：建议明确集聚区评价指标并公开结果。",
            channel="letter",
            received_on=timezone.localdate(second.closes_at),
            recorded_by=member("hyj", "市海渔局"),
        ).comment
    assert comment_revision_id(letter) == second.pk
    comments = Comment.objects.filter(consultation=weifang_open)
    assert list(comments_of_revision(comments, second)) == [letter]
    assert not comments_of_revision(comments, final).exists()


def test_a_citizen_can_stop_the_report_and_revision_emails_from_any_of_them(
    client, weifang_open, first, django_capture_on_commit_callbacks
):
    """The box ticked once brought an email with every later draft and report, with no way to
    stop them: no link, no List-Unsubscribe header, nothing that turned the wish off."""
    import re

    dropped = first.clauses.get(label="二(三)3")
    mine = [
        submit(weifang_open, dropped, 1, email="Li@Example.cn", notify_on_report=True),
        submit(weifang_open, None, 2, email="li@example.cn", notify_on_report=True),
    ]
    theirs = submit(weifang_open, dropped, 3, email="other@example.cn", notify_on_report=True)
    second = weifang_second_draft(weifang_open, publish=False)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        revision_publish(second)
    message = next(m for m in mail.outbox if m.to == ["Li@Example.cn"])
    stop = re.search(r"不再接收本次征求意见的此类邮件：(\S+)", message.body).group(1)
    assert message.extra_headers["List-Unsubscribe"] == f"<{stop}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = stop.split("://", 1)[1].split("/", 1)[1]

    # Following the link stops nothing (mail scanners follow links); the button does.
    page = client.get(f"/{path}")
    assert page.status_code == 200 and "停止发送" in page.content.decode()
    assert Comment.objects.filter(pk__in=[c.pk for c in mine], notify_on_report=True).count() == 2
    # A mail client's one-click: a POST without our cookies.
    done = Client(enforce_csrf_checks=True).post(f"/{path}", {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and 'id="stopped"' in done.content.decode()
    assert not Comment.objects.filter(pk__in=[c.pk for c in mine], notify_on_report=True).exists()
    theirs.refresh_from_db()
    assert theirs.notify_on_report  # another citizen's wish stands
    # A forged token is a 404.
    assert client.get(f"/{path[:-3]}xyz/").status_code == 404


@pytest.mark.parametrize("kind", [kind.value for kind in K if kind != K.NEW])
def test_the_email_says_what_the_status_page_says_of_each_outcome(kind):
    """A renumbered clause was "substantially unchanged" on the page and "unchanged" in the
    email: the email words each outcome as the page does, joined to the clause by a colon."""
    from django.utils import translation

    with translation.override("zh-hans"):
        page, email = outcome_wordings(kind)

    def said(text):
        text = re.sub(r"<[^>]+>", "", text).replace("二(一)1", "", 1)
        return re.sub(r"^[\s:：]+|\s+", " ", text).strip()

    assert said(email) == said(page)
    with translation.override("en"):
        page, email = outcome_wordings(kind)
    assert not re.search(r"[\u4e00-\u9fff]", email.replace("二(一)", ""))  # translated
    if kind == K.RENUMBERED:
        assert "essentially unchanged" in page and "essentially unchanged" in email


def outcome_wordings(kind) -> tuple[str, str]:
    """What the status page and the email say of a comment's clause 二(一)1 that became
    二(一)2 in this way."""
    from types import SimpleNamespace

    from django.template.loader import render_to_string

    old = SimpleNamespace(label="二(一)1")
    page = render_to_string(
        "intake/_outcome.html",
        {"outcome": SimpleNamespace(kind=kind, old=old, clauses=["二(一)2"])},
    )
    email = render_to_string(
        "notifications/email/_revision_outcome.txt",
        {"o": SimpleNamespace(kind=kind, clause="二(一)1", to=["二(一)2"])},
    )
    return page, email
