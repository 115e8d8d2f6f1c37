import datetime
import gc
import os
import tempfile
import threading
import time
import traceback
import warnings
from pathlib import Path

import pytest
import time_machine
from django.core.cache import cache
from hypothesis.configuration import set_hypothesis_home_dir

from consult.notifications import outbox
from consult.testing.weifang import load_weifang

ROOT = Path(__file__).resolve().parents[1]

# Hypothesis keeps its examples and caches for the next run, outside the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "consult-hypothesis")

# The clock is an input of the suite: CONSULT_TEST_CLOCK=2030-02-28T23:30:00+08:00 starts
# every test at that instant, with the clock ticking from there. Unset, tests run at the
# real time. CI runs the suite at several hostile instants (see .ci/run).
TEST_CLOCK_VARIABLE = "CONSULT_TEST_CLOCK"


def suite_clock_start() -> datetime.datetime | None:
    value = os.environ.get(TEST_CLOCK_VARIABLE, "").strip()
    if not value:
        return None
    try:
        start = datetime.datetime.fromisoformat(value)
    except ValueError as error:
        raise pytest.UsageError(f"{TEST_CLOCK_VARIABLE}={value!r}: {error}") from error
    if start.tzinfo is None:
        raise pytest.UsageError(
            f"{TEST_CLOCK_VARIABLE}={value!r} needs a UTC offset, e.g. 2030-02-28T23:30:00+08:00"
        )
    return start


SUITE_CLOCK_START = suite_clock_start()


def pytest_configure(config):
    _connections_traced()


def _connections_traced():
    """Each Django connection remembers the test, thread and code that opened it, so that the
    teardown can name whatever left a session open (see `_holders_here`)."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    connect = BaseDatabaseWrapper.connect
    if getattr(connect, "consult_traced", False):
        return

    def traced(self):
        connect(self)
        try:  # diagnostics only: never the reason a connection fails
            ours = [
                f"{Path(frame.filename).relative_to(ROOT)}:{frame.lineno} {frame.name}"
                for frame in traceback.extract_stack()[:-1]
                if frame.filename.startswith(f"{ROOT}{os.sep}") and "/.venv/" not in frame.filename
            ]
            self.consult_opened_by = (
                f"opened in {os.environ.get('PYTEST_CURRENT_TEST', 'no test')}"
                f" by thread {threading.current_thread().name} at {' < '.join(ours[::-1][:6])}"
            )
        except Exception as error:
            self.consult_opened_by = f"opened where the suite could not tell: {error!r}"

    traced.consult_traced = True
    BaseDatabaseWrapper.connect = traced


def pytest_report_header(config):
    if SUITE_CLOCK_START is None:
        return "clock: real time"
    beijing = SUITE_CLOCK_START.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    return f"clock: every test starts at {SUITE_CLOCK_START.isoformat()} ({beijing:%F %T} Beijing)"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)
        if "tests/integration/" in item.nodeid:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _suite_clock():
    """First of all fixtures, so everything a test builds sees the suite's clock."""
    if SUITE_CLOCK_START is None:
        yield
        return
    with time_machine.travel(SUITE_CLOCK_START, tick=True):
        yield


@pytest.fixture(autouse=True)
def _isolated_state(_suite_clock, settings, tmp_path):
    """Every test starts with empty rate-limit counters, no kept directories, its own
    private file storage and the site's language."""
    from django.utils import translation

    from consult.comments.directory import directories_forget
    from consult.notifications.outbox import broker_breaker

    cache.clear()
    # LocaleMiddleware leaves the language of a test client's request active in the thread
    # (as in a server, where the next request sets its own); what a later test writes in the
    # site's language (a history event) must not come out in English.
    translation.activate(settings.LANGUAGE_CODE)
    # Each test's database is new; a directory kept by an earlier test must not serve it.
    directories_forget()
    broker_breaker.closed_until = 0.0
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }
    yield
    cache.clear()


# The suite writes nothing into the checkout's var/ (the demo's database, mail, uploads):
# compared before and after the run, and the run fails when anything changed there.
VAR = ROOT / "var"


def var_snapshot() -> dict[str, tuple[int, int]]:
    if not VAR.exists():
        return {}
    return {
        str(path.relative_to(VAR)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in VAR.rglob("*")
        if path.is_file()
    }


@pytest.fixture
def one_window():
    """The clock held still for the test: the limits count in fixed windows, and submissions
    straddling a minute's end were counted in two (a test that failed now and then, by the
    second it ran at)."""
    with time_machine.travel(datetime.datetime.now(tz=datetime.UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's, with the notification publisher's thread stopped before the test
    database is dropped: its connection, kept open for a second when idle, would stop the
    DROP DATABASE ("being accessed by other users") and leave the database behind."""
    yield
    if not outbox.publisher.stop(10):
        warnings.warn("the notification publisher did not stop within 10 s", stacklevel=1)
    try:
        with django_db_blocker.unblock():
            collected = _sessions_closed_by_garbage_collection()
            leftover = _other_sessions_ended()
    except Exception as error:  # tidying up must not fail a run whose tests passed
        collected, leftover = 0, [f"not checked: {error!r}"]
    if collected:
        warnings.warn(
            f"{collected} session(s) on the test database closed only by garbage collection:"
            " a thread that used the database ended without closing its connection",
            stacklevel=1,
        )
    if leftover:
        # Ended so that the database is dropped; named so that whatever left them is found,
        # with the threads still alive in this process (one of them may hold it).
        threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
        warnings.warn(
            f"sessions still open on the test database: {leftover}; threads alive: {threads}",
            stacklevel=1,
        )


def _sessions_closed_by_garbage_collection() -> int:
    """How many other sessions closed once unreachable objects were collected: a connection
    of a thread that ended without closing it waits for the cyclic garbage collector (Django's
    connection objects hold reference cycles)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0

    def count() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0]

    before = count()
    if not before:
        return 0
    gc.collect()
    deadline = time.monotonic() + 2
    while (after := count()) >= before and time.monotonic() < deadline:
        time.sleep(0.1)
    return before - after


def _other_sessions_ended() -> list:
    """End the other sessions still open on the test database (PostgreSQL), returning what
    each was: a thread or process a test started and never closed."""
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        return []
    others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, application_name, state, left(query, 120), backend_start, state_change,"
            f" client_port {others}"
        )
        sessions = cursor.fetchall()
        try:
            leftover = [(*row[1:], *_holders_of(row[0], row[-1])) for row in sessions]
        finally:  # ended whatever naming them found, or the test database is not dropped
            if sessions:
                cursor.execute(f"SELECT pg_terminate_backend(pid) {others}")
    connections.close_all()
    return leftover


def _holders_of(backend_pid: int, port) -> list[str]:
    """Who holds a session's client end, as far as can be told here (diagnostics only: a
    failure to tell is said, not raised)."""
    try:
        return [_process_with_port(port), *_holders_here(backend_pid)]
    except Exception as error:
        return [f"not found: {error!r}"]


def _process_with_port(port) -> str:
    """Which local process holds the client end of a session (by its TCP port): this one (a
    thread or an object here) or a child some test started."""
    if not port or port < 0:
        return "not over TCP"
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:  # no /proc (not Linux), or another network namespace than PostgreSQL's
        return "no local socket has that port"
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        if _held_sockets(process) & inodes:
            try:
                command = (process / "cmdline").read_bytes().replace(b"\0", b" ")[:160]
            except OSError:
                command = b"?"
            mine = " (this process)" if int(process.name) == os.getpid() else ""
            return f"pid {process.name}{mine}: {command.decode(errors='replace')}"
    return "no local process holds it"


def _holders_here(backend_pid: int) -> list[str]:
    """The Django connection in this process that holds the session, and its thread."""
    import psycopg
    from django.db.backends.base.base import BaseDatabaseWrapper

    raw = [
        obj
        for obj in gc.get_objects()
        # By type(): isinstance() would ask a lazy object for its __class__, and evaluate it.
        if issubclass(type(obj), psycopg.Connection)
        and not obj.closed
        and obj.info.backend_pid == backend_pid
    ]
    alive = {thread.ident: thread.name for thread in threading.enumerate()}
    return [
        f"Django's {wrapper.alias!r} of thread {wrapper._thread_ident}"
        f" ({alive.get(wrapper._thread_ident, 'ended')}),"
        f" {getattr(wrapper, 'consult_opened_by', 'opened before the suite traced it')}"
        if wrapper is not None
        else "a psycopg connection outside Django's"
        for connection in raw
        for wrapper in [
            next(
                (
                    obj
                    for obj in gc.get_objects()
                    if issubclass(type(obj), BaseDatabaseWrapper) and obj.connection is connection
                ),
                None,
            )
        ]
    ]


def _held_sockets(process: Path) -> set:
    held = set()
    try:
        descriptors = list((process / "fd").iterdir())
    except OSError:
        return held
    for descriptor in descriptors:
        try:  # one may close while they are read (this process's own directory listing)
            held.add(os.readlink(descriptor))
        except OSError:
            continue
    return held


def pytest_sessionstart(session):
    session.config._var_before = var_snapshot()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_var_before", None)
    if before is None:
        return
    after = var_snapshot()
    changed = sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"the suite wrote into {VAR}: {', '.join(changed[:10])}"
        if reporter:
            reporter.write_line(f"FAILED isolation: {message}", red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def weifang_open(db):
    return load_weifang()
