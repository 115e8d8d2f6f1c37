"""Deadline reminders, walked through the Weifang consultation's life with time-machine.

The notice closes "11月10日前": 2024-11-10 23:59:59 Beijing time; answers are due 15 days
later, 2024-11-25 23:59:59. Reminders go out at 09:00 on their day.
"""

import datetime
import logging
import threading

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection

from consult.comments.models import Comment, CommentRouting
from consult.comments.reminders import reminders_send
from consult.comments.services import comment_submit
from consult.consultations.models import Department, Mailbox, Membership
from consult.notifications.delivery import deliver, email_resend
from consult.notifications.models import Notification, OutgoingEmail, Reminder
from tests.conftest import load_weifang
from tests.factories import CommentFactory, ConsultationFactory, DepartmentFactory
from tests.support.jobs import due_jobs_run
from tests.support.reminders import consultation_moments

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def at(*args):
    return datetime.datetime(*args, tzinfo=SHANGHAI)


def department_of(address):
    mailbox = Mailbox.objects.filter(email=address).select_related("department").first()
    if mailbox:
        return mailbox.department.name
    return Membership.objects.get(user__email=address).department.name


class Walk:
    """Runs the due jobs at a moment and reports the reminder emails they sent."""

    def __init__(self, capture):
        self.capture = capture

    def run(self, moment):
        mail.outbox.clear()
        with time_machine.travel(moment, tick=False), self.capture(execute=True):
            due_jobs_run()
        sent = {}
        for message in mail.outbox:
            for address in message.to:
                sent.setdefault(department_of(address), []).append(message.subject)
        return sent


@pytest.fixture
def weifang(db):
    consultation = load_weifang(slug="weifang", open_now=False)
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    return consultation


@pytest.fixture
def walk(django_capture_on_commit_callbacks):
    return Walk(django_capture_on_commit_callbacks)


def comment_on(consultation, label, n, django_capture_on_commit_callbacks):
    with (
        time_machine.travel(at(2024, 10, 20, 10, n), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        receipt = comment_submit(
            consultation=consultation,
            clause=consultation.clauses.get(label=label),
            body=f"第{n}条意见：建议明确集聚区的评价指标并公开结果。",
            channel="web",
            consent=True,
            phone=f"1381234{n:04d}",
        )
    return receipt.comment


def set_status(comment, status):
    Comment.objects.filter(pk=comment.pk).update(status=status)


def test_the_weifang_consultation_through_its_life(
    weifang, walk, django_capture_on_commit_callbacks
):
    def comment(label, n):
        return comment_on(weifang, label, n, django_capture_on_commit_callbacks)

    ecology = comment("二(四)2", 1)  # 市生态环境局 leads alone
    industry = comment("二(三)4", 2)  # 市工信局 leads; 市财政局, 市大数据局 cooperate
    industry_started = comment("二(三)4", 3)
    answered = comment("二(四)2", 4)
    set_status(industry_started, Comment.Status.IN_PROGRESS)
    set_status(answered, Comment.Status.ANSWERED)
    mail.outbox.clear()

    # Four days before the close, and one second before the three-day reminder: nothing.
    assert walk.run(at(2024, 11, 6, 9, 0, 0)) == {}
    assert walk.run(at(2024, 11, 7, 8, 59, 59)) == {}

    # Three days before: every department with untouched comments, nobody else.
    sent = walk.run(at(2024, 11, 7, 9, 0, 0))
    assert sorted(sent) == ["市大数据局", "市工信局", "市生态环境局", "市财政局"]
    assert all(len(subjects) == 1 for subjects in sent.values())
    assert "还有 3 天截止，1 条意见待处理" in sent["市生态环境局"][0]
    # Beat firing again at the same moment, and later the same day: nothing twice.
    assert walk.run(at(2024, 11, 7, 9, 0, 0)) == {}
    assert walk.run(at(2024, 11, 7, 17, 30)) == {}

    # 市工信局 starts on its comment: nothing of its own is untouched, but its cooperating
    # departments still owe their opinions on both of its comments.
    set_status(industry, Comment.Status.IN_PROGRESS)
    sent = walk.run(at(2024, 11, 9, 9, 0, 0))
    assert sorted(sent) == ["市大数据局", "市生态环境局", "市财政局"]
    assert "还有 1 天截止，2 条意见待处理" in sent["市财政局"][0]
    assert "还有 1 天截止" in sent["市生态环境局"][0]

    # The close itself sends nothing; neither does the quiet time before answers are due.
    assert walk.run(at(2024, 11, 10, 23, 59, 59)) == {}
    assert walk.run(at(2024, 11, 11, 0, 0, 0)) == {}
    assert walk.run(at(2024, 11, 20, 8, 59, 59)) == {}

    # Five days before the answer deadline: the owners of unanswered comments, and the
    # departments whose opinions they still wait for.
    sent = walk.run(at(2024, 11, 20, 9, 0, 0))
    assert sorted(sent) == ["市大数据局", "市工信局", "市生态环境局", "市财政局"]
    assert "还有 5 天到答复期限，2 条意见未答复" in sent["市工信局"][0]
    assert "1 条意见未答复" in sent["市生态环境局"][0]
    assert walk.run(at(2024, 11, 20, 9, 5)) == {}

    set_status(ecology, Comment.Status.ANSWERED)
    sent = walk.run(at(2024, 11, 24, 9, 0, 0))
    assert sorted(sent) == ["市大数据局", "市工信局", "市财政局"]
    assert "还有 1 天到答复期限" in sent["市工信局"][0]

    # The day after the deadline the issuing bureau learns who is late.
    assert walk.run(at(2024, 11, 26, 8, 59, 59)) == {}
    sent = walk.run(at(2024, 11, 26, 9, 0, 0))
    assert list(sent) == ["市海渔局"]
    assert "已过答复期限，2 条意见未答复" in sent["市海渔局"][0]
    overdue = Notification.objects.get(kind="reminder", department__name="市海渔局")
    assert overdue.context["departments"] == [{"department": "市工信局", "count": 2}]
    assert walk.run(at(2024, 11, 26, 9, 0, 0)) == {}

    # Weekly after that, while anything is late.
    assert walk.run(at(2024, 12, 2, 9, 0, 0)) == {}
    assert list(walk.run(at(2024, 12, 3, 9, 0, 0))) == ["市海渔局"]
    set_status(industry, Comment.Status.ANSWERED)
    set_status(industry_started, Comment.Status.ANSWERED)
    assert walk.run(at(2024, 12, 10, 9, 0, 0)) == {}

    assert Reminder.objects.filter(outcome="queued").count() == 4 + 3 + 4 + 3 + 2
    assert not Reminder.objects.filter(outcome="missed").exists()


def test_a_reminder_names_clauses_and_links_the_queue(
    weifang, walk, django_capture_on_commit_callbacks
):
    for n in range(3):
        comment_on(weifang, "二(三)4", n, django_capture_on_commit_callbacks)
    comment_on(weifang, "二(三)1", 5, django_capture_on_commit_callbacks)  # 市工信局 cooperates
    mail.outbox.clear()
    walk.run(at(2024, 11, 7, 9, 0))
    message = next(m for m in mail.outbox if "gxj@weifang.example" in m.to)
    assert "4 条意见待处理" in message.subject
    assert "二(三)4" in message.body and "3 条（其中 3 条由贵单位负责答复）" in message.body
    assert "二(三)1" in message.body
    assert "2024年11月10日 23:59:59" in message.body
    assert f"consultation__id__exact={weifang.pk}&status__exact=pending" in message.body
    html = message.alternatives[0][0]
    assert "二(三)4" in html and "<table" in html


def test_department_staff_get_reminders_too(weifang, walk, django_capture_on_commit_callbacks):
    user = get_user_model().objects.create_user(
        "sthj-handler", email="handler@sthj.example", is_staff=True
    )
    Membership.objects.create(user=user, department=Department.objects.get(name="市生态环境局"))
    comment_on(weifang, "二(四)2", 1, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    walk.run(at(2024, 11, 9, 9, 0))
    (message,) = mail.outbox
    assert set(message.to) == {"sthjj@weifang.example", "handler@sthj.example"}


def test_english_reminders(weifang, walk, django_capture_on_commit_callbacks, settings):
    comment_on(weifang, "二(四)2", 1, django_capture_on_commit_callbacks)
    settings.LANGUAGE_CODE = "en"
    mail.outbox.clear()
    walk.run(at(2024, 11, 9, 9, 0))
    (message,) = mail.outbox
    assert "closes in 1 day" in message.subject
    assert "close at 10 November 2024, 23:59:59 (Beijing time)" in message.body


def test_a_reminder_missed_while_beat_was_down_is_skipped_with_a_log_line(
    weifang, walk, django_capture_on_commit_callbacks, caplog
):
    comment_on(weifang, "二(四)2", 1, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    # Down from before the three-day reminder until after the one-day reminder's moment.
    with caplog.at_level(logging.WARNING, logger="consult.comments.reminders"):
        sent = walk.run(at(2024, 11, 9, 14, 0))
    assert list(sent) == ["市生态环境局"]
    assert "还有 1 天截止" in sent["市生态环境局"][0]
    assert "Skipped the closing reminder due 2024-11-07T09:00:00+08:00" in caplog.text
    missed = Reminder.objects.get(outcome="missed")
    assert missed.due_at == at(2024, 11, 7, 9, 0)
    # No "closes tomorrow" after the close.
    Reminder.objects.all().delete()
    assert walk.run(at(2024, 11, 11, 8, 0)) == {}
    assert Reminder.objects.filter(outcome="missed").count() == 2


def test_a_disabled_department_s_reminder_lapses_with_a_log_line_saying_so(
    weifang, walk, django_capture_on_commit_callbacks, caplog
):
    """Its reminder waits while the department could be enabled again; when it lapses, the log
    said beat had been down, which sent whoever read it looking for a fault."""
    comment_on(weifang, "二(四)2", 1, django_capture_on_commit_callbacks)
    Department.objects.filter(name="市生态环境局").update(is_active=False)
    assert walk.run(at(2024, 11, 7, 9, 0)) == {}
    assert not Reminder.objects.exists()
    with caplog.at_level(logging.WARNING, logger="consult.comments.reminders"):
        assert walk.run(at(2024, 11, 9, 14, 0)) == {}  # past the next reminder's moment
    assert "Skipped the closing reminder due 2024-11-07T09:00:00+08:00" in caplog.text
    assert "while the department was disabled" in caplog.text
    assert "no due-job ran" not in caplog.text
    assert Reminder.objects.get().outcome == "missed"


def test_still_sent_late_while_it_matters(weifang, walk, django_capture_on_commit_callbacks):
    comment_on(weifang, "二(四)2", 1, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    sent = walk.run(at(2024, 11, 7, 23, 0))  # beat was down at 09:00 but the day is not over
    assert "还有 3 天截止" in sent["市生态环境局"][0]


def test_a_close_brought_forward_still_gets_its_last_day_reminder(
    weifang, walk, django_capture_on_commit_callbacks
):
    """The close moved from the 10th to the 8th after "3 days left" went on the 7th at 09:00:
    "1 day left" falls on that same moment, and was taken for the reminder already sent. The
    department's last word was "3 days" for a consultation closing the next night."""
    comment_on(weifang, "二(四)2", 1, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    assert "还有 3 天截止" in walk.run(at(2024, 11, 7, 9, 0))["市生态环境局"][0]
    type(weifang).objects.filter(pk=weifang.pk).update(closes_at=at(2024, 11, 8, 23, 59, 59))
    sent = walk.run(at(2024, 11, 7, 10, 0))
    assert list(sent) == ["市生态环境局"] and "还有 1 天截止" in sent["市生态环境局"][0]
    # Each once: later runs send neither again.
    assert walk.run(at(2024, 11, 7, 10, 30)) == {}
    assert walk.run(at(2024, 11, 8, 9, 0)) == {}
    assert Reminder.objects.filter(outcome="queued").count() == 2


def test_a_deadline_moved_within_its_day_does_not_send_its_reminder_again(
    weifang, walk, django_capture_on_commit_callbacks
):
    """Keyed by the deadline itself, "1 day left" went again when the close moved from 23:59:59
    to 17:00 the same day (found by a review); the same moment says the same thing."""
    comment_on(weifang, "二(四)2", 1, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    assert "还有 1 天截止" in walk.run(at(2024, 11, 9, 9, 0))["市生态环境局"][0]
    recorded = set(Reminder.objects.values_list("pk", flat=True))
    type(weifang).objects.filter(pk=weifang.pk).update(closes_at=at(2024, 11, 10, 17, 0))
    assert walk.run(at(2024, 11, 9, 10, 0)) == {}
    assert set(Reminder.objects.values_list("pk", flat=True)) == recorded  # nor one missed


def test_answer_days_moved_by_a_week_do_not_send_an_overdue_reminder_again(
    weifang, walk, django_capture_on_commit_callbacks
):
    """Overdue reminders fall every 7 days: answers due 7 days later put the next series' first
    on the moment one had just gone (found by a review)."""
    comment_on(weifang, "二(四)2", 1, django_capture_on_commit_callbacks)
    walk.run(at(2024, 12, 3, 10, 0))
    overdue = Reminder.objects.filter(kind="overdue", outcome="queued").count()
    assert overdue > 0
    type(weifang).objects.filter(pk=weifang.pk).update(answer_days=weifang.answer_days + 7)
    walk.run(at(2024, 12, 3, 11, 0))
    assert Reminder.objects.filter(kind="overdue", outcome="queued").count() == overdue


def test_a_reminder_sent_a_day_late_counts_the_days_left_when_it_is_sent(
    weifang, walk, django_capture_on_commit_callbacks
):
    """The three-day reminder, sent the next evening (beat down since), said "还有 3 天"."""
    comment_on(weifang, "二(四)2", 1, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    sent = walk.run(at(2024, 11, 8, 23, 59))
    assert "还有 2 天截止" in sent["市生态环境局"][0]


def test_deadlines_are_exact_to_the_second_and_configurable(weifang, settings):
    settings.REMIND_DAYS_BEFORE_CLOSE = [2]
    settings.REMIND_DAYS_BEFORE_ANSWER_DEADLINE = [1]
    settings.REMIND_AT_HOUR = 8
    weifang.answer_days = 10
    moments = consultation_moments(weifang, at(2024, 11, 21, 8, 0, 0))
    assert [(m.kind, m.due_at) for m in moments] == [
        ("answer_due", at(2024, 11, 19, 8, 0)),
        ("overdue", at(2024, 11, 21, 8, 0)),
    ]
    assert weifang.answer_deadline == at(2024, 11, 20, 23, 59, 59)
    assert consultation_moments(weifang, at(2024, 11, 8, 7, 59, 59)) == []
    (closing,) = consultation_moments(weifang, at(2024, 11, 8, 8, 0, 0))
    assert closing.until == weifang.closes_at


@pytest.mark.django_db(transaction=True)
def test_two_runs_racing_send_each_reminder_once():
    weifang = load_weifang(slug="weifang-race", open_now=False)
    for n, label in enumerate(["二(四)2", "二(三)4", "二(三)1", "二(一)1"]):
        with time_machine.travel(at(2024, 10, 20, 10, n), tick=False):
            comment_submit(
                consultation=weifang,
                clause=weifang.clauses.get(label=label),
                body=f"第{n}条意见：建议明确集聚区的评价指标并公开结果。",
                channel="web",
                consent=True,
                phone=f"1381234{n:04d}",
            )
    expected_departments = (
        Comment.objects.filter(consultation=weifang, status="pending")
        .values("routes__department")
        .distinct()
        .count()
    )
    start = threading.Barrier(4)
    errors = []

    def run():
        try:
            start.wait()
            reminders_send(now=at(2024, 11, 7, 9, 0))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert Reminder.objects.count() == expected_departments
    assert Notification.objects.filter(kind="reminder").count() == expected_departments


@pytest.mark.django_db
def test_a_period_with_no_reminder_day_inside_it_sends_nothing_early_and_still_escalates():
    """Open for one day, closed early, answers due at the close: no day is left for a 3- or
    1-day reminder of either deadline; only the overdue escalation has a moment."""
    issuer = DepartmentFactory(name="市海渔局")
    owner = DepartmentFactory(name="市生态环境局")
    short = ConsultationFactory(
        issuer=issuer,
        opens_at=at(2024, 11, 10, 0, 0),
        closes_at=at(2024, 11, 10, 18, 0),
        answer_days=0,
    )
    comment = CommentFactory(consultation=short)
    CommentRouting.objects.create(
        comment=comment, department=owner, role=CommentRouting.Role.LEAD, is_owner=True
    )

    for moment in (at(2024, 11, 10, 9, 0), at(2024, 11, 10, 20, 0), at(2024, 11, 11, 8, 59)):
        assert consultation_moments(short, moment) == []
        assert reminders_send(now=moment) == {"queued": 0, "missed": 0}
    assert reminders_send(now=at(2024, 11, 11, 9, 0)) == {"queued": 1, "missed": 0}
    assert Reminder.objects.get().department == issuer


def test_the_reminder_list_shows_whether_its_email_went_out(
    weifang, walk, django_capture_on_commit_callbacks, client
):
    """ "Queued" is not "sent": a department with no address left gets no email, and the
    coordinator reading the reminders must see that it failed."""
    ecology = Department.objects.get(name="市生态环境局")
    Mailbox.objects.filter(department=ecology).delete()
    comment_on(weifang, "二(四)2", 1, django_capture_on_commit_callbacks)
    comment_on(weifang, "二(三)4", 2, django_capture_on_commit_callbacks)
    walk.run(at(2024, 11, 9, 9, 0))
    failed = Reminder.objects.get(department=ecology, outcome=Reminder.Outcome.QUEUED)
    assert failed.notification.status == Notification.Status.FAILED
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.cn", "pw"))

    page = client.get("/admin/notifications/reminder/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    rows = [row for row in page.content.decode().split("<tr")[1:] if "已排队发送" in row]
    assert "发送失败" in next(row for row in rows if "市生态环境局" in row)
    assert "已发送" in next(row for row in rows if "市工信局" in row)

    only_failed = client.get(
        "/admin/notifications/reminder/?notification__status__exact=failed",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert only_failed.context["cl"].result_count == 1
    assert list(only_failed.context["cl"].result_list) == [failed]


def test_a_reminder_that_found_no_address_goes_to_the_people_added_since_when_sent_again(
    weifang, walk, django_capture_on_commit_callbacks
):
    ecology = Department.objects.get(name="市生态环境局")
    Mailbox.objects.filter(department=ecology).delete()
    comment_on(weifang, "二(四)2", 1, django_capture_on_commit_callbacks)
    walk.run(at(2024, 11, 9, 9, 0))
    reminder = Reminder.objects.get(department=ecology, outcome=Reminder.Outcome.QUEUED)
    assert reminder.notification.email.status == OutgoingEmail.Status.FAILED
    Mailbox.objects.create(department=ecology, email="sthj-office@weifang.example")
    handler = get_user_model().objects.create_user(
        "sthj-handler", email="handler@sthj.example", is_staff=True
    )
    Membership.objects.create(user=handler, department=ecology)

    with time_machine.travel(at(2024, 11, 9, 10, 0), tick=False):
        email_resend(reminder.notification.email)
        mail.outbox.clear()
        deliver([reminder.notification.pk])

    (message,) = mail.outbox
    assert set(message.to) == {"sthj-office@weifang.example", "handler@sthj.example"}
    assert "还有 1 天截止，1 条意见待处理" in message.subject
