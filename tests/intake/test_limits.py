"""Rate limits: one budget per submitter across processes and spellings, counted in one round
trip, and never in the way when the cache fails.

Found before: with 2 workers and 5/m, 10 of 20 API submissions were accepted (each process
had its own memory cache); "+8613500000001", "8613500000001" and "+86-…" each got a fresh
per-phone budget; a request with six counters made about 24 Redis round trips; a stopped
Redis made requests wait seconds and then fail with HTTP 500.
"""

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from django.core.checks import run_checks
from django.test import RequestFactory
from rest_framework.test import APIClient

from consult import cache as shared_cache
from consult.comments.models import Comment
from consult.intake import limits
from consult.testing.services import RedisServer

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def submit(consultation, *, ip="203.0.113.1", phone="", email="", **extra):
    data = {"clause": None, "body": "建议明确集聚区的评价指标并公开评选结果。", "consent": True}
    data.update({key: value for key, value in (("phone", phone), ("email", email)) if value})
    return APIClient().post(
        f"/api/consultations/{consultation.slug}/comments/",
        data,
        format="json",
        REMOTE_ADDR=ip,
        **extra,
    )


def redis_cache_settings(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "consult.cache.FailOpenRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "consult",
        }
    }


@pytest.fixture
def fresh_breaker():
    shared_cache.breaker.reset()
    yield shared_cache.breaker
    shared_cache.breaker.reset()


@pytest.fixture
def redis_server(tmp_path):
    with RedisServer(tmp_path / "redis") as server:
        yield server
        server.thaw()


@pytest.fixture
def on_redis(settings, redis_server, fresh_breaker):
    """The default cache is the production backend on this test's own redis-server."""
    locmem = settings.CACHES
    settings.CACHES = redis_cache_settings(redis_server.url)
    yield redis_server
    settings.CACHES = locmem  # before the server stops: the suite's clean-up clears the cache
    _forget_clients()


def _forget_clients():
    for client in shared_cache._SHARED_CLIENTS.values():
        client.connection_pool.disconnect()
    shared_cache._SHARED_CLIENTS.clear()


class RoundTrips:
    """Counts what redis-py sends: one send per command, or per pipeline."""

    def __init__(self, monkeypatch):
        self.sent = []
        original = redis.connection.AbstractConnection.send_packed_command
        trips = self

        def counting(connection, command, check_health=True):
            trips.sent.append(command)
            return original(connection, command, check_health)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)

    def __len__(self):
        return len(self.sent)


# One budget per phone number, whatever its spelling ---------------------------------------


def test_every_spelling_of_a_phone_number_shares_one_budget(weifang_open, settings, one_window):
    settings.COMMENT_RATE_LIMITS_PER_CONTACT = ["5/m"]
    spellings = [
        "+8613500000001",
        "8613500000001",
        "+86-135-0000-0001",
        "13500000001",
        "135-0000-0001",
        "86 135 0000 0001",
    ]
    codes = [
        submit(weifang_open, ip=f"203.0.113.{n}", phone=phone, email=f"c{n}@example.cn").status_code
        for n, phone in enumerate(spellings)
    ]
    assert codes == [201] * 5 + [429]
    assert Comment.objects.filter(phone="+8613500000001").count() == 5


def test_an_email_is_counted_in_any_case(weifang_open, settings, one_window):
    settings.COMMENT_RATE_LIMITS_PER_CONTACT = ["2/m"]
    codes = [
        submit(weifang_open, ip=f"203.0.113.{n}", email=email).status_code
        for n, email in enumerate(
            ["Office@Example.org", "office@example.org", "OFFICE@example.org"]
        )
    ]
    assert codes == [201, 201, 429]


def test_the_address_limit_refuses_the_sixth_comment_a_minute(weifang_open, one_window):
    codes = [
        submit(weifang_open, email=f"c{n}@example.cn", ip="198.51.100.7").status_code
        for n in range(6)
    ]
    assert codes == [201] * 5 + [429]


def test_one_ipv6_network_shares_the_address_limit(weifang_open, one_window):
    """A host is commonly given a whole /64: one budget for it, not one per address."""
    codes = [
        submit(weifang_open, email=f"c{n}@example.cn", ip=f"2001:db8:5:5::{n + 1:x}").status_code
        for n in range(6)
    ]
    assert codes == [201] * 5 + [429]
    assert submit(weifang_open, email="c9@example.cn", ip="2001:db8:5:6::1").status_code == 201


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("fe80::1%eth0", "fe80::/64"),
        ("not an address", "not an address"),
        # With a port, as some load balancers write X-Forwarded-For.
        ("203.0.113.9:51234", "203.0.113.9"),
        ("[2001:db8:1:2::9]:443", "2001:db8:1:2::/64"),
    ],
)
def test_the_address_a_limit_counts(address, counted_as):
    assert limits.client_network(RequestFactory().get("/", REMOTE_ADDR=address)) == counted_as


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
        ("not an address", "not an address"),
    ],
)
def test_the_address_the_sign_in_lockout_counts(address, counted_as):
    """An address, not a network: the lockout's records store one."""
    request = RequestFactory().get("/", REMOTE_ADDR=address)
    assert limits.client_address_for_lockout(request) == counted_as


def test_without_redis_production_counts_in_the_database_cache(weifang_open, settings, one_window):
    """The table comes with `migrate`; every process reading it shares the counts."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                                   "LOCATION": "consult_cache"}}  # fmt: skip
    codes = [
        submit(weifang_open, email=f"c{n}@example.cn", ip="198.51.100.9").status_code
        for n in range(6)
    ]
    assert codes == [201] * 5 + [429]


def test_with_the_database_cache_a_refused_form_is_counted_as_on_redis(
    client, weifang_open, settings, one_window
):
    """The web form's limit is counted in the comment's transaction (after the repeat check):
    with the database cache, on the same connection, a refusal rolled its own count back."""
    from django.db import connection

    from tests.intake.test_form import form_url, valid

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                                   "LOCATION": "consult_cache"}}  # fmt: skip
    settings.COMMENT_RATE_LIMITS_PER_IP = ["1/d"]
    url = form_url(weifang_open, weifang_open.clauses.get(label="二(一)1"))
    client.get(url)
    codes = [
        client.post(url, valid(body=f"第{n}条意见：建议公开集聚区评选的标准和结果。")).status_code
        for n in range(3)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT hits FROM consult_rate_counter WHERE counter_key LIKE 'rl:comment-ip%%'"
        )
        (hits,) = cursor.fetchone()
    assert codes == [302, 429, 429]
    assert hits == 3


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("5/m", (5, 60)), ("50/d", (50, 86400)), ("1/10s", (1, 10)), (" 3 / h ", (3, 3600))],
)
def test_rates_read_as_count_per_seconds(rate, parsed):
    from consult.cache import rate_parse

    assert rate_parse(rate) == parsed


@pytest.mark.parametrize("rate", ["5 per minute", "5/minute", "10/min", "1/0s"])
def test_a_misspelt_rate_is_an_error(rate):
    from consult.cache import rate_parse

    with pytest.raises(ValueError, match="5/m"):
        rate_parse(rate)


@pytest.mark.parametrize(
    "name",
    [
        "COMMENT_RATE_LIMITS_PER_IP",
        "COMMENT_RATE_LIMITS_PER_CONTACT",
        "STATUS_LOOKUP_RATE_LIMITS",
        "STATUS_LOOKUP_RATE_LIMITS_PER_NUMBER",
    ],
)
def test_a_misspelt_rate_setting_stops_the_site_at_start_naming_it(name):
    """Read per request, "5/minute" passed every check and made every submission a 500."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        {"DJANGO_SETTINGS_MODULE": "consult.settings", "DEBUG": "true", name: "5/m,5/minute"}
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name}: a rate is count/period" in result.stderr
    assert "'5/minute'" in result.stderr


# One cache for every process in production ------------------------------------------------


def production_caches(**environment) -> dict:
    """CACHES as `consult.settings` makes them with DEBUG off and this environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CACHE_", "CELERY_", "DJANGO_", "WEB_CONCURRENCY"))
    }
    env.update({"DEBUG": "false", "SECRET_KEY": "tests-only", **environment})
    code = "import json; from consult import settings; print(json.dumps(settings.CACHES))"
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])["default"]


def test_production_never_counts_in_each_process_s_memory():
    assert production_caches()["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    on_broker = production_caches(CELERY_BROKER_URL="redis://10.0.0.5:6379/0")
    assert on_broker["BACKEND"] == "consult.cache.FailOpenRedisCache"
    assert on_broker["LOCATION"] == "redis://10.0.0.5:6379/0"
    own = production_caches(
        CACHE_URL="redis://10.0.0.6:6379/1", CELERY_BROKER_URL="redis://10.0.0.5:6379/0"
    )
    assert (own["BACKEND"], own["LOCATION"]) == (
        "consult.cache.FailOpenRedisCache",
        "redis://10.0.0.6:6379/1",
    )


def deploy_errors():
    return [message.id for message in run_checks(include_deployment_checks=True, tags=["caches"])]


def test_the_deploy_check_refuses_a_per_process_cache_with_several_web_processes(settings):
    settings.DEBUG = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.WEB_CONCURRENCY = 2
    assert "intake.E001" in deploy_errors()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert "intake.E001" in deploy_errors()

    settings.WEB_CONCURRENCY = 1  # one process: its memory is the only counter there is
    assert "intake.E001" not in deploy_errors()
    settings.WEB_CONCURRENCY = 4
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                                   "LOCATION": "consult_cache"}}  # fmt: skip
    assert "intake.E001" not in deploy_errors()
    settings.CACHES = redis_cache_settings("redis://127.0.0.1:6379/1")
    assert "intake.E001" not in deploy_errors()


def test_manage_py_check_deploy_fails_on_it():
    """The deployment gate itself (`check --deploy`) exits non-zero, naming the check."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update({"DJANGO_SETTINGS_MODULE": "tests.settings", "DEBUG": "false",
                "WEB_CONCURRENCY": "3"})  # fmt: skip
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "caches"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "intake.E001" in result.stderr and "WEB_CONCURRENCY=3" in result.stderr


# One round trip for the counters ----------------------------------------------------------


def test_a_submission_s_counters_take_one_round_trip(on_redis, monkeypatch):
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
    limits.submission_limited(request, phone="13812345678", email="a@example.cn")  # connects
    trips = RoundTrips(monkeypatch)
    assert not limits.submission_limited(request, phone="13812345678", email="a@example.cn")
    assert len(trips) == 1
    commands = trips.sent[0]
    sent = b"".join(commands if isinstance(commands, list) else [commands])
    assert sent.count(b"EVALSHA") == 1 and sent.count(b":rl:comment-") == 6, sent


def test_a_comment_through_the_api_costs_at_most_two_round_trips(
    on_redis, weifang_open, monkeypatch
):
    assert submit(weifang_open, phone="13812345670", email="a@example.cn").status_code == 201
    trips = RoundTrips(monkeypatch)
    response = submit(weifang_open, phone="13812345671", email="b@example.cn", ip="203.0.113.2")
    assert response.status_code == 201
    assert len(trips) <= 2, trips.sent


def test_every_thread_of_a_process_shares_one_client(on_redis):
    """Django makes a cache object per thread; they all use one client and connection pool."""
    from django.core.cache import cache

    clients = []

    def use_the_cache():
        cache.set("key", "value")
        clients.append(cache._cache.get_client(write=True))

    threads = [threading.Thread(target=use_the_cache) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    use_the_cache()
    assert len(clients) == 4 and len({id(client) for client in clients}) == 1


def test_the_counters_count_on_redis(on_redis, weifang_open, one_window):
    codes = [
        submit(weifang_open, email=f"c{n}@example.cn", ip="198.51.100.8").status_code
        for n in range(6)
    ]
    assert codes == [201] * 5 + [429]
    keys = redis.Redis.from_url(on_redis.url).keys("*")
    assert any(key.startswith(b"consult:1:rl:comment-ip:") for key in keys)
    assert not any(b"198.51.100.8" in key for key in keys)  # only digests


def test_clear_leaves_other_keys_of_the_database_alone(on_redis):
    from django.core.cache import cache

    client = redis.Redis.from_url(on_redis.url)
    client.set("celery-queue-entry", "x")  # the broker may share the database
    cache.set("mine", 1)
    cache.clear()
    assert cache.get("mine") is None
    assert client.get("celery-queue-entry") == b"x"


# A dead or frozen cache never blocks or breaks a request -----------------------------------


def test_a_dead_cache_lets_comments_through_and_is_logged_once(
    settings, weifang_open, fresh_breaker, caplog
):
    # A port held bound and never listening refuses every connection, as a dead server's does;
    # a port merely found free could be taken meanwhile by a run beside this one.
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.bind(("127.0.0.1", 0))
    settings.CACHES = redis_cache_settings(f"redis://127.0.0.1:{held.getsockname()[1]}/0")
    settings.CACHE_RETRY_AFTER_SECONDS = 0  # ask the dead server on every request
    caplog.set_level(logging.WARNING, logger="consult.cache")
    try:
        for n in range(3):
            started = time.monotonic()
            response = submit(weifang_open, email=f"c{n}@example.cn")
            assert response.status_code == 201, response.content
            assert time.monotonic() - started < 1.0
    finally:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        _forget_clients()
        held.close()
    assert Comment.objects.count() == 3
    warnings = [record for record in caplog.records if record.name == "consult.cache"]
    assert len(warnings) == 1, [record.getMessage() for record in warnings]
    assert "as if under the rate limits" in warnings[0].getMessage()


def test_a_frozen_cache_costs_one_short_timeout_then_nothing(on_redis, monkeypatch):
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
    assert not limits.submission_limited(request, phone="13812345678", email="a@example.cn")
    on_redis.freeze()
    started = time.monotonic()
    assert not limits.submission_limited(request, phone="13812345678", email="a@example.cn")
    first = time.monotonic() - started
    # Within CACHE_RETRY_AFTER_SECONDS nobody waits on it again: nothing is sent to it (counted,
    # not timed: a 50 ms bound on ten checks was at the mercy of a busy CI machine).
    trips = RoundTrips(monkeypatch)
    started = time.monotonic()
    for _n in range(10):
        assert not limits.submission_limited(request, phone="13812345678", email="a@example.cn")
    # Loosely timed as well: ten waits on the frozen server would take a second.
    assert first < 0.5 and len(trips) == 0 and time.monotonic() - started < 0.9, (first, trips)


def test_the_log_counts_the_failures_at_most_once_a_minute(fresh_breaker, caplog, settings):
    caplog.set_level(logging.WARNING, logger="consult.cache")
    error = redis.TimeoutError("Timeout reading from socket")
    for _n in range(5):
        fresh_breaker.failed("get", error)
    assert len(caplog.records) == 1
    fresh_breaker.logged_at -= 61  # a minute later
    fresh_breaker.failed("counters_hit", error)
    assert len(caplog.records) == 2
    assert "failed 5 time(s)" in caplog.records[1].getMessage()
