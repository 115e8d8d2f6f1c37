"""gunicorn serving the project as a real subprocess, for tests and benchmarks."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from .services import ROOT, free_port, port_open, wait_for


class GunicornProcess:
    """`gunicorn consult.wsgi` on a free loopback port, with the given environment."""

    def __init__(self, env: dict, log_path: Path, *, workers: int = 2):
        self.env = {**env, "WEB_CONCURRENCY": str(workers)}
        self.log_path = log_path
        self.workers = workers
        self.port = free_port()
        self.process = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "consult.wsgi",
                "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
                "--log-level", "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_for(
            lambda: port_open(self.port) or self.process.poll() is not None,
            timeout=60,
            message="gunicorn to listen",
        )
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited at start:\n{self.log_tail()}")

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

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
