"""What the emails say: who sends them, what is asked of each department and by when, and
the comment's state when the email is built, not when it was written."""

import datetime
from email.utils import parseaddr

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from consult.comments.services import comment_submit
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.directory import directory_changed
from consult.consultations.models import Department, Membership
from consult.intake.templatetags.moments import moment
from consult.notifications.delivery import email_sender
from consult.notifications.models import OutgoingEmail
from tests.support.jobs import due_jobs_run

pytestmark = pytest.mark.django_db


def submit(consultation, n, **extra):
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label="二(三)4"),  # 市工信局 leads; two cooperate
        body=f"第{n}条意见：建议在数字化转型专项中明确中小企业的申报条件。",
        channel="web",
        consent=True,
        **extra,
    ).comment


def messages_to(department_name):
    addresses = set(
        Department.objects.get(name=department_name).mailboxes.values_list("email", flat=True)
    )
    return [m for m in mail.outbox if set(m.to) & addresses]


@pytest.fixture
def immediate(weifang_open):
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()  # an update() sends no signal
    return weifang_open


def test_the_bureau_that_asked_is_the_sender(
    immediate, settings, django_capture_on_commit_callbacks
):
    settings.DEFAULT_FROM_EMAIL = "consult <noreply@consult.example.gov.cn>"
    with django_capture_on_commit_callbacks(execute=True):
        submit(immediate, 1, email="citizen@example.cn")
    assert mail.outbox
    bureau = immediate.issuer.full_name or immediate.issuer.name
    for message in mail.outbox:
        assert parseaddr(message.from_email) == (bureau, "noreply@consult.example.gov.cn")


@pytest.mark.parametrize(
    "written", ["潍坊市海洋发展\n和渔业局", "潍坊市海洋发展和渔业局\r\n", "潍坊市\x1f海洋局"]
)
def test_a_bureau_s_name_with_a_line_break_still_sends(
    immediate, settings, written, django_capture_on_commit_callbacks
):
    """A line break in the issuing bureau's name (imported from a directory file) failed every
    email of its consultations for good: an address's name cannot contain CR or LF."""
    settings.DEFAULT_FROM_EMAIL = "consult <noreply@consult.example.gov.cn>"
    Department.objects.filter(pk=immediate.issuer_id).update(full_name=written)
    with django_capture_on_commit_callbacks(execute=True):
        submit(immediate, 1, email="citizen@example.cn")
    assert any(message.to == ["citizen@example.cn"] for message in mail.outbox)
    one_line = " ".join(written.replace("\x1f", " ").split())
    for message in mail.outbox:
        assert parseaddr(message.from_email) == (one_line, "noreply@consult.example.gov.cn")


def test_an_email_composed_with_a_line_break_in_its_sender_is_sent_on_one_line(settings):
    """Emails composed before names were made one line, waiting for a retry."""
    settings.DEFAULT_FROM_EMAIL = "consult <noreply@consult.example.gov.cn>"
    stored = OutgoingEmail(sender_name="潍坊市海洋发展\r\n和渔业局")
    assert parseaddr(email_sender(stored)) == (
        "潍坊市海洋发展 和渔业局",
        "noreply@consult.example.gov.cn",
    )


def test_each_department_is_told_what_is_asked_of_it_and_by_when(
    immediate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        comment = submit(immediate, 2)
    # To the second, as the site writes a moment (a deadline is exact to the second).
    deadline = moment(timezone.localtime(immediate.answer_deadline), "second")
    [to_owner] = messages_to("市工信局")
    assert f"请在 {deadline}（北京时间）前答复" in to_owner.body
    cooperating = comment.routes.filter(is_owner=False).select_related("department")
    assert cooperating
    for route in cooperating:
        [message] = messages_to(route.department.name)
        assert f"请在 {deadline}（北京时间）前向负责答复的市工信局提出贵单位意见" in message.body


def test_a_digest_says_what_became_of_a_comment_answered_meanwhile(weifang_open):
    owner = get_user_model().objects.create_user("gxj", is_staff=True)
    Membership.objects.create(user=owner, department=Department.objects.get(name="市工信局"))
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        answered, waiting = submit(weifang_open, 3), submit(weifang_open, 4)
        comment_change_apply(
            answered,
            owner,
            CommentChange(
                status="answered",
                decision="adopted",
                reply="已采纳，将在细则中明确。",
                waive_reason="急需答复",
            ),
        )
    with time_machine.travel(start + datetime.timedelta(minutes=11), tick=False):
        due_jobs_run()
    [digest] = messages_to("市工信局")
    text = digest.body
    part_answered = text[text.index(answered.tracking_number) : text.index(waiting.tracking_number)]
    assert "已办结，无需处理" in part_answered and "已答复" in part_answered
    part_waiting = text[text.index(waiting.tracking_number) :]
    assert "已办结" not in part_waiting and "前答复" in part_waiting


def test_subjects_carry_the_title_as_written_not_html_escaped(
    immediate, django_capture_on_commit_callbacks
):
    """A subject is plain text: "&" and "'" arrived as "&amp;" and "&#x27;"."""
    immediate.title = "海洋牧场 & 渔港经济区建设 'A' 方案"
    immediate.save(update_fields=["title"])
    with django_capture_on_commit_callbacks(execute=True):
        submit(immediate, 1, email="citizen@example.cn")
    subjects = {message.subject for message in mail.outbox}
    assert len(subjects) >= 2  # the receipt and the departments' emails
    for subject in subjects:
        assert "海洋牧场 & 渔港经济区建设 'A' 方案" in subject, subject


def test_a_digest_tells_a_department_its_part_as_the_comment_is_routed_when_it_is_built(
    weifang_open,
):
    """市工信局 answered 二(三)4's comment when it was routed; before its digest went out the
    bureau transferred the comment to 市生态环境局. The digest used to print the submitter's
    details and "负责答复" to the department that no longer answers it."""
    from consult.consultations.services import staff_join

    coordinator = get_user_model().objects.create_user("hyj", is_staff=True)
    staff_join(coordinator, Department.objects.get(name="市海渔局"))
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        comment = submit(weifang_open, 5, email="citizen@example.cn", phone="13912345678")
        comment_change_apply(
            comment,
            coordinator,
            CommentChange(
                route_to=Department.objects.get(name="市生态环境局"),
                make_owner=True,
                route_reason="涉及海洋生态保护，由市生态环境局牵头答复。",
            ),
        )
    with time_machine.travel(start + datetime.timedelta(minutes=11), tick=False):
        due_jobs_run()
    [digest] = messages_to("市工信局")
    html = digest.alternatives[0][0]
    for text in (digest.body, html):
        assert comment.tracking_number in text
        assert "citizen@example.cn" not in text and "13912345678" not in text
        assert "（负责答复）" not in text and "负责答复的市生态环境局" in text
    new_owner = "\n".join(m.body for m in messages_to("市生态环境局"))
    assert "citizen@example.cn" in new_owner


def test_the_html_part_says_what_the_text_part_says(immediate, django_capture_on_commit_callbacks):
    """Mail programs show the HTML part: a department's had no submission time, and the
    citizen's answer email neither labelled the answer nor quoted the comment it answers."""
    with django_capture_on_commit_callbacks(execute=True):
        comment = submit(immediate, 7, email="citizen@example.cn")
    submitted = moment(timezone.localtime(comment.submitted_at), "second")
    departments = [m for m in mail.outbox if m.to != ["citizen@example.cn"]]
    assert len(departments) == 3
    for message in departments:
        for part in (message.body, message.alternatives[0][0]):
            assert submitted in part and "（北京时间）" in part

    owner = get_user_model().objects.create_user("gxj", is_staff=True)
    Membership.objects.create(user=owner, department=Department.objects.get(name="市工信局"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        comment_change_apply(
            comment,
            owner,
            CommentChange(
                status="answered",
                decision="adopted",
                reply="已采纳，将明确申报条件。",
                waive_reason="答复期限将至。",
            ),
        )
    [reply] = mail.outbox
    for part in (reply.body, reply.alternatives[0][0]):
        assert "答复：" in part and "已采纳，将明确申报条件。" in part
        assert "您的意见：" in part and "第7条意见：建议在数字化转型专项中" in part
