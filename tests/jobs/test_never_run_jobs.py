"""A periodic job that has never run is noticed: once its health has been read for longer than
three of its intervals (Celery beat, or cron's run_due_jobs, was never started), the admin
index, check_workers and /healthz/jobs say so, naming the job."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from consult.jobs import services as jobs
from consult.jobs.models import JobStatus

pytestmark = pytest.mark.django_db

RETENTION = "personal-data-retention"  # daily: the job whose absence goes unseen longest
SECOND = datetime.timedelta(seconds=1)


def grace(name) -> datetime.timedelta:
    return jobs.OVERDUE_AFTER_INTERVALS * jobs.job_get(name).every


def at(moment):
    """The clock stands still at `moment` (what the view and the command read)."""
    return time_machine.travel(moment, tick=False)


def states(now) -> dict[str, str]:
    return {job.name: job.state for job in jobs.jobs_health(now=now)}


def test_a_job_never_run_is_not_overdue_within_its_grace_period():
    start = timezone.now()
    assert set(states(start).values()) == {"not run yet"}
    assert jobs.jobs_overdue(now=start) == []
    assert states(start + grace(RETENTION))[RETENTION] == "not run yet"


def test_a_job_never_run_is_overdue_three_intervals_after_its_health_was_first_read():
    start = timezone.now()
    jobs.jobs_health(now=start)
    # Later reads keep the first one's time: reading often does not put the moment off.
    assert states(start + datetime.timedelta(hours=1))[RETENTION] == "not run yet"
    late = start + grace(RETENTION) + SECOND
    assert states(late)[RETENTION] == "never run"
    overdue = {job.name: job for job in jobs.jobs_overdue(now=late)}
    assert set(overdue) == {job.name for job in jobs.jobs_registered()}
    assert not overdue[RETENTION].has_run and overdue[RETENTION].first_seen_at == start
    assert JobStatus.objects.get(name=RETENTION).first_run_at is None


def test_each_job_counts_its_own_intervals_from_the_first_read():
    """The 30-second campaign job is missed after a few minutes, the daily purge only after
    three days: one reading shows both states."""
    start = timezone.now()
    jobs.jobs_health(now=start)
    hour_later = states(start + datetime.timedelta(hours=1))
    assert hour_later["campaigns"] == "never run"
    assert hour_later[RETENTION] == "not run yet"


def test_a_job_that_runs_after_being_seen_counts_from_its_run():
    start = timezone.now()
    jobs.jobs_health(now=start)
    ran = start + grace(RETENTION) - SECOND
    assert jobs.job_run(RETENTION, now=ran).ok
    status = JobStatus.objects.get(name=RETENTION)
    assert (status.first_seen_at, status.first_run_at, status.last_started_at) == (
        start,
        ran,
        ran,
    )
    assert states(start + grace(RETENTION) + SECOND)[RETENTION] == "ok"
    assert states(ran + grace(RETENTION) + SECOND)[RETENTION] == "overdue"


def test_a_fresh_install_whose_jobs_run_is_healthy_from_the_start(client):
    """`make run`: the site may be looked at before run_due_jobs' first round; neither is
    reported as failing."""
    start = timezone.now()
    with at(start):
        response = client.get("/healthz")
        # Load balancers that probe with HEAD (HAProxy's default) were answered 405: every
        # backend marked down.
        probed = client.head("/healthz")
    assert response.status_code == 200 and probed.status_code == 200
    assert {job["state"] for job in response.json()["jobs"].values()} == {"not run yet"}
    with at(start + datetime.timedelta(seconds=5)):
        call_command("run_due_jobs")
    with at(start + datetime.timedelta(seconds=60)):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert {job["state"] for job in response.json()["jobs"].values()} == {"ok"}


def test_healthz_jobs_tells_never_run_from_not_run_yet_and_fails_for_it(client):
    start = timezone.now()
    with at(start):
        assert client.get("/healthz/jobs").status_code == 200
    with at(start + datetime.timedelta(hours=1)):
        response = client.get("/healthz/jobs")
        balanced = client.get("/healthz")
    # The load balancer's check reports it but keeps the web node in service.
    assert balanced.status_code == 200
    assert balanced.json()["jobs_status"] == "overdue"
    assert balanced.json()["jobs"]["campaigns"]["state"] == "never run"
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["jobs"]["campaigns"] == {
        "state": "never run",
        "last_succeeded_at": None,
        "failures_in_a_row": 0,
    }
    assert body["jobs"][RETENTION]["state"] == "not run yet"
    with at(start + grace(RETENTION) + SECOND):
        assert client.get("/healthz").json()["jobs"][RETENTION]["state"] == "never run"


def test_check_workers_names_the_job_that_never_ran(capsys):
    start = timezone.now()
    with at(start):
        call_command("check_workers")
    assert f"job {RETENTION}: not run yet" in capsys.readouterr().out
    with at(start + grace(RETENTION) + SECOND), pytest.raises(CommandError) as raised:
        call_command("check_workers")
    assert f"job {RETENTION} never run" in str(raised.value)
    err = capsys.readouterr().err
    assert f"job {RETENTION}: never run" in err and "NEVER RUN" in err


def test_the_admin_index_warns_of_a_job_that_never_ran(client):
    root = User.objects.create_superuser("root", "root@example.cn", "pw")
    client.force_login(root)
    start = timezone.now()
    with at(start):
        assert 'id="job-health"' not in client.get("/admin/").content.decode()
    with at(start + grace(RETENTION) + SECOND):
        client.force_login(root)  # days later: a sign-in lasts SESSION_HOURS
        page = client.get("/admin/").content.decode()
    assert 'id="job-health"' in page
    assert f"定时任务“{RETENTION}”从未运行（自 " in page
    assert "请确认 Celery beat 或 run_due_jobs 已经启动" in page


def test_a_restored_backup_keeps_the_time_its_jobs_were_first_seen():
    """The rows travel with the database: a copy whose jobs never ran on the original install
    says so at once, rather than granting a new grace period."""
    long_ago = timezone.now() - datetime.timedelta(days=30)
    JobStatus.objects.create(name=RETENTION, first_seen_at=long_ago)
    assert states(timezone.now())[RETENTION] == "never run"


@pytest.mark.parametrize("every", ["-5", "0", "nan", "soon", "inf", "1e309", "86401"])
def test_run_due_jobs_refuses_an_interval_that_is_not_one(every):
    """-5 (and inf) ran every job once and then died in time.sleep with a traceback; 0 ran them
    once."""
    with pytest.raises(CommandError, match="a number of seconds above 0"):
        call_command("run_due_jobs", "--every", every)
    assert not JobStatus.objects.exists()
