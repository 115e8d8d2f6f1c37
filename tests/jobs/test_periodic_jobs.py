"""Periodic jobs run one by one: a failing job is logged and recorded, the others still run,
and a job that stops succeeding shows on the admin index, in check_workers and on /healthz/jobs
(monitoring's check), while /healthz (the load balancer's) keeps the web node in service."""

import datetime
import logging

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from consult.comments.services import comment_submit
from consult.consultations.directory import directory_changed
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.jobs import services as jobs
from consult.jobs.checks import mail_names_a_real_domain, task_timings_fit_the_broker
from consult.jobs.models import JobStatus
from consult.notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_reminders(monkeypatch):
    """The reminders job raises, as it did for a consultation with no reminder day in its
    period (zip() of unequal lists)."""

    def explode(now):
        raise ValueError("zip() argument 2 is longer than argument 1")

    monkeypatch.setitem(jobs.JOBS, "reminders", jobs.Job("reminders", explode))


def comment_with_pending_notifications(consultation):
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()  # an update() sends no signal
    comment = comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label="二(一)1"),
        body="建议明确集聚区的评价指标，并按年度公开评估结果。",
        channel="web",
        consent=True,
        phone="13812345678",
    ).comment
    # Its notifications are committed but their hand-off was lost (a process died).
    assert Notification.objects.filter(comment=comment, status="pending").exists()
    return comment


def test_every_job_has_its_own_beat_entry_on_its_own_interval():
    schedule = settings.CELERY_BEAT_SCHEDULE
    names = [job.name for job in jobs.jobs_registered()]
    assert sorted(names) == [
        "campaigns",
        "digests",
        "expired-sessions",
        "export-sweep",
        "new-consultations",
        "outbox-sweep",
        "personal-data-retention",
        "reminders",
        "unconfirmed-subscriptions",
    ]
    assert names[-1] == "outbox-sweep"  # run_due_jobs sweeps after the others queued their mail
    for name in names:
        entry = schedule[name]
        assert (entry["task"], entry["args"]) == ("consult.jobs.tasks.run_job", (name,))
        assert entry["schedule"] == settings.PERIODIC_JOBS_EVERY_SECONDS[name]


def test_a_failing_job_is_logged_and_recorded_and_the_others_still_run(
    weifang_open, broken_reminders, caplog
):
    comment = comment_with_pending_notifications(weifang_open)
    later = timezone.now() + datetime.timedelta(minutes=5)  # past the sweep's grace period
    with caplog.at_level(logging.ERROR, logger="consult.jobs.services"):
        outcomes = {outcome.name: outcome for outcome in jobs.jobs_run_all(now=later)}
    assert not outcomes["reminders"].ok
    assert all(outcome.ok for name, outcome in outcomes.items() if name != "reminders")
    [record] = caplog.records
    assert "reminders" in record.getMessage() and record.exc_info[0] is ValueError
    # The sweep after the failing job still delivered the comment's mail.
    assert not Notification.objects.filter(comment=comment, status="pending").exists()
    assert mail.outbox
    failed = JobStatus.objects.get(name="reminders")
    assert failed.last_failed_at == later and failed.last_succeeded_at is None
    assert "zip() argument 2" in failed.last_error and failed.failures_in_a_row == 1
    swept = JobStatus.objects.get(name="outbox-sweep")
    assert swept.last_succeeded_at == later and swept.last_failed_at is None


def test_run_due_jobs_once_exits_non_zero_when_a_job_failed(weifang_open, broken_reminders):
    with pytest.raises(CommandError, match="reminders"):
        call_command("run_due_jobs")
    # Every job but the broken one ran and succeeded.
    assert (
        JobStatus.objects.filter(last_succeeded_at__isnull=False).count()
        == len(jobs.jobs_registered()) - 1
    )


def test_run_due_jobs_every_keeps_looping_past_a_failing_job(
    weifang_open, broken_reminders, monkeypatch
):
    from consult.jobs.management.commands import run_due_jobs

    rounds = []

    class Stop(Exception):
        pass

    def sleep(seconds):
        rounds.append(seconds)
        if len(rounds) == 3:
            raise Stop

    monkeypatch.setattr(run_due_jobs.time, "sleep", sleep)
    with pytest.raises(Stop):
        call_command("run_due_jobs", every=60)
    assert rounds == [60, 60, 60]
    assert JobStatus.objects.get(name="reminders").failures_in_a_row == 3
    assert JobStatus.objects.get(name="outbox-sweep").failures_in_a_row == 0


def test_closing_a_consultation_early_keeps_reminders_and_the_sweep_working(weifang_open):
    """The demo consultation closed early in the admin: no reminder day is left inside its
    period, which used to stop the whole due-jobs run before the sweep."""
    comment = comment_with_pending_notifications(weifang_open)
    weifang_open.closes_at = timezone.now() + datetime.timedelta(minutes=1)
    weifang_open.answer_days = 0
    weifang_open.save(update_fields=["closes_at", "answer_days"])
    for minutes in [2, 5, 60, 60 * 24 * 2]:
        with time_machine.travel(timezone.now() + datetime.timedelta(minutes=minutes)):
            call_command("run_due_jobs")
    assert not Notification.objects.filter(comment=comment, status="pending").exists()


@pytest.fixture
def overdue_sweep():
    """The sweep last succeeded just over three of its intervals ago and fails since."""
    every = datetime.timedelta(seconds=settings.PERIODIC_JOBS_EVERY_SECONDS["outbox-sweep"])
    now = timezone.now()
    last_good = now - jobs.OVERDUE_AFTER_INTERVALS * every - datetime.timedelta(seconds=1)
    JobStatus.objects.create(
        name="outbox-sweep",
        first_seen_at=last_good - datetime.timedelta(days=1),
        first_run_at=last_good - datetime.timedelta(days=1),
        last_started_at=now,
        last_succeeded_at=last_good,
        last_failed_at=now,
        last_error="OperationalError: connection to 13812345678@example.cn refused",
        failures_in_a_row=4,
    )
    return last_good


def test_a_job_is_overdue_after_three_intervals_without_success(overdue_sweep):
    every = datetime.timedelta(seconds=settings.PERIODIC_JOBS_EVERY_SECONDS["outbox-sweep"])
    assert [job.name for job in jobs.jobs_overdue()] == ["outbox-sweep"]
    just_in_time = overdue_sweep + jobs.OVERDUE_AFTER_INTERVALS * every
    assert jobs.jobs_overdue(now=just_in_time) == []


def test_a_job_that_ran_once_and_never_succeeded_becomes_overdue(broken_reminders):
    start = timezone.now()
    jobs.job_run("reminders", now=start)
    every = datetime.timedelta(seconds=settings.PERIODIC_JOBS_EVERY_SECONDS["reminders"])
    assert jobs.jobs_overdue(now=start + every) == []
    late = start + 3 * every + datetime.timedelta(seconds=1)
    overdue = {job.name: job.state for job in jobs.jobs_overdue(now=late)}
    assert overdue["reminders"] == "overdue"
    assert set(overdue.values()) == {"overdue", "never run"}  # the others never ran at all


def staff(username, department_name):
    user = User.objects.create_user(username, password="pw")
    staff_join(user, Department.objects.get(name=department_name))
    return user


def test_the_admin_index_warns_coordinators_and_superusers_only(
    client, weifang_open, overdue_sweep
):
    superuser = User.objects.create_superuser("root", "root@example.cn", "pw")
    for user, warned in [
        (staff("hyj", "市海渔局"), True),  # the issuing bureau: a coordinator
        (superuser, True),
        (staff("fgw", "市发改委"), False),  # a department's staff
    ]:
        client.force_login(user)
        page = client.get("/admin/").content.decode()
        assert ("outbox-sweep" in page) is warned, user.username
        assert ('id="job-health"' in page) is warned, user.username
    JobStatus.objects.filter(name="outbox-sweep").update(last_succeeded_at=timezone.now())
    client.force_login(superuser)
    assert 'id="job-health"' not in client.get("/admin/").content.decode()


def test_healthz_jobs_answers_503_with_no_personal_data_while_a_job_is_overdue(
    client, overdue_sweep
):
    response = client.get("/healthz/jobs")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["jobs"]["outbox-sweep"]["state"] == "overdue"
    assert "13812345678" not in response.content.decode()
    assert "example.cn" not in response.content.decode()


def test_a_monitor_polling_an_overdue_job_logs_each_change_once_not_an_error_per_poll(
    client, overdue_sweep, caplog, monkeypatch
):
    monkeypatch.setattr("consult.jobs.views._reported_overdue", frozenset())
    # Django's request log ("Service Unavailable: …") stops at the django logger in production
    # settings; let it reach the test's handler too, so that it would be seen.
    monkeypatch.setattr(logging.getLogger("django"), "propagate", True)
    caplog.set_level(logging.INFO)
    for _poll in range(5):
        assert client.get("/healthz/jobs").status_code == 503
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("consult.jobs", "WARNING", "Periodic jobs overdue: outbox-sweep")
    ]
    caplog.clear()
    jobs.jobs_run_all()
    for _poll in range(3):
        assert client.get("/healthz/jobs").status_code == 200
    JobStatus.objects.filter(name="outbox-sweep").update(last_succeeded_at=overdue_sweep)
    assert client.get("/healthz/jobs").status_code == 503
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name != "consult"] == [
        ("INFO", "Periodic jobs on time again"),
        ("WARNING", "Periodic jobs overdue: outbox-sweep"),
    ]


def test_healthz_keeps_the_web_node_in_service_while_a_job_is_overdue(client, overdue_sweep):
    """A stopped beat answered 503 on every web node's /healthz: the load balancer took the
    whole site out though each node served pages."""
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["jobs_status"]) == ("ok", "ok", "overdue")
    assert body["jobs"]["outbox-sweep"]["state"] == "overdue"
    assert "13812345678" not in response.content.decode()
    assert "example.cn" not in response.content.decode()


@pytest.mark.parametrize("path", ["/healthz", "/healthz/jobs"])
def test_health_checks_answer_503_when_the_database_does_not(client, monkeypatch, path):
    monkeypatch.setattr("consult.jobs.views._database_answers", lambda: False)
    response = client.get(path)
    assert response.status_code == 503
    assert response.json() == {"status": "failing", "database": "unreachable"}


@pytest.mark.parametrize("path", ["/healthz", "/healthz/jobs"])
def test_health_checks_answer_200_when_every_job_is_on_time(client, path):
    assert client.get(path).json()["status"] == "ok"  # nothing has run: a new install
    jobs.jobs_run_all()
    response = client.get(path)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    assert set(response.json()["jobs"]) == {job.name for job in jobs.jobs_registered()}
    assert {job["state"] for job in response.json()["jobs"].values()} == {"ok"}
    assert client.head(path).status_code == 200
    assert client.post(path).status_code == 405


@pytest.mark.parametrize("path", ["/healthz", "/healthz/jobs"])
def test_health_checks_are_exempt_from_the_https_redirect(settings, path):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = None
    assert Client().get("/healthz/nothing").status_code == 301  # only the checks themselves
    assert Client().get(path).status_code == 200
    assert Client().get(path, HTTP_X_FORWARDED_PROTO="https").status_code == 200


def test_check_workers_fails_while_a_job_is_overdue(overdue_sweep, capsys):
    with pytest.raises(CommandError, match="outbox-sweep overdue"):
        call_command("check_workers")
    assert "OVERDUE" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("setting", "value", "names"),
    [
        ("NOTIFY_RETRY_MAX_SECONDS", 3600.0, "NOTIFY_RETRY_MAX_SECONDS"),
        ("CELERY_TASK_TIME_LIMIT", 4000, "CELERY_TASK_TIME_LIMIT"),
        ("EXPORT_SOFT_TIME_LIMIT_SECONDS", 3550, "EXPORT_SOFT_TIME_LIMIT_SECONDS"),
    ],
)
def test_the_deploy_check_refuses_a_task_time_past_the_visibility_timeout(
    settings, setting, value, names
):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    assert task_timings_fit_the_broker(None) == []  # the defaults fit
    setattr(settings, setting, value)
    (error,) = task_timings_fit_the_broker(None)
    assert error.id == "jobs.E003" and names in error.msg and "3600" in error.msg


def test_the_deploy_check_refuses_a_send_lease_shorter_than_two_smtp_waits(settings):
    settings.EMAIL_TIMEOUT = 30
    settings.NOTIFY_LEASE_SECONDS = 120
    assert task_timings_fit_the_broker(None) == []
    settings.NOTIFY_LEASE_SECONDS = 60
    (error,) = task_timings_fit_the_broker(None)
    assert error.id == "jobs.E004"


def test_the_deploy_check_refuses_mail_from_a_domain_no_server_accepts(settings):
    settings.EMAIL_HOST = ""
    settings.DEFAULT_FROM_EMAIL = "consult <noreply@consult.localhost>"
    assert mail_names_a_real_domain(None) == []  # mail written to files: anything goes
    settings.EMAIL_HOST = "smtp.example.gov.cn"
    settings.SERVER_EMAIL = "ops@weifang.gov.cn"
    settings.NOTIFY_MESSAGE_ID_DOMAIN = "consult.weifang.gov.cn"
    (error,) = mail_names_a_real_domain(None)
    assert error.id == "jobs.E005" and "DEFAULT_FROM_EMAIL" in error.msg
    settings.DEFAULT_FROM_EMAIL = "市海洋发展和渔业局 <noreply@weifang.gov.cn>"
    assert mail_names_a_real_domain(None) == []
    settings.NOTIFY_MESSAGE_ID_DOMAIN = "consult.localhost"
    (error,) = mail_names_a_real_domain(None)
    assert "NOTIFY_MESSAGE_ID_DOMAIN" in error.msg


def test_expired_sessions_are_deleted_and_live_ones_kept(client):
    # Every visitor of a comment form starts a session (the double-post check); nothing else
    # ever deleted them, and the table grew for the life of the site.
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    now = timezone.now()
    live, expired = SessionStore(), SessionStore()
    live.create()
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=now - datetime.timedelta(seconds=1)
    )

    outcome = jobs.job_run("expired-sessions", now=now)

    assert outcome.ok and outcome.summary == "expired sessions deleted: 1"
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
