"""Real services for integration tests, each on its own free loopback port.

Every test that may stop a service starts its own instance; the machine's shared PostgreSQL
and Redis are never stopped. With CI=true a missing program fails the test instead of
skipping it.
"""

import contextlib
import email
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

ROOT = Path(__file__).resolve().parents[2]


def unavailable(message: str):
    """Skip locally, fail in CI: CI must never pass by skipping what it was meant to test."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, timeout: float, interval: float = 0.1, message: str = "condition"):
    """Poll until `predicate()` holds; it is always asked at least once, whatever the timeout."""
    deadline = time.monotonic() + max(timeout, 0)
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}")
        time.sleep(interval)


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


class RedisServer:
    """A private redis-server; stop() and start() keep the port so clients reconnect, and
    freeze() and thaw() stop and resume it without closing anything (SIGSTOP, SIGCONT)."""

    def __init__(self, directory: Path):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            unavailable("redis-server is not installed (Debian package redis-server)")
        self.port = free_port()
        self.directory = directory
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        """Start it; on its first start, on another free port should this one have been taken
        since it was chosen (a test run beside this one picks ports too)."""
        first_start = self.process is None
        for _attempt in range(3):
            self._start_on_port()
            if self._serving():
                return
            self.process.kill()
            self.process.wait(10)
            if not first_start:
                break  # a restart keeps its port, so that clients reconnect to it
            self.port = free_port()
        raise AssertionError(f"redis-server could not listen on a port of its own ({self.port})")

    def _serving(self) -> bool:
        """This process listens on the port: not another's server that took the port first."""
        if self.process.poll() is not None:
            return False
        # No retries, short timeouts: a port held by something that never answers is not ours.
        client = redis.Redis(
            host="127.0.0.1",
            port=self.port,
            socket_timeout=1,
            socket_connect_timeout=1,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            return client.info("server")["process_id"] == self.process.pid
        except redis.RedisError:  # someone else's server, answering otherwise
            return False
        finally:
            client.close()

    def _start_on_port(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for(
                lambda: port_open(self.port) or self.process.poll() is not None,
                timeout=10,
                message="redis-server to listen",
            )
        except AssertionError:
            self.process.kill()  # not left running behind a test that never got to stop it
            self.process.wait(10)
            raise

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()  # SIGKILL ends a frozen server too
            self.process.wait(10)
        wait_for(lambda: not port_open(self.port), timeout=10, message="redis-server to stop")

    def freeze(self):
        """SIGSTOP: the port still accepts connections, and nothing is ever answered."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self):
        """SIGCONT: the server answers again, with everything it held."""
        self.process.send_signal(signal.SIGCONT)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


@dataclass
class ReceivedMessage:
    message_id: str
    to: list[str]
    subject: str
    text: str
    html: str
    raw: bytes = field(repr=False)
    # When the sink accepted it (wall clock, seconds since the epoch): the worker and the test
    # share this machine's clock, so a test can tell whether a message came before a moment.
    received_at: float = 0.0


class SmtpSink:
    """An aiosmtpd server on loopback that keeps every message it accepts.

    `refuse` maps an address to an SMTP reply ("550 …" for good, "451 …" for now), so tests
    can make one recipient undeliverable while the others go through.
    """

    def __init__(self):
        try:
            from aiosmtpd.controller import Controller  # noqa: F401
        except ImportError:  # pragma: no cover - it is in requirements.txt
            unavailable("aiosmtpd is not installed")
        self.port = free_port()
        self.messages: list[ReceivedMessage] = []
        self.connections = 0
        self.refuse: dict[str, str] = {}
        self._lock = threading.Lock()
        self._controller = None
        self._started = False

    def start(self):
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                reply = sink.refuse.get(address.lower())
                if reply:
                    return reply
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                sink._keep(envelope)
                return "250 Message accepted for delivery"

        class CountingController(Controller):
            def factory(self):
                with sink._lock:
                    sink.connections += 1
                return super().factory()

        for attempt in range(3):
            self._controller = CountingController(Handler(), hostname="127.0.0.1", port=self.port)
            try:
                self._controller.start()
                break
            except OSError:
                # Taken since it was chosen (by a test run beside this one): on the first start
                # another port will do; a restart keeps its port, for the clients set up with it.
                if self._started or attempt == 2:
                    raise
                self.port = free_port()
        self._started = True

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _keep(self, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text_part = parsed.get_body(preferencelist=("plain",))
        html_part = parsed.get_body(preferencelist=("html",))
        message = ReceivedMessage(
            message_id=str(parsed["Message-ID"]),
            to=list(envelope.rcpt_tos),
            subject=str(parsed["Subject"]),
            text=text_part.get_content() if text_part else "",
            html=html_part.get_content() if html_part else "",
            raw=envelope.content,
            received_at=time.time(),
        )
        with self._lock:
            self.messages.append(message)

    def received(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self.messages)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class CeleryProcess:
    """`celery worker` (optionally with embedded beat) or `celery beat` as a real subprocess."""

    def __init__(self, env: dict, log_path: Path, *, beat: bool = False, worker: bool = True,
                 concurrency: int = 2, queues: str = "celery,notifications,exports"):  # fmt: skip
        self.queues = queues
        self.env = env
        self.log_path = log_path
        self.beat = beat
        self.worker = worker
        self.concurrency = concurrency
        self.process = None
        self._log = None

    def command(self) -> list[str]:
        schedule = self.log_path.with_suffix(".schedule")
        if not self.worker:
            return [sys.executable, "-m", "celery", "-A", "consult", "beat", "-l", "info",
                    "-s", str(schedule)]  # fmt: skip
        command = [
            sys.executable, "-m", "celery", "-A", "consult", "worker",
            "-Q", self.queues, "-l", "info", "-P", "prefork",
            "-c", str(self.concurrency), "--without-gossip", "--without-mingle",
            "--without-heartbeat", "-n", f"test-{os.getpid()}-{id(self)}@%h",
        ]  # fmt: skip
        if self.beat:
            command += ["-B", "-s", str(schedule)]
        return command

    def start(self):
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        # A replacement process appends to its predecessor's log: look only at what it writes.
        started_at = self.log_path.stat().st_size
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so the pool dies with it
        )
        # A worker says "ready." once it consumes; beat alone says "beat: Starting..." once its
        # scheduler runs. Waiting for that line (not a fixed pause) holds on any machine.
        ready = b"ready." if self.worker else b"beat: Starting..."
        wait_for(
            lambda: (
                ready in self.log_path.read_bytes()[started_at:] or self.process.poll() is not None
            ),
            timeout=60,
            message=f"celery to log {ready.decode()!r}",
        )
        if self.process.poll() is not None:
            raise AssertionError(f"celery exited at start:\n{self.log_tail()}")

    def kill(self):
        """SIGKILL the whole process group: the worker gets no chance to clean up."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log:
            self._log.close()
            self._log = None

    def log_count(self, text: str) -> int:
        """How often `text` occurs in this process's log so far (e.g. beat's "Sending due task")."""
        return self.log_path.read_text(errors="replace").count(text)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
