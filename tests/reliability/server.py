"""A real gunicorn serving NovaForge (as `make run` does) against the test database, in its own process group.

Tests that talk to it share rows with another process, so they need `transactional_db`: nothing they
write is hidden in an open test transaction.
"""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def database_url_of_this_run() -> str:
    """The URL of the database this test run actually uses (Django renamed it when it created it)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{host}/{db['NAME']}"


def is_sqlite() -> bool:
    return connection.vendor == "sqlite"


def integrity_check(path) -> list[tuple]:
    """SQLite's full integrity check, from a new connection as a restarted server would open."""
    with sqlite3.connect(path) as check:
        return check.execute("PRAGMA integrity_check").fetchall()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """`gunicorn novaforge.asgi` on a free loopback port, `threads` serving pages and the API in each
    worker; `kill()` is SIGKILL to every process of it."""

    def __init__(self, *, data_dir: Path, workers: int = 1, threads: int = 8, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / f"gunicorn-{self.port}.log"
        self.process_env = {
            **os.environ,
            "DATABASE_URL": database_url_of_this_run(),
            "NOVAFORGE_DATA_DIR": str(data_dir),
            "SECRET_KEY": "reliability-tests-" + "k" * 50,
            "DEBUG": "0",
            "SECURE_COOKIES": "0",
            "NOVAFORGE_THREADS": str(threads),
            **(env or {}),
        }
        self.command = [
            sys.executable, "-m", "gunicorn", "novaforge.asgi", "--worker-class", "uvicorn_worker.UvicornWorker",
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
            "--timeout", "60", "--graceful-timeout", "5",
        ]  # fmt: skip
        self.process = None

    def start(self, *, ready_within: float = 60) -> "Gunicorn":
        with open(self.log_path, "ab") as log:
            # A new session: the master and its workers form one process group that kill() takes down whole.
            self.process = subprocess.Popen(
                self.command, cwd=BASE_DIR, env=self.process_env, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                # Any answer will do (production settings redirect plain HTTP to HTTPS); do not follow it.
                if requests.get(self.url + "/accounts/login/", timeout=10, allow_redirects=False).status_code < 500:
                    return self
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {ready_within}s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the master and every worker at once: no shutdown code runs, as in a power cut."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
