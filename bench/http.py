"""Gunicorn as the README serves NovaForge (one worker process, 8 threads), and concurrent HTTP clients."""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
GUNICORN = ["--workers", "1", "--threads", "8", "--log-level", "warning"]
# `make run`'s server: the capture proxy's streams need the event loop of uvicorn's worker.
GUNICORN_ASGI = ["--workers", "1", "--worker-class", "uvicorn_worker.UvicornWorker", "--log-level", "warning"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`app` (a WSGI path such as novaforge.wsgi) under gunicorn, for the life of a `with` block."""

    def __init__(self, app: str, env: dict | None = None, options: list[str] = GUNICORN):
        self.app = app
        self.env = {**os.environ, **(env or {})}
        self.port = _free_port()
        self.options = options

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", self.app, "--bind", f"127.0.0.1:{self.port}", *self.options],
            cwd=BASE_DIR, env=self.env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.app} exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.process.kill()
        raise RuntimeError(f"gunicorn {self.app} did not listen within 60 s")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Load:
    seconds: float
    latencies: list[float]  # seconds per request
    answers: list[bytes]


def post(port: int, path: str, body, headers: dict) -> bytes:
    """One POST; raises on an answer outside 2xx."""
    return run_clients(port, [[(path, body)]], headers).answers[0]


def run_clients(port: int, work: list[list[tuple[str, object]]], headers: dict) -> Load:
    """Each list in `work` is one client's (path, JSON body or None for a GET) requests, sent in order on one keep-alive
    connection; clients run concurrently. Returns the wall time and every request's latency."""
    headers = {"Content-Type": "application/json", **headers}
    latencies: list[float] = []
    answers: list[bytes] = []
    failures: list[str] = []
    lock = threading.Lock()
    bodies = [[(path, None if body is None else json.dumps(body).encode()) for path, body in requests] for requests in work]
    start_line = threading.Barrier(len(bodies) + 1)

    def client(requests):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine, replies = [], []
        start_line.wait()
        try:
            for path, body in requests:
                began = time.perf_counter()
                connection.request("GET" if body is None else "POST", path, body, headers)
                response = connection.getresponse()
                reply = response.read()
                mine.append(time.perf_counter() - began)
                if not 200 <= response.status < 300:
                    raise RuntimeError(f"{path} answered {response.status}: {reply[:300]!r}")
                replies.append(reply)
        except Exception as error:  # handed to the caller below; a thread's exception would vanish
            failures.append(str(error))
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)
                answers.extend(replies)

    seconds = run_together([threading.Thread(target=client, args=(requests,)) for requests in bodies], start_line)
    if failures:
        raise RuntimeError(failures[0])
    return Load(seconds=seconds, latencies=latencies, answers=answers)


def run_together(threads: list[threading.Thread], start_line: threading.Barrier) -> float:
    """Start `threads`, which wait at `start_line` once ready; the seconds from there until all are done."""
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began
