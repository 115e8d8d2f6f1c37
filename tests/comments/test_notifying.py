"""The notifications a comment causes after it is stored: a department told each time a comment
is passed (back) to it, and once only for one transfer written twice."""

import pytest
from django.core import mail

from consult.comments.models import CommentRouting
from consult.comments.notifying import comment_routed_again_write
from consult.comments.references import comment_move_to_clause
from consult.comments.services import comment_submit
from consult.consultations.directory import directory_changed
from consult.consultations.models import Department
from consult.notifications.models import Notification, OutgoingEmail
from tests.comments.test_workflow import staff, work

pytestmark = pytest.mark.django_db

GXJ, STHJJ = "gxj@weifang.example", "sthjj@weifang.example"


@pytest.fixture
def people(weifang_open):
    return {
        "gxj": staff("gxj-handler", "市工信局"),  # leads 二(三)4
        "sthj": staff("sthj-handler", "市生态环境局"),
        "coordinator": staff("hyj-handler", "市海渔局"),  # issued the notice
    }


def submit(consultation, clause=None, **contact):
    return comment_submit(
        consultation=consultation,
        clause=clause,
        body="建议在数字化转型专项中明确中小企业的申报条件。",
        channel="web",
        consent=True,
        submitter_name="王五",
        **contact,
    ).comment


def told(address) -> int:
    return sum(address in message.to for message in mail.outbox)


def test_a_department_is_told_each_time_a_comment_is_passed_back_to_it(
    weifang_open, people, django_capture_on_commit_callbacks
):
    """A passes to B, B passes back to A, A passes to B again: B is told twice, A once."""
    with django_capture_on_commit_callbacks(execute=True):
        comment = submit(weifang_open, weifang_open.clauses.get(label="二(三)4"))
    mail.outbox.clear()
    gxj, sthj = Department.objects.get(name="市工信局"), Department.objects.get(name="市生态环境局")
    passes = [(people["gxj"], sthj), (people["sthj"], gxj), (people["gxj"], sthj)]
    for by, to in passes:
        with django_capture_on_commit_callbacks(execute=True):
            work(comment, by, route_to=to, make_owner=True, route_reason=f"请{to.name}牵头答复。")
    assert CommentRouting.objects.get(comment=comment, is_owner=True).department == sthj
    assert (told(STHJJ), told(GXJ)) == (2, 1)
    assert Notification.objects.filter(comment=comment, kind="reassigned").count() == 3


def test_a_comment_moved_to_another_clause_and_back_tells_the_clauses_departments_again(
    weifang_open, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        comment = submit(weifang_open)  # on the whole draft
    mail.outbox.clear()
    for label in ("二(三)4", "二(一)1", "二(三)4"):
        with django_capture_on_commit_callbacks(execute=True):
            comment_move_to_clause(
                comment, weifang_open.clauses.get(label=label), by=people["coordinator"]
            )
    # 市工信局 leads 二(三)4, cooperates on 二(一)1, and leads again when the comment is back.
    assert told(GXJ) == 3


def test_one_transfer_written_twice_tells_the_department_once(
    weifang_open, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        comment = submit(weifang_open, weifang_open.clauses.get(label="二(三)4"))
        route = CommentRouting.objects.create(
            comment=comment,
            department=Department.objects.get(name="市生态环境局"),
            role=CommentRouting.Role.COOPERATING,
            position=9,
        )
        mail.outbox.clear()
        for _retry in range(2):
            comment_routed_again_write(comment, route, reason="请提供生态方面意见。")
    assert told(STHJJ) == 1
    assert Notification.objects.filter(comment=comment, kind="reassigned").count() == 1


@pytest.mark.parametrize("make_owner", [False, True])
def test_the_reason_for_passing_a_comment_on_is_masked_for_a_department_that_only_cooperates(
    weifang_open, people, make_owner, django_capture_on_commit_callbacks
):
    """The reason was printed as typed: a cooperating department, which sees the submitter
    masked everywhere else, read "提交人王五，电话13900000001" in full in its email."""
    with django_capture_on_commit_callbacks(execute=True):
        comment = submit(
            weifang_open,
            weifang_open.clauses.get(label="二(三)4"),
            phone="13900000001",
            email="wangwu@example.cn",
        )
    mail.outbox.clear()
    reason = "请协助核实，提交人王五，电话13900000001，邮箱wangwu@example.cn。"
    with django_capture_on_commit_callbacks(execute=True):
        work(
            comment,
            people["gxj"],
            route_to=Department.objects.get(name="市生态环境局"),
            make_owner=make_owner,
            route_reason=reason,
        )
    (message,) = [message for message in mail.outbox if STHJJ in message.to]
    html = message.alternatives[0][0]
    for text in (message.body, html):
        assert "请协助核实" in text
        for detail in ("王五", "13900000001", "wangwu@example.cn"):
            assert (detail in text) is make_owner, (detail, text)
    if not make_owner:
        assert "139****0001" in message.body and "w***@example.cn" in message.body
    # As the admin's notification pages show it.
    (stored,) = Notification.objects.filter(comment=comment, kind="reassigned")
    assert ("13900000001" in stored.context["reason"]) is make_owner


def test_the_reason_is_masked_for_a_lead_made_cooperating_before_its_email_is_built(
    weifang_open, people, django_capture_on_commit_callbacks
):
    """Stored whole for the department that was to answer; built after it was made only to
    cooperate, its email masks the reason as its part now asks."""
    with django_capture_on_commit_callbacks(execute=True):
        comment = submit(
            weifang_open, weifang_open.clauses.get(label="二(三)4"), phone="13900000001"
        )
    mail.outbox.clear()
    sthj = Department.objects.get(name="市生态环境局")
    with django_capture_on_commit_callbacks() as written:
        work(
            comment,
            people["gxj"],
            route_to=sthj,
            make_owner=True,
            route_reason="请牵头答复，提交人电话13900000001。",
        )
    CommentRouting.objects.filter(comment=comment, department=sthj).update(is_owner=False)
    CommentRouting.objects.filter(comment=comment, department__name="市工信局").update(
        is_owner=True
    )
    for callback in written:
        callback()
    (message,) = [message for message in mail.outbox if STHJJ in message.to]
    assert "13900000001" not in message.body and "139****0001" in message.body


def pass_to_fgw(comment, by):
    """`by` makes 市发改委 the department that answers the comment."""
    work(
        comment,
        by,
        route_to=Department.objects.get(name="市发改委"),
        make_owner=True,
        route_reason="属市发改委职责。",
    )


def _digest_sent_after_window() -> None:
    """Every notification still pending, delivered once the departments' windows are over."""
    from datetime import timedelta

    from django.utils import timezone

    from consult.notifications.delivery import deliver

    pending = list(Notification.objects.filter(status="pending").values_list("pk", flat=True))
    deliver(pending, now=timezone.now() + timedelta(days=1))


def test_a_department_that_passes_a_comment_on_is_not_told_of_it_in_a_digest_still_to_come(
    weifang_open, people, django_capture_on_commit_callbacks
):
    sthj = Department.objects.get(name="市生态环境局")
    Department.objects.filter(pk=sthj.pk).update(
        digest_mode=Department.DigestMode.WINDOW, digest_window_minutes=10
    )
    with django_capture_on_commit_callbacks(execute=True):
        comment = submit(weifang_open, weifang_open.clauses.get(label="二(四)2"))  # its alone
    waiting = Notification.objects.filter(
        comment=comment, department=sthj, kind="comment_routed", status="pending"
    )
    assert waiting.filter(email__isnull=True).count() == 1  # in its ten-minute window
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        pass_to_fgw(comment, people["sthj"])
        _digest_sent_after_window()

    assert not waiting.exists()
    assert told(STHJJ) == 0
    assert Notification.objects.filter(comment=comment, department__name="市发改委").exists()


def test_a_department_a_comment_moves_away_from_is_not_told_of_it_but_one_kept_is(
    weifang_open, people, django_capture_on_commit_callbacks
):
    """Moved by the coordinator from 二(四)2 (市生态环境局) to 二(三)4 (市工信局 leads): the
    first no longer hears of it. Made owner elsewhere by the coordinator, a department stays
    cooperating and still does."""
    Department.objects.update(digest_mode=Department.DigestMode.WINDOW, digest_window_minutes=10)
    with django_capture_on_commit_callbacks(execute=True):
        moved = submit(weifang_open, weifang_open.clauses.get(label="二(四)2"))
        kept = submit(weifang_open, weifang_open.clauses.get(label="二(四)2"))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        comment_move_to_clause(
            moved, weifang_open.clauses.get(label="二(三)4"), by=people["coordinator"]
        )
        pass_to_fgw(kept, people["coordinator"])

    routed_to_sthj = Notification.objects.filter(
        department__name="市生态环境局", kind="comment_routed"
    )
    assert list(routed_to_sthj.values_list("comment_id", flat=True)) == [kept.pk]


def test_a_comment_on_a_clause_of_a_department_switched_off_goes_to_the_issuer(
    weifang_open, people
):
    """二(四)2 names 市生态环境局 alone. Switched off, it was still made the comment's owner:
    the queue's department filter no longer offered it and its reminders were never sent."""
    Department.objects.filter(name="市生态环境局").update(is_active=False)
    Department.objects.get(name="市生态环境局").save()  # as the admin saves it: routing re-read
    clause = weifang_open.clauses.get(label="二(四)2")

    comment = submit(weifang_open, clause)
    moved = submit(weifang_open)
    comment_move_to_clause(moved, clause, by=people["coordinator"])

    for routed in (comment, moved):
        routes = list(routed.routes.values_list("department__name", "is_owner"))
        assert routes == [("市海渔局", True)]


def test_a_digest_goes_to_the_department_s_mailboxes_as_they_are_when_it_is_built(
    weifang_open, django_capture_on_commit_callbacks
):
    """The mailbox switched off between two comments still got the digest, with the second
    comment's contact details: each notification kept the addresses of its own moment."""
    import datetime

    import time_machine
    from django.utils import timezone

    from consult.consultations.models import Mailbox
    from consult.notifications.delivery import deliver

    industry = Department.objects.get(name="市工信局")
    Department.objects.filter(pk=industry.pk).update(digest_mode=Department.DigestMode.DAILY)
    clause = weifang_open.clauses.get(label="二(三)4")  # 市工信局 answers

    def submit(n):
        with django_capture_on_commit_callbacks(execute=True):
            comment_submit(
                consultation=weifang_open,
                clause=clause,
                body=f"第{n}条：建议明确集聚区的评价指标并公开结果。",
                channel="web",
                consent=True,
                submitter_name=f"张{n}",
                phone=f"1381234{n:04d}",
            )

    submit(1)
    old = Mailbox.objects.get(department=industry)
    Mailbox.objects.filter(pk=old.pk).update(is_active=False)
    Mailbox.objects.create(department=industry, email="new-office@gxj.example")
    submit(2)
    mail.outbox.clear()
    later = timezone.now() + datetime.timedelta(days=2)
    pending = Notification.objects.filter(status="pending", department=industry)
    with time_machine.travel(later, tick=False):
        deliver(list(pending.values_list("pk", flat=True)), now=later)
    (digest,) = [m for m in mail.outbox if "13812340002" in m.body]
    assert digest.to == ["new-office@gxj.example"]


def ecology_comment_by_email(consultation):
    """A comment on 二(四)2, which 市生态环境局 answers alone, from a citizen with an address."""
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label="二(四)2"),
        body="建议公开海洋生态修复项目的资金使用情况。",
        channel="web",
        consent=True,
        email="citizen@example.cn",
    ).comment


def test_a_withdrawn_answer_waiting_for_the_mail_relay_is_not_sent(
    weifang_open, django_capture_on_commit_callbacks
):
    """Built while the relay was down, the first answer's email waited for its retry; the
    comment was reopened and answered otherwise, and the retry sent the withdrawn answer."""
    import datetime
    import smtplib
    from unittest import mock

    import time_machine
    from django.utils import timezone

    from consult.notifications import delivery
    from consult.notifications.models import OutgoingEmail

    class RelayDown:
        def open(self):
            raise smtplib.SMTPServerDisconnected("relay down")

        def close(self):
            pass

    with django_capture_on_commit_callbacks(execute=True):
        comment = ecology_comment_by_email(weifang_open)
    owner = staff("sthj-handler", "市生态环境局")
    coordinator = staff("hyj-handler", "市海渔局")
    mail.outbox.clear()
    with (
        mock.patch.object(delivery, "get_connection", side_effect=lambda **kw: RelayDown()),
        django_capture_on_commit_callbacks(execute=True),
    ):
        work(comment, owner, status="answered", decision="adopted", reply="第一次答复：已采纳。")
    waiting = OutgoingEmail.objects.filter(notifications__kind="reply", status="pending")
    assert waiting.count() == 1  # built, waiting for its retry
    with django_capture_on_commit_callbacks(execute=True):
        work(comment, coordinator, status="in_progress")
    assert not OutgoingEmail.objects.filter(body_text__contains="第一次答复").exists()
    with django_capture_on_commit_callbacks(execute=True):
        work(
            comment, owner, status="answered", decision="explained", reply="第二次答复：已有规定。"
        )
    later = timezone.now() + datetime.timedelta(hours=1)
    pending = Notification.objects.filter(kind="reply", status="pending")
    with time_machine.travel(later, tick=False):
        delivery.deliver(list(pending.values_list("pk", flat=True)), now=later)
    to_citizen = [m.body for m in mail.outbox if m.to == ["citizen@example.cn"]]
    assert not any("第一次答复" in body for body in to_citizen)
    assert any("第二次答复" in body for body in to_citizen)


class RelayRefusing:
    """A relay that refuses every message for good (a 5xx at DATA)."""

    def __init__(self, code, reply):
        self.code, self.reply = code, reply

    def open(self):
        pass

    def close(self):
        pass

    def send_messages(self, messages):
        import smtplib

        raise smtplib.SMTPDataError(self.code, self.reply)


def test_a_withdrawn_answer_whose_email_failed_cannot_be_sent_again(
    weifang_open, django_capture_on_commit_callbacks
):
    """The answer's email was refused (mailbox full, 5xx) and failed; the comment was reopened
    to correct it; once the mailbox was fixed, staff's "send again" sent the withdrawn answer to
    a citizen whose comment was being worked again."""
    from unittest import mock

    from consult.notifications import delivery
    from consult.notifications.models import OutgoingEmail

    with django_capture_on_commit_callbacks(execute=True):
        comment = ecology_comment_by_email(weifang_open)
    owner = staff("sthj-handler", "市生态环境局")
    with (
        mock.patch.object(
            delivery,
            "get_connection",
            side_effect=lambda **kw: RelayRefusing(552, b"5.2.2 Mailbox full"),
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        work(comment, owner, status="answered", decision="adopted", reply="第一次答复：已采纳。")
    failed = OutgoingEmail.objects.get(notifications__kind="reply")
    assert failed.status == OutgoingEmail.Status.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        work(comment, owner, status="in_progress")
    # Nothing left for "send again" to send: the answer it told of is withdrawn.
    assert not OutgoingEmail.objects.filter(pk=failed.pk).exists()
    assert not Notification.objects.filter(kind="reply").exists()


def test_a_department_s_failed_email_is_withdrawn_when_the_comment_leaves_it(
    weifang_open, django_capture_on_commit_callbacks
):
    """Its new-comment email (the submitter's name and phone, "负责答复") failed; the comment
    was then passed to another department; "send again" would have mailed the details to a
    department that no longer handles it and cannot open it."""
    from unittest import mock

    from consult.comments.workflow import CommentChange, comment_change_apply
    from consult.notifications import delivery
    from consult.notifications.models import OutgoingEmail

    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()
    with (
        mock.patch.object(
            delivery,
            "get_connection",
            side_effect=lambda **kw: RelayRefusing(550, b"5.1.1 No such mailbox"),
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        comment = comment_submit(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label="二(三)4"),  # 市工信局 answers
            body="建议明确中小企业的申报条件。",
            channel="web",
            consent=True,
            submitter_name="王小明",
            phone="13912345678",
        ).comment
    industry = Department.objects.get(name="市工信局")
    to_industry = OutgoingEmail.objects.filter(notifications__department=industry)
    assert to_industry.filter(status=OutgoingEmail.Status.FAILED).exists()

    owner = staff("gxj-handler", "市工信局")
    with django_capture_on_commit_callbacks(execute=True):
        comment_change_apply(
            comment,
            owner,
            CommentChange(
                route_to=Department.objects.get(name="市生态环境局"),
                make_owner=True,
                route_reason="属于生态环境局职责。",
            ),
        )
    assert not CommentRouting.objects.filter(comment=comment, department=industry).exists()
    assert not to_industry.filter(body_text__contains="13912345678").exists()


class RelayDown:
    """A relay that drops the connection: every email waits for its retry, built."""

    def open(self):
        import smtplib

        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    def close(self):
        pass


def industry_comment_waiting_for_the_relay(consultation, capture):
    """A comment on 二(三)4, which 市工信局 leads, whose department emails were built, with the
    submitter's details for the lead, and are waiting for a retry."""
    from unittest import mock

    from consult.notifications import delivery

    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()
    with (
        mock.patch.object(delivery, "get_connection", side_effect=lambda **kw: RelayDown()),
        capture(execute=True),
    ):
        comment = comment_submit(
            consultation=consultation,
            clause=consultation.clauses.get(label="二(三)4"),
            body="建议明确中小企业的申报条件。",
            channel="web",
            consent=True,
            submitter_name="王小明",
            phone="13912345678",
        ).comment
    return comment, OutgoingEmail.objects.get(
        notifications__department__name="市工信局", status=OutgoingEmail.Status.PENDING
    )


@pytest.mark.parametrize("moved_by", ["a coordinator's transfer", "a move to 二(一)1"])
def test_an_email_waiting_for_a_retry_tells_a_former_lead_department_its_part_as_it_is_now(
    weifang_open, people, moved_by, django_capture_on_commit_callbacks
):
    """市工信局's new-comment email (the submitter's phone, "负责答复") waited for the relay; the
    comment was then moved to 市生态环境局 by a coordinator (or to a clause 市工信局 only
    cooperates on), leaving 市工信局 a cooperating department: the retry sent it the details and
    told it to answer, as its lead."""
    from consult.notifications.delivery import emails_send

    comment, waiting = industry_comment_waiting_for_the_relay(
        weifang_open, django_capture_on_commit_callbacks
    )
    assert "13912345678" in waiting.body_text and "负责答复" in waiting.body_text

    with django_capture_on_commit_callbacks(execute=True):
        if moved_by == "a coordinator's transfer":
            work(
                comment,
                people["coordinator"],
                route_to=Department.objects.get(name="市生态环境局"),
                make_owner=True,
                route_reason="属于生态环境局职责。",
            )
        else:
            comment_move_to_clause(
                comment, weifang_open.clauses.get(label="二(一)1"), by=people["coordinator"]
            )
    route = CommentRouting.objects.get(comment=comment, department__name="市工信局")
    assert (route.role, route.is_owner) == (CommentRouting.Role.COOPERATING, False)

    waiting.refresh_from_db()
    assert waiting.status == OutgoingEmail.Status.PENDING
    owner = CommentRouting.objects.get(comment=comment, is_owner=True).department
    for part in (waiting.body_text, waiting.body_html):
        assert "13912345678" not in part and "王小明" not in part
        assert "（负责答复）" not in part and f"负责答复的{owner.name}" in part
    OutgoingEmail.objects.filter(pk=waiting.pk).update(next_attempt_at=None)
    mail.outbox.clear()
    emails_send([waiting.pk])
    [sent] = [message for message in mail.outbox if GXJ in message.to]
    assert sent.extra_headers["Message-ID"] == waiting.message_id
    assert "13912345678" not in sent.body and "配合" in sent.body


def test_department_addresses_differing_in_case_are_one_mailbox(
    weifang_open, django_capture_on_commit_callbacks
):
    """A mailbox saved again in capitals beside its lower-case self, and a staff member whose
    address differs from the mailbox's in case: each mailbox gets one copy."""
    from consult.consultations.models import Mailbox
    from consult.notifications.outbox import recipients_by_department

    industry = Department.objects.get(name="市工信局")
    Mailbox.objects.create(department=industry, email=GXJ.upper())
    staff("gxj-clerk", "市工信局", email="Gxj@Weifang.Example")
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()
    for staff_too in (False, True):
        assert recipients_by_department([industry.pk], staff=staff_too)[industry.pk] == [GXJ]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        submit(weifang_open, weifang_open.clauses.get(label="二(三)4"))
    [to_industry] = [m for m in mail.outbox if any(a.lower() == GXJ for a in m.to)]
    assert to_industry.to == [GXJ]
