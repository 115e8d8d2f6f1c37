"""A real stack per test: its own redis-server, an aiosmtpd sink and a Celery worker process
(with embedded beat for the outbox sweep), all on loopback, against the machine's PostgreSQL.

The test process submits comments through the same service the web form uses; its Celery
app is pointed at the test's Redis, so the after-commit hand-off really goes over the broker.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from consult.celery import app as celery_app
from consult.consultations.directory import directory_changed
from consult.consultations.models import Department
from consult.testing.services import CeleryProcess, RedisServer, SmtpSink, unavailable

# The project's rule: a fault or load test runs on the production defaults, and says why any
# setting differs. These clocks are shortened so retries, leases and the sweep play out in
# seconds instead of hours, keeping the order production has between them (retry delays and
# batches below the lease, everything far below the visibility timeout; the sweep leaving
# fresh rows alone for a few of its own intervals). Production values in brackets.
FAST_CLOCKS = {
    # [30] First retry after a failed send: within a second, so a test sees several rounds.
    "NOTIFY_RETRY_BASE_SECONDS": "0.5",
    # [1800] Longest backoff: a few seconds, well below the lease and the visibility timeout
    # as production's 30 minutes are below its hour.
    "NOTIFY_RETRY_MAX_SECONDS": "2",
    # [120] A killed worker's claimed email is free again after seconds, not two minutes. An
    # email is claimed just before its own send, so the lease has to outlast one send only
    # (connect, then send, each up to EMAIL_TIMEOUT): 12 s against 2 × 5 s here, as 120 s is
    # against 2 × 30 s in production.
    "NOTIFY_LEASE_SECONDS": "12",
    # [120] The sweep leaves a fresh row to its own task this long before re-sending it.
    "NOTIFY_SWEEP_AFTER_SECONDS": "3",
    # [60] Beat runs the outbox sweep every second, so lost publishes are found in seconds
    # (and a sweep that re-sent work still queued or waiting for a retry would show at once).
    "NOTIFY_SWEEP_EVERY_SECONDS": "1",
    # [60] Likewise for the export sweep: an export the broker refused is built within seconds
    # of the broker's return (it too leaves a fresh export NOTIFY_SWEEP_AFTER_SECONDS alone).
    "EXPORT_SWEEP_EVERY_SECONDS": "1",
    # NOTIFY_MAX_ATTEMPTS and NOTIFY_GIVE_UP_AFTER keep their defaults (8 lost workers, 48 h of
    # failure); the test of giving up sets its own give-up time.
    # [3600] A killed worker's unacknowledged tasks come back within the test, and a hand-off
    # lost with its message is re-sent by the sweep after it; still above every retry delay
    # (2.5 s at most) and than any backlog of these tests, as an hour is above 30 minutes in
    # production. A test whose countdowns are longer (the digest window) sets it back.
    "CELERY_VISIBILITY_TIMEOUT": "20",
    # [30] An SMTP connection that hangs gives up well within the lease, as in production.
    "EMAIL_TIMEOUT": "5",
}


@dataclass
class Stack:
    redis: RedisServer
    smtp: SmtpSink
    worker: CeleryProcess
    env: dict
    directory: Path

    def new_worker(self, **options) -> CeleryProcess:
        return CeleryProcess(self.env, self.directory / "worker.log", **options)


def database_url() -> str:
    if connection.vendor != "postgresql":
        unavailable("integration tests need PostgreSQL (DATABASE_URL=postgres://…)")
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


# Settings of the developer's own shell that would change what the worker does.
NOT_INHERITED = (
    "CELERY_", "EMAIL_", "NOTIFY_", "DJANGO_", "CONSULT_", "REMIND_", "DUE_JOBS_", "DIGESTS_",
    "CAMPAIGN_", "PRIVATE_MEDIA_ROOT", "CACHE_URL",
)  # fmt: skip


def worker_env(*, broker: str, smtp_port: int, database: str, var_dir: Path, **overrides) -> dict:
    """The environment of the test's Celery processes. They run with the project's settings,
    whose files (mail, uploads, exports, SQLite) go under `var_dir`, the test's own temporary
    directory, never the checkout's var/."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(NOT_INHERITED)}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "consult.settings",
            "CONSULT_VAR_DIR": str(var_dir),
            "PRIVATE_MEDIA_ROOT": str(var_dir / "private"),
            "DEBUG": "false",
            "SECRET_KEY": "integration-tests-only",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": database,
            "CELERY_BROKER_URL": broker,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "SITE_URL": "http://testserver",
            "LOG_LEVEL": "INFO",
            **FAST_CLOCKS,
            **overrides,
        }
    )
    return env


@pytest.fixture
def broker_for_this_process(settings):
    """Point this process's Celery app at a broker URL; restores eager mode afterwards."""
    saved = {
        key: celery_app.conf[key]
        for key in ("broker_url", "task_always_eager", "broker_transport_options")
    }

    def use(url: str, *, visibility_timeout: int):
        celery_app.conf.broker_url = url
        celery_app.conf.task_always_eager = False
        celery_app.conf.broker_transport_options = {
            **saved["broker_transport_options"],
            "visibility_timeout": visibility_timeout,
        }
        _reset_pools()
        settings.CELERY_TASK_ALWAYS_EAGER = False

    yield use
    for key, value in saved.items():
        celery_app.conf[key] = value
    _reset_pools()


def _reset_pools():
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._after_fork()


@pytest.fixture
def stack(request, transactional_db, tmp_path, broker_for_this_process):
    """The stack; `@pytest.mark.worker_env(NAME="value")` changes the worker's settings."""
    database = database_url()
    marker = request.node.get_closest_marker("worker_env")
    overrides = marker.kwargs if marker else {}
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    with RedisServer(tmp_path / "redis") as redis, SmtpSink() as smtp:
        env = worker_env(
            broker=redis.url, smtp_port=smtp.port, database=database, var_dir=var_dir, **overrides
        )
        broker_for_this_process(redis.url, visibility_timeout=int(env["CELERY_VISIBILITY_TIMEOUT"]))
        worker = CeleryProcess(env, tmp_path / "worker.log", beat=True)
        worker.start()
        stack = Stack(redis=redis, smtp=smtp, worker=worker, env=env, directory=tmp_path)
        try:
            yield stack
        finally:
            # A test may have replaced the worker (killed and restarted it): stop both.
            for process in {id(worker): worker, id(stack.worker): stack.worker}.values():
                process.stop()
            print(stack.worker.log_tail())  # shown by pytest only when the test failed


@pytest.fixture
def weifang_live(transactional_db):
    from tests.conftest import load_weifang

    consultation = load_weifang()
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()  # an update() sends no signal
    return consultation
