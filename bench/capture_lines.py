"""The capture proxy's lines: the same client streams from the fake model server directly (the limit
column) and through NovaForge's /v1/ (ours), in alternating turns.

`python -m bench.capture_lines [--quick]` runs these lines alone, on a scratch data directory.
"""

import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

from .http import BASE_DIR, GUNICORN_ASGI, Server, run_together
from .table import Line

THROUGHPUT_ROUNDS = 5
STREAMS_EACH = 16  # replies per client a round (a full run; --quick: 1)


@contextmanager
def fake_upstream():
    """The tests' fake model server in a process of its own (its threads must not share our GIL): its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.capture.fake_upstream"], cwd=BASE_DIR, stdout=subprocess.PIPE, text=True
    )
    try:
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def proxy(upstream_url: str):
    """NovaForge as `make run` serves it, forwarding to `upstream_url`."""
    with Server("novaforge.asgi", {"NOVAFORGE_UPSTREAM_URL": upstream_url, "DEBUG": "0"}, GUNICORN_ASGI) as server:
        yield server


class Endpoint:
    """Where the client sends its completions: host, port, path and headers."""

    def __init__(self, url: str, headers: dict):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.path = parts.path.rstrip("/") + "/chat/completions"
        self.headers = {"Content-Type": "application/json", **headers}
        self.streams = 0  # streamed completions read to their end
        self._counting = threading.Lock()

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=60)


def stream(connection: http.client.HTTPConnection, endpoint: Endpoint, body: bytes) -> tuple[float, int]:
    """One streamed completion read to its end: (seconds until the first text arrived, events read)."""
    began = time.perf_counter()
    connection.request("POST", endpoint.path, body, endpoint.headers)
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"{endpoint.path} answered {response.status}: {response.read()[:300]!r}")
    first_text, events = None, 0
    for line in response:
        if line.startswith(b"data: "):
            events += 1
            if first_text is None and b'"content": "' in line and b'"content": ""' not in line:
                first_text = time.perf_counter()
    with endpoint._counting:
        endpoint.streams += 1
    return first_text - began, events


def _body(model: str, text: str) -> bytes:
    return json.dumps({"model": model, "stream": True, "messages": [{"role": "user", "content": text}]}).encode()


def _percentile(values, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def first_token(direct: Endpoint, ours: Endpoint, *, requests: int, rounds: int) -> list[Line]:
    """Time to first token, one client, requests alternating between the two; each through NovaForge is a
    new conversation (a new session recorded)."""
    samples = {"direct": [], "ours": []}
    connections = {"direct": direct.connect(), "ours": ours.connect()}
    endpoints = {"direct": direct, "ours": ours}
    for number in range(20):  # warm-up: connections, imports, the first session of the user
        for key in samples:
            stream(connections[key], endpoints[key], _body("m", f"warm-up {number}"))
    for number in range(requests * rounds):
        for key in samples:
            seconds, _ = stream(connections[key], endpoints[key], _body("m", f"question {number}"))
            samples[key].append(seconds * 1000)
    for connection in connections.values():
        connection.close()
    lines = []
    for name, fraction, budget in (("p50", 0.5, 2.0), ("p99", 0.99, 10.0)):
        direct_ms, ours_ms = (_percentile(samples[key], fraction) for key in ("direct", "ours"))
        lines.append(
            Line(
                group="Capture proxy",
                name=f"time to first token added by the proxy, {name}",
                unit="ms",
                ours=max(ours_ms - direct_ms, 0.0),  # noise can put the proxied figure below the direct one
                limit=direct_ms,
                targets={"ours": budget},
                note=f"{len(samples['ours'])} streamed completions each way, one client, alternating; the limit "
                f"column is the fake model server's own {name} (direct), ours the proxy's {name} "
                f"({ours_ms:.2f} ms) minus it. Each proxied call records a new session.",
            )
        )
    return lines


def throughput(endpoint: Endpoint, *, clients: int, streams_each: int) -> float:
    """Events per second read by `clients` concurrent clients, each streaming `streams_each` long replies."""
    counts, failures = [], []
    start_line = threading.Barrier(clients + 1)

    def client(number: int):
        connection = endpoint.connect()
        start_line.wait()
        try:
            read = 0
            for turn in range(streams_each):
                read += stream(connection, endpoint, _body("long", f"client {number} turn {turn}"))[1]
            counts.append(read)
        except Exception as error:  # handed to the caller below; a thread's exception would vanish
            failures.append(str(error))
        finally:
            connection.close()

    seconds = run_together([threading.Thread(target=client, args=(number,)) for number in range(clients)], start_line)
    if failures:
        raise RuntimeError(failures[0])
    return sum(counts) / seconds


def _replies_stored() -> int:
    from sessions_app.models import Message

    return Message.objects.filter(role="assistant").count()


def recordings_done(ours: Endpoint) -> None:
    """Wait until the proxy has recorded every completion it relayed, so that no measurement shares the
    machine with the recordings of the one before it."""
    deadline = time.monotonic() + 300
    while _replies_stored() - ours.replies_stored_before < ours.streams:
        if time.monotonic() > deadline:
            raise RuntimeError("the proxy's recordings did not finish within 5 minutes")
        time.sleep(0.02)


def streamed_throughput(direct: Endpoint, ours: Endpoint, *, clients: int, streams_each: int, rounds: int) -> Line:
    results = {"ours": [], "direct": []}
    throughput(ours, clients=clients, streams_each=1)  # warm-up
    for _ in range(rounds):
        for key, endpoint in (("direct", direct), ("ours", ours)):
            recordings_done(ours)
            results[key].append(throughput(endpoint, clients=clients, streams_each=streams_each))
    return Line(
        group="Capture proxy",
        name=f"streamed throughput, {clients} concurrent streams",
        unit="events/s",
        ours=statistics.median(results["ours"]),
        limit=statistics.median(results["direct"]),
        ratios={"limit": statistics.median(o / d for o, d in zip(results["ours"], results["direct"]))},
        targets={"limit": 0.8},
        note=f"{clients} clients each streaming {streams_each} replies of 200 text chunks a round, "
        f"{rounds} rounds; the limit column is the same clients reading the fake model server directly. Each "
        "proxied reply is a new conversation (a session recorded); each measurement starts once the "
        "recordings before it are done.",
    )


def run(bench_token: str, *, ttft_requests: int, streams_each: int, rounds: int, progress) -> list[Line]:
    with fake_upstream() as upstream_url, proxy(upstream_url) as server:
        direct = Endpoint(upstream_url, {})
        ours = Endpoint(f"http://127.0.0.1:{server.port}/v1", {"Authorization": f"Bearer {bench_token}"})
        ours.replies_stored_before = _replies_stored()
        progress("capture proxy: time to first token")
        lines = first_token(direct, ours, requests=ttft_requests, rounds=rounds)
        for clients in (16, 64):
            progress(f"capture proxy: {clients} concurrent streams")
            # Single rounds swing widely on this shared machine: at least THROUGHPUT_ROUNDS of them, long
            # enough (STREAMS_EACH replies per client) that start-up noise does not decide a round.
            lines.append(streamed_throughput(direct, ours, clients=clients, streams_each=streams_each,
                                             rounds=max(rounds, THROUGHPUT_ROUNDS)))  # fmt: skip
    return lines


def main() -> int:
    import tempfile

    quick = "--quick" in sys.argv
    os.environ["NOVAFORGE_DATA_DIR"] = tempfile.mkdtemp(prefix="novaforge-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novaforge.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from .table import render

    user, _ = get_user_model().objects.get_or_create(username="bench")
    token = Token.objects.get_or_create(user=user)[0].key
    lines = run(
        token, ttft_requests=60 if quick else 300, streams_each=1 if quick else STREAMS_EACH, rounds=3,
        progress=lambda step: print(step, file=sys.stderr, flush=True),
    )  # fmt: skip
    print(render(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
