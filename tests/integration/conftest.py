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
from consult.consultations.models import Department
from tests.support.services import CeleryProcess, RedisServer, SmtpSink, unavailable

# Short clocks so retries, leases and the sweep play out in seconds, not hours.
FAST_CLOCKS = {
    "NOTIFY_RETRY_BASE_SECONDS": "0.5",
    "NOTIFY_RETRY_MAX_SECONDS": "2",
    "NOTIFY_LEASE_SECONDS": "6",
    "NOTIFY_SWEEP_AFTER_SECONDS": "3",
    "NOTIFY_SWEEP_EVERY_SECONDS": "1",
    "NOTIFY_MAX_ATTEMPTS": "30",
    "CELERY_VISIBILITY_TIMEOUT": "20",
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


def worker_env(*, broker: str, smtp_port: int, database: str, **overrides) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CELERY_", "EMAIL_", "NOTIFY_", "DJANGO_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "consult.settings",
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

    def use(url: str):
        celery_app.conf.broker_url = url
        celery_app.conf.task_always_eager = False
        celery_app.conf.broker_transport_options = {
            **saved["broker_transport_options"],
            "visibility_timeout": int(FAST_CLOCKS["CELERY_VISIBILITY_TIMEOUT"]),
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
    with RedisServer(tmp_path / "redis") as redis, SmtpSink() as smtp:
        env = worker_env(broker=redis.url, smtp_port=smtp.port, database=database, **overrides)
        broker_for_this_process(redis.url)
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
    return consultation
