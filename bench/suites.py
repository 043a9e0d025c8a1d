"""The measured lines. Each runs ours, the limit and the peer in the same process and the same minute,
in rounds back to back, so the machine's drift hits all columns alike; figures are medians over rounds."""

import json
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from sessions_app import services
from sessions_app.logging_system import LoggingSystem
from sessions_app.models import ChatSession
from sessions_app.services import NewMessage

from . import capture_lines, corpus_lines, import_lines, loaders
from . import peer as peers
from .corpus import Corpus
from .http import Server, run_clients
from .limit import Plain
from .table import Line


@dataclass(frozen=True)
class Sizes:
    single: int  # messages appended one by one, per round and column
    batch: int  # messages appended 1,000 a call, per round and column
    http_batch: int  # messages posted 100 a request, per round and server
    http_single: int  # messages posted one a request, per round and server
    load: int  # messages in the session loaded whole
    list_sessions: int  # sessions of the user whose list is paged
    clients: int = 4  # concurrent HTTP clients
    rounds: int = 3
    repeats: int = 7  # loads and list pages timed per round
    corpus: int = 1_000_000  # messages for export, search and analytics
    memory_items: int = 200_000  # long-term memory items for memory search
    capture_requests: int = 300  # streamed completions a round, each way, for time to first token
    capture_streams: int = capture_lines.STREAMS_EACH  # long streams each concurrent client reads a round


# A few of everything: proves every line runs (the smoke test in `make test`); its figures mean little.
SMOKE = Sizes(single=10, batch=1000, http_batch=200, http_single=20, load=200, list_sessions=200, rounds=1,
              repeats=2, corpus=2000, memory_items=500, capture_requests=10, capture_streams=1)
FULL = Sizes(single=500, batch=20_000, http_batch=20_000, http_single=1000, load=10_000, list_sessions=100_000)
QUICK = Sizes(single=60, batch=2000, http_batch=1000, http_single=100, load=1000, list_sessions=2000,
              repeats=3, corpus=20_000, memory_items=5000, capture_requests=60, capture_streams=1)


def _median_ratio(pairs) -> float:
    return statistics.median(a / b for a, b in pairs)


def _percentile(values, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Bench:
    """What every line shares: the corpus, the benchmark user, the plain connection, the peers."""

    def __init__(self, sizes: Sizes, data_dir: Path):
        self.sizes = sizes
        self.data_dir = data_dir
        self.corpus = Corpus()
        self.database = settings.DATABASES["default"]
        self.is_sqlite = self.database["ENGINE"].endswith("sqlite3")
        self.plain = Plain(self.database)
        self.logging = LoggingSystem(user="bench", create_user=True)
        self.user = self.logging.user
        self.token = Token.objects.get_or_create(user=self.user)[0].key
        self.peer_ready = peers.available()
        self.peers = {}
        if self.peer_ready:
            if self.is_sqlite:
                self.peers["peer"] = peers.Peer(f"sqlite:///{data_dir / 'langchain.sqlite3'}", our_pragmas=False)
                self.peers["peer_pragmas"] = peers.Peer(
                    f"sqlite:///{data_dir / 'langchain_wal.sqlite3'}", our_pragmas=True)
            else:
                db = self.database
                self.peers["peer"] = peers.Peer(
                    f"postgresql+psycopg://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}"
                    f"/{db['NAME']}", our_pragmas=False)
        self.counter = 0

    def close(self):
        self.plain.close()
        for peer in self.peers.values():
            peer.close()

    def peer_cells(self, key: str, value):
        if not self.peer_ready:
            return peers.NOT_INSTALLED
        if key not in self.peers:
            return "n/a on PostgreSQL"
        return value

    def new_session(self, title: str) -> ChatSession:
        return services.start_session(owner=self.user, title=title)

    def unique(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    @property
    def plain_database(self) -> str:
        keys = ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")
        return json.dumps({key: str(self.database.get(key) or "") for key in keys})


def _rounds(bench: Bench, contenders: dict) -> dict:
    """Run every contender once per round, in turn; returns each one's list of per-round results."""
    results = {key: [] for key in contenders}
    for _ in range(bench.sizes.rounds):
        for key, run in contenders.items():
            results[key].append(run())
    return results


def _line(bench: Bench, group: str, name: str, unit: str, results: dict, targets: dict, note: str = "",
          faster_is_higher: bool = True) -> Line:
    ours = results["ours"]

    def ratio(key):
        if key not in results:
            return None
        pairs = zip(ours, results[key]) if faster_is_higher else zip(results[key], ours)
        return _median_ratio(pairs)

    def figure(key):
        return statistics.median(results[key]) if key in results else None

    return Line(
        group=group, name=name, unit=unit, ours=figure("ours"), limit=figure("limit"),
        peer=bench.peer_cells("peer", figure("peer")), peer_pragmas=bench.peer_cells("peer_pragmas", figure("peer_pragmas")),
        ratios={key: ratio(key) for key in ("limit", "peer", "peer_pragmas") if key in results},
        targets=targets, note=note,
    )


def _rate(count: int, run) -> float:
    began = time.perf_counter()
    run()
    return count / (time.perf_counter() - began)


# Appends ----------------------------------------------------------------------------------------------

def single_appends(bench: Bench) -> Line:
    """Messages logged one at a time through LoggingSystem.log_message, each committed on return."""
    count = bench.sizes.single
    messages = bench.corpus.messages(count)
    bench.logging.log_message(role="user", content="warm-up: loads the tokenizer")

    def ours():
        logging = LoggingSystem(user=bench.user)
        return _rate(count, lambda: [logging.log_message(m.role, m.content, m.metadata) for m in messages])

    def limit():
        session = bench.new_session("limit")
        rows = [{"role": m.role, "content": m.content, "metadata": m.metadata} for m in messages]
        return _rate(count, lambda: [bench.plain.append(session.pk, [row], timezone.now()) for row in rows])

    contenders = {"ours": ours, "limit": limit}
    for key, peer in bench.peers.items():
        def one_by_one(peer=peer):
            history = peer.history(bench.unique("single"))
            items = [peer.message(m.role, m.content, m.metadata) for m in messages]
            return _rate(count, lambda: [history.add_message(item) for item in items])

        contenders[key] = one_by_one
    return _line(bench, "Appends", "single durable appends (log_message)", "msg/s", _rounds(bench, contenders),
                 {"limit": 0.4, "peer": 2.0, "peer_pragmas": 1.0},
                 note=f"{count} messages a round, {bench.sizes.rounds} rounds; each one its own committed "
                      "transaction (WAL + synchronous=FULL).")


def batch_appends(bench: Bench) -> Line:
    """services.append_messages with 1,000 messages a call (with client message_ids, as retries need)."""
    count = bench.sizes.batch
    messages = bench.corpus.messages(count)

    def chunks(items):
        return [items[start:start + 1000] for start in range(0, len(items), 1000)]

    def ours():
        session = bench.new_session("batch")
        prefix = bench.unique("b")
        batches = chunks([NewMessage(role=m.role, content=m.content, metadata=m.metadata, message_id=f"{prefix}-{n}")
                          for n, m in enumerate(messages)])
        return _rate(count, lambda: [services.append_messages(session=session, messages=b) for b in batches])

    def limit():
        session = bench.new_session("limit")
        prefix = bench.unique("b")
        batches = chunks([{"role": m.role, "content": m.content, "metadata": m.metadata, "message_id": f"{prefix}-{n}"}
                          for n, m in enumerate(messages)])
        return _rate(count, lambda: [bench.plain.append(session.pk, b, timezone.now()) for b in batches])

    contenders = {"ours": ours, "limit": limit}
    for key, peer in bench.peers.items():
        def in_batches(peer=peer):
            history = peer.history(bench.unique("batch"))
            batches = chunks([peer.message(m.role, m.content, m.metadata) for m in messages])
            return _rate(count, lambda: [history.add_messages(b) for b in batches])

        contenders[key] = in_batches
    return _line(bench, "Appends", "batch appends (append_messages, 1,000 a call)", "msg/s",
                 _rounds(bench, contenders), {"limit": 0.4},
                 note=f"{count} messages a round. Ours also counts exact cl100k_base tokens for every message; "
                      "the limit and the peer count none.")


def _http_work(bench: Bench, sessions: list[str], per_request: int, total: int, ours: bool):
    """Each client's requests: its own session, `per_request` messages a POST, `total` messages in all."""
    messages = bench.corpus.messages(total)
    work = [[] for _ in sessions]
    prefix = bench.unique("h")
    for number, start in enumerate(range(0, total, per_request)):
        client = number % len(sessions)
        part = [{"role": m.role, "content": m.content, "metadata": m.metadata, "message_id": f"{prefix}-{start + n}"}
                for n, m in enumerate(messages[start:start + per_request])]
        session_id = sessions[client]
        if per_request == 1:
            path = f"/api/sessions/{session_id}/messages/" if ours else "/append"
            body = dict(part[0], **({} if ours else {"session_id": session_id}))
        else:
            path = "/api/sessions/save" if ours else "/save"
            body = {"session_id": session_id, "messages": part}
        work[client].append((path, body))
    return work


def http_appends(bench: Bench, ours_server: Server, plain_server: Server) -> list[Line]:
    headers = {"Authorization": f"Token {bench.token}"}
    lines = []
    # Warm-up: every server thread opens its connection, ours loads the tokenizer, before any clock runs.
    for server, ours in ((ours_server, True), (plain_server, False)):
        sessions = [bench.new_session("warm-up").session_id for _ in range(8)]
        run_clients(server.port, _http_work(bench, sessions, 1, 16, ours), headers)
    for name, per_request, total in (("HTTP save, 100 messages a request", 100, bench.sizes.http_batch),
                                      ("HTTP single-message appends", 1, bench.sizes.http_single)):
        latencies = {"ours": [], "limit": []}

        def run(server, key, ours):
            sessions = [bench.new_session(key).session_id for _ in range(bench.sizes.clients)]
            load = run_clients(server.port, _http_work(bench, sessions, per_request, total, ours), headers)
            latencies[key].extend(load.latencies)
            return total / load.seconds

        results = _rounds(bench, {"ours": lambda: run(ours_server, "ours", True),
                                  "limit": lambda: run(plain_server, "limit", False)})

        def spread(key):
            values = latencies[key]
            return f"p50 {_percentile(values, 0.5) * 1000:.1f} ms / p99 {_percentile(values, 0.99) * 1000:.1f} ms"

        lines.append(_line(
            bench, "Appends", name, "msg/s", results, {"limit": 0.4} if per_request > 1 else {},
            note=f"{bench.sizes.clients} concurrent clients, {total} messages a round; latency per request: ours "
                 f"{spread('ours')}, plain WSGI {spread('limit')}. The limit is a plain WSGI function doing the "
                 f"same statements under the same gunicorn (1 worker, 8 threads)."
                 + ("" if per_request > 1 else " No target is set for this line."),
        ))
    return lines


# Reads -------------------------------------------------------------------------------------------------

def _timed_ms(run, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    return times


def loads(bench: Bench, ours_server: Server, plain_server: Server) -> list[Line]:
    count = bench.sizes.load
    messages = bench.corpus.messages(count)
    session = bench.new_session("load")
    for start in range(0, count, 1000):
        services.append_messages(session=session, messages=[
            NewMessage(role=m.role, content=m.content, metadata=m.metadata) for m in messages[start:start + 1000]])
    histories = {}
    for key, peer in bench.peers.items():
        histories[key] = peer.history(bench.unique("load"))
        for start in range(0, count, 1000):
            histories[key].add_messages([peer.message(m.role, m.content, m.metadata) for m in messages[start:start + 1000]])
    repeats = bench.sizes.repeats

    def ours():
        return statistics.median(_timed_ms(lambda: LoggingSystem(user=bench.user, session_id=session.session_id)
                                           .load_session(), repeats))

    def limit():
        def read():
            rows = bench.plain.execute(
                "SELECT seq, role, content, metadata, message_id, token_count, created_at"
                " FROM sessions_app_message WHERE session_id = ? ORDER BY seq", (session.pk,)).fetchall()
            return [{"seq": seq, "role": role, "content": content,
                     "metadata": json.loads(metadata) if isinstance(metadata, str) else metadata,
                     "message_id": message_id, "token_count": tokens, "created_at": str(created_at)}
                    for seq, role, content, metadata, message_id, tokens, created_at in rows]
        return statistics.median(_timed_ms(read, repeats))

    contenders = {"ours": ours, "limit": limit}
    for key, history in histories.items():
        contenders[key] = lambda history=history: statistics.median(_timed_ms(lambda: history.messages, repeats))
    python_line = _line(bench, "Reads", f"load one {count:,}-message session (Python API)", "ms",
                        _rounds(bench, contenders), {"peer": 3.0}, faster_is_higher=False,
                        note="LoggingSystem.load_session() against the same SELECT decoded by hand, and "
                             "LangChain's `messages`; ours returns seq, metadata, ids, token counts and dates too.")

    headers = {"Authorization": f"Token {bench.token}"}
    samples = {"ours": [], "limit": []}

    def over_http(server, path, key):
        load = run_clients(server.port, [[(path, {"session_id": session.session_id})] * repeats], headers)
        samples[key].extend(load.latencies)
        return statistics.median(load.latencies) * 1000

    results = _rounds(bench, {"ours": lambda: over_http(ours_server, "/api/sessions/load", "ours"),
                              "limit": lambda: over_http(plain_server, "/load", "limit")})
    size = len(run_clients(ours_server.port, [[("/api/sessions/load", {"session_id": session.session_id})]],
                           headers).answers[0])
    http_line = _line(bench, "Reads", f"load one {count:,}-message session (HTTP POST /api/sessions/load)", "ms",
                      results, {"ours": 150.0} if count >= 10_000 else {}, faster_is_higher=False,
                      note=f"median of {repeats} requests a round, one client; p95 ours "
                           f"{_percentile(samples['ours'], 0.95) * 1000:.0f} ms, plain WSGI "
                           f"{_percentile(samples['limit'], 0.95) * 1000:.0f} ms; {size / 1e6:.1f} MB of JSON.")
    return [python_line, http_line]


def list_page(bench: Bench, ours_server: Server, plain_server: Server) -> Line:
    """One page of 50 out of `list_sessions` sessions of one user, pages spread over the whole list."""
    from django.contrib.auth import get_user_model

    count = bench.sizes.list_sessions
    owner, _ = get_user_model().objects.get_or_create(username="bench-lister")
    token = Token.objects.get_or_create(user=owner)[0].key
    rng = bench.corpus.rng
    started = bench.corpus.epoch
    rows = []
    for n in range(count):
        size = bench.corpus.session_size()
        moment = started + timedelta(minutes=n * 3)
        mode = rng.choice(["commander", "coder", "research", "chat", "writer"])
        rows.append({"session_id": f"{n:012x}", "title": f"Chat {n} about {rng.choice(['django', 'sqlite', 'tokens'])}",
                     "metadata": {"mode": mode, "client": "bench"}, "mode": mode, "message_count": size,
                     "token_count": size * 140, "started_at": moment, "updated_at": moment})
    loaders.load(bench.plain, ChatSession, [dict(row, owner_id=owner.pk) for row in rows])
    pages = -(-count // 50)
    requests = [{"page": 1 + (n * 7919) % pages} for n in range(bench.sizes.repeats * 3)]
    headers = {"Authorization": f"Token {token}"}
    samples = {"ours": [], "limit": []}

    def timed(server, path, key):
        load = run_clients(server.port, [[(path, body) for body in requests]], headers)
        samples[key].extend(load.latencies)
        return _percentile(load.latencies, 0.95) * 1000

    results = _rounds(bench, {"ours": lambda: timed(ours_server, "/api/sessions/list", "ours"),
                              "limit": lambda: timed(plain_server, "/list", "limit")})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    queries = []
    for page in (1, pages // 2, pages):
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/api/sessions/list", {"page": page}, format="json")
        assert response.status_code == 200, response.content[:300]
        queries.append(len(captured))
    constant = len(set(queries)) == 1
    line = _line(bench, "Reads", f"list: one page of 50 out of {count:,} sessions (HTTP, p95)", "ms", results,
                 {"ours": 30.0}, faster_is_higher=False,
                 note=f"p95 of {len(requests)} pages spread over all {pages:,} a round; queries per page on pages "
                      f"1, {pages // 2}, {pages}: {queries} ({'constant' if constant else 'NOT constant'}). "
                      f"The sessions were written straight into the table with executemany/COPY.")
    return line


def run_all(sizes: Sizes, data_dir: Path, progress) -> list[Line]:
    bench = Bench(sizes, data_dir)
    lines = []
    try:
        progress("single durable appends")
        lines.append(single_appends(bench))
        progress("batch appends")
        lines.append(batch_appends(bench))
        # The per-user request limit (3,000/minute by default) is a policy, not a cost: lifted so the
        # HTTP lines measure the server, as an operator expecting this load would configure it.
        env = {"BENCH_PLAIN_DATABASE": bench.plain_database, "DEBUG": "0", "NOVAFORGE_THROTTLE_USER": "100000/second"}
        with Server("novaforge.wsgi", env) as ours_server, Server("bench.plain_wsgi:application", env) as plain_server:
            progress("HTTP appends")
            lines.extend(http_appends(bench, ours_server, plain_server))
            bench.plain.settle()
            progress("loads")
            lines.extend(loads(bench, ours_server, plain_server))
            progress("list")
            lines.append(list_page(bench, ours_server, plain_server))
            lines.extend(corpus_lines.run(bench, ours_server, progress))
        progress("import")
        lines.append(import_lines.chatgpt_import(bench))
        lines.extend(capture_lines.run(bench.token, ttft_requests=sizes.capture_requests,
                                       streams_each=sizes.capture_streams, rounds=sizes.rounds, progress=progress))
    finally:
        bench.close()
    return lines
