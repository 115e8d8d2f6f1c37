"""gunicorn serving the project as a real subprocess, for tests and benchmarks."""

import http.client
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from .services import ROOT, wait_for


class GunicornProcess:
    """`gunicorn consult.wsgi` on a free loopback port, with the given environment.

    The port is bound here and its socket handed to gunicorn (`--bind fd://`): a port chosen
    free and bound later could be taken in between by a test run beside this one, whose server
    would then answer for this one.
    """

    def __init__(self, env: dict, log_path: Path, *, workers: int = 2):
        self.env = {**env, "WEB_CONCURRENCY": str(workers)}
        self.log_path = log_path
        self.workers = workers
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(2048)
        self.port = self._socket.getsockname()[1]
        self.process = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        if self._socket.fileno() == -1:  # started before: the same port again
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind(("127.0.0.1", self.port))
            self._socket.listen(2048)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "consult.wsgi",
                "--workers", str(self.workers), "--bind", f"fd://{self._socket.fileno()}",
                "--log-level", "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=[self._socket.fileno()],
        )  # fmt: skip
        try:
            wait_for(
                lambda: self._answers() or self.process.poll() is not None,
                timeout=60,
                message="gunicorn to answer",
            )
        except AssertionError:
            self.stop()  # its own session: nothing else would end it and its workers
            raise
        # Gunicorn holds the socket now; closed here too, a stopped server's port refuses.
        self._socket.close()
        if self.process.poll() is not None:
            self.stop()
            raise AssertionError(f"gunicorn exited at start:\n{self.log_tail()}")

    def _answers(self) -> bool:
        """Any HTTP answer: the socket accepts connections before gunicorn serves them."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return True
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        if self._log:
            self._log.close()
            self._log = None
        self._socket.close()  # when gunicorn never answered

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
