"""Settings read from the environment: a value that cannot be read stops the start naming its
variable (an operator reads one line, not a traceback, and nothing runs half-configured)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Every test starts Django in a child process, which keeps the real time.
pytestmark = pytest.mark.clock_free


def check_with(**variables):
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update({"DJANGO_SETTINGS_MODULE": "consult.settings", "SECRET_KEY": "x" * 50})
    env.update(variables)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"WEB_CONCURRENCY": "abc"}, "ImproperlyConfigured: WEB_CONCURRENCY: invalid literal"),
        ({"REMIND_DAYS_BEFORE_CLOSE": "3,x"}, "ImproperlyConfigured: REMIND_DAYS_BEFORE_CLOSE:"),
        # Read as false before: the operator then met the SECRET_KEY message, or no debug.
        ({"DEBUG": "maybe"}, "ImproperlyConfigured: DEBUG must be true or false, not 'maybe'"),
        ({"REMIND_AT_HOUR": "25"}, "ImproperlyConfigured: REMIND_AT_HOUR is an hour of the day"),
        # A sign slip emptied open consultations' personal data at the next daily run.
        (
            {"PERSONAL_DATA_RETENTION_DAYS": "-40"},
            "ImproperlyConfigured: PERSONAL_DATA_RETENTION_DAYS must be 0 or more, not -40",
        ),
        ({"EXPORT_KEEP_DAYS": "0"}, "ImproperlyConfigured: EXPORT_KEEP_DAYS must be 1 or more"),
        # These passed every check and then failed each request (a cache URL Redis cannot
        # read: 500 on every page) or each email (Django refuses both TLS modes at once).
        ({"DATABASE_URL": "postgres//db.internal/consult"}, "ImproperlyConfigured: DATABASE_URL"),
        ({"DATABASE_URL": "postgres://c@db:port/consult"}, "ImproperlyConfigured: DATABASE_URL"),
        ({"CACHE_URL": "dbcache://consult_cache"}, "ImproperlyConfigured: CACHE_URL must be"),
        ({"LOG_LEVEL": "verbose"}, "ImproperlyConfigured: LOG_LEVEL must be DEBUG, INFO"),
        ({"CACHE_URL": "127.0.0.1:6379/1"}, "ImproperlyConfigured: CACHE_URL must be a Redis"),
        (
            {"EMAIL_HOST": "smtp.example.cn", "EMAIL_USE_TLS": "true", "EMAIL_USE_SSL": "true"},
            "ImproperlyConfigured: EMAIL_USE_TLS (STARTTLS",
        ),
    ],
)
def test_a_value_that_cannot_be_read_stops_the_start_naming_it(variables, message):
    result = check_with(**variables)
    assert result.returncode != 0
    assert message in result.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    ("variable", "value", "bound"),
    [
        # -1 took the client's own X-Forwarded-For entry as its address: rate limits and the
        # login lockout no longer held.
        ("TRUSTED_PROXY_COUNT", "-1", "0 or more"),
        # redis-py makes a socket with timeout 0 non-blocking: every cache call failed at once.
        ("CACHE_TIMEOUT_SECONDS", "0", "more than 0"),
        ("CACHE_TIMEOUT_SECONDS", "-0.5", "more than 0"),
        ("EMAIL_TIMEOUT", "0", "1 or more"),
        # 0 turned the lockout off: axes deleted each failure as it counted it.
        ("LOGIN_LOCKOUT_MINUTES", "0", "1 or more"),
        ("LOGIN_LOCKOUT_MINUTES", "-1", "1 or more"),
        ("LOGIN_FAILURE_LIMIT", "0", "1 or more"),
        # A sign-in that expires as it is made: nobody could stay signed in.
        ("SESSION_HOURS", "0", "1 or more"),
        ("WEB_MAX_CONCURRENT_REQUESTS", "-1", "0 or more"),
        ("WEB_CONCURRENCY", "0", "1 or more"),
        # A day of 0 or less was skipped without a word: no closing reminder at all.
        ("REMIND_DAYS_BEFORE_CLOSE", "-3", "1 or more"),
        ("REMIND_DAYS_BEFORE_ANSWER_DEADLINE", "5,0", "1 or more"),
        ("REMIND_OVERDUE_EVERY_DAYS", "0", "1 or more"),
        ("DIGESTS_EVERY_SECONDS", "0", "more than 0"),
        ("NOTIFY_DELIVERY_BATCH_SIZE", "0", "1 or more"),
        ("NOTIFY_RETRY_BASE_SECONDS", "0", "more than 0"),
        ("EXPORT_MAX_ATTEMPTS", "0", "1 or more"),
        ("CONN_MAX_AGE", "-5", "0 or more"),
        # A share of the wording: 0 made every comment one campaign, 1.5 grouped none.
        ("CAMPAIGN_SIMILARITY", "0", "more than 0"),
        ("CAMPAIGN_SIMILARITY", "1.5", "1 or less"),
    ],
)
def test_a_number_out_of_its_range_stops_the_start_naming_it(variable, value, bound):
    """These passed `check --deploy` and quietly switched a feature off."""
    # CONN_MAX_AGE is read for PostgreSQL alone (check does not connect): named here, so the
    # run without PostgreSQL reads it too.
    database = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/consult"}
    result = check_with(
        **{variable: value},
        EMAIL_HOST="smtp.example.cn",
        **(database if variable == "CONN_MAX_AGE" else {}),
    )
    assert result.returncode != 0
    assert (
        f"ImproperlyConfigured: {variable} must be {bound}, not" in result.stderr.splitlines()[-1]
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRUSTED_PROXY_COUNT", "0"),  # the socket's address: no proxy in front
        ("WEB_MAX_CONCURRENT_REQUESTS", "0"),  # no load shedding
        ("WEB_MAX_WAITING_REQUESTS", "0"),
        ("LOGIN_LOCKOUT_MINUTES", "1"),
        ("PERSONAL_DATA_RETENTION_DAYS", "0"),
        ("SECURE_HSTS_SECONDS", "0"),
        ("CACHE_TIMEOUT_SECONDS", "0.05"),
        ("REMIND_DAYS_BEFORE_CLOSE", "7,3,1"),
    ],
)
def test_the_documented_edge_values_still_start(variable, value):
    result = check_with(**{variable: value})
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("level", ["warn", "WARNING", "fatal", "debug"])
def test_every_level_logging_knows_is_a_log_level(level):
    assert check_with(LOG_LEVEL=level).returncode == 0


@pytest.mark.parametrize("debug", ["true", "True", "1", "yes", "false", "0", ""])
def test_the_usual_ways_of_saying_yes_and_no_still_read(debug):
    assert check_with(DEBUG=debug).returncode == 0


def test_a_fresh_clone_reaches_its_embedded_database_before_make_run(tmp_path):
    """`DEBUG=true manage.py migrate` on a fresh clone failed: "unable to open database file",
    for want of the var/ directory `make run` creates."""
    var = tmp_path / "fresh-clone" / "var"
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.pop("DATABASE_URL", None)
    env.update(DJANGO_SETTINGS_MODULE="consult.settings", DEBUG="true", CONSULT_VAR_DIR=str(var))
    result = subprocess.run(
        [sys.executable, "manage.py", "showmigrations", "notifications"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "[ ] 0001_initial" in result.stdout and (var / "consult.sqlite3").exists()


def test_the_wsgi_module_imports_as_gunicorn_imports_it(tmp_path):
    """gunicorn imports consult.wsgi before Django's apps are loaded: a module it imports on
    the way that defines or imports a model stops every worker from booting ("Apps aren't
    loaded yet"), which only the integration tests' gunicorn saw."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update({"DEBUG": "true", "SECRET_KEY": "x", "CONSULT_VAR_DIR": str(tmp_path)})
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", "import consult.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
