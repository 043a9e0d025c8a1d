"""Lines over the big corpus (BENCH_MESSAGES, 1,000,000 messages by default): export, search, analytics.
A line whose feature is not in this checkout says so in the table instead of a figure."""

import importlib.util
import json
import statistics
import subprocess
import sys
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.urls import Resolver404, resolve
from rest_framework.authtoken.models import Token

from sessions_app.models import ChatSession, Message

from . import loaders
from .corpus import RARE_WORDS
from .http import BASE_DIR, run_clients
from .table import Line

GROUP = "Big corpus"
NOT_ON_MAIN = "not measured: not on main yet"
SESSIONS_PER_CHUNK = 5000


def _missing(name: str, unit: str) -> Line:
    return Line(group=GROUP, name=name, unit=unit, ours=NOT_ON_MAIN, limit=NOT_ON_MAIN)


def build(bench) -> tuple:
    """The corpus owner's sessions and messages, written chunk by chunk straight into the tables, each
    session one branch as the write path leaves it (current_seq its last message). Token counts are estimated (a quarter of the characters) to build fast; writes measured above count
    them exactly."""
    owner, _ = get_user_model().objects.get_or_create(username="bench-corpus")
    began = time.perf_counter()
    chunk = []

    def flush():
        loaders.load(bench.plain, ChatSession, [
            {"owner_id": owner.pk, "session_id": f"c{index:011x}", "title": f"Conversation {index}",
             "metadata": {"mode": messages[0].metadata["mode"]}, "mode": messages[0].metadata["mode"],
             "message_count": len(messages), "current_seq": len(messages), "token_count": sum(len(m.content) // 4 + 1 for m in messages),
             "started_at": started_at, "updated_at": messages[-1].created_at}
            for index, started_at, messages in chunk])
        ids = dict(ChatSession.objects.filter(session_id__in=[f"c{index:011x}" for index, _, _ in chunk])
                   .values_list("session_id", "pk"))
        loaders.load(bench.plain, Message, (
            {"session_id": ids[f"c{index:011x}"], "seq": m.seq, "parent_seq": m.seq - 1 or None, "role": m.role,
             "content": m.content,
             "metadata": m.metadata, "message_id": None, "token_count": len(m.content) // 4 + 1,
             "created_at": m.created_at}
            for index, _, messages in chunk for m in messages))

    for session in bench.corpus.sessions(bench.sizes.corpus):
        chunk.append(session)
        if len(chunk) >= SESSIONS_PER_CHUNK:
            flush()
            chunk = []
    if chunk:
        flush()
    return owner, time.perf_counter() - began


# Export ------------------------------------------------------------------------------------------------

def export(bench, owner) -> Line:
    name = f"export_sessions --format jsonl over {bench.sizes.corpus:,} messages"
    if "export_sessions" not in get_commands():
        return _missing(name, "msg/s")
    count = Message.objects.filter(session__owner=owner).count()
    results = {"ours": [], "limit": []}
    peaks = {"ours": [], "limit": []}
    started = []
    for _ in range(max(1, bench.sizes.rounds - 1)):
        for key in ("ours", "limit"):
            output = bench.data_dir / f"export-{key}.jsonl"
            finished = subprocess.run(
                [sys.executable, "-m", "bench.export_child", key, str(output), owner.username],
                cwd=BASE_DIR, capture_output=True, text=True, check=True)
            figures = json.loads(finished.stdout.strip().splitlines()[-1])
            results[key].append(count / figures["seconds"])
            peaks[key].append(figures["peak_mb"])
            started.append(figures["started_mb"])
            lines = sum(1 for _ in output.open("rb"))
            output.unlink()
    ratio = statistics.median(ours / limit for ours, limit in zip(results["ours"], results["limit"]))
    peak = max(peaks["ours"])
    return Line(group=GROUP, name=name, unit="msg/s", ours=statistics.median(results["ours"]),
                limit=statistics.median(results["limit"]), ratios={"limit": ratio}, targets={"limit": 0.5},
                note=f"the command in a process of its own, timed after Django's start-up, {lines:,} lines; peak "
                     f"memory (max RSS) ours {peak:.0f} MB (target < 150 MB: {'PASS' if peak < 150 else 'MISS'}), the "
                     f"limit {max(peaks['limit']):.0f} MB, of which {min(started):.0f} MB is the process once Django "
                     "has started. The limit streams the same join through the bare driver and writes the same "
                     "lines with orjson.")


# Search ------------------------------------------------------------------------------------------------

QUERIES = ["function", "database query", "error handling", RARE_WORDS[0]]


def _like(bench, base: str, column: str, owner_id: int, query: str) -> None:
    """The newest 20 rows holding every word of `query`, by LIKE: what search does without an index."""
    words = query.split()
    likes = " AND ".join(f"{column} LIKE ?" for _ in words)
    bench.plain.execute(f"{base} AND {likes} ORDER BY t.id DESC LIMIT 20",
                        (owner_id, *[f"%{word}%" for word in words])).fetchall()


def _timed(run, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    return times


def search(bench, owner) -> list[Line]:
    lines = []
    if importlib.util.find_spec("memory_app.search") is None:
        return [_missing(f"{scope} search over {bench.sizes.corpus:,} rows (p95)", "ms") for scope in ("message", "memory")]
    from memory_app.models import MemoryItem
    from memory_app.search import search as ranked_search

    items = bench.sizes.memory_items
    rng = bench.corpus.rng
    loaders.load(bench.plain, MemoryItem, (
        {"owner_id": owner.pk, "layer": "long_term", "category": rng.choice(["learning", "preference", "project"]),
         "title": bench.corpus.content()[:60], "text": bench.corpus.content()[:300], "fingerprint": f"bench-{n}"}
        for n in range(items)))
    scans = {
        "message": ("messages", bench.sizes.corpus, "t.content",
                    "SELECT t.id FROM sessions_app_message t JOIN sessions_app_chatsession s ON s.id = t.session_id"
                    " WHERE s.owner_id = ?"),
        "memory": ("memory", items, "(t.title || ' ' || t.text)",
                   "SELECT t.id FROM memory_app_memoryitem t WHERE t.owner_id = ? AND t.layer IN ('long_term', 'episodic')"),
    }
    for kind, (scope, rows, column, base) in scans.items():
        ours, like = [], []
        for query in QUERIES:
            ranked_search(owner_id=owner.pk, query=query, scope=scope)  # warm the page cache for both

            def ranked(query=query):
                ranked_search(owner_id=owner.pk, query=query, scope=scope)

            def scan(query=query):
                _like(bench, base, column, owner.pk, query)

            ours += _timed(ranked, bench.sizes.repeats)
            like += _timed(scan, max(2, bench.sizes.repeats // 3))
        p95 = sorted(ours)[int(0.95 * (len(ours) - 1))]
        like_p95 = sorted(like)[int(0.95 * (len(like) - 1))]
        lines.append(Line(
            group=GROUP, name=f"{kind} search over {rows:,} rows (p95)", unit="ms", ours=p95, limit=like_p95,
            ratios={"limit": like_p95 / p95}, targets={"ours": 20.0, "limit": 10.0},
            note=f"queries {QUERIES} (ranked, newest 20); median ours {statistics.median(ours):.1f} ms, LIKE "
                 f"{statistics.median(like):.0f} ms. The limit column here is the LIKE scan the issue names."))
    return lines


# Analytics ---------------------------------------------------------------------------------------------

def analytics(bench, owner, ours_server) -> Line:
    name = f"analytics summary over {bench.sizes.corpus:,} messages (HTTP)"
    try:
        resolve("/api/analytics/summary")
    except Resolver404:
        return _missing(name, "ms")
    # The corpus went straight into the tables, so every one of its days is marked stale: fill the
    # rollups once, as `migrate` or the first summary would, and report what that took.
    began = time.perf_counter()
    call_command("refresh_analytics", verbosity=0)
    refreshed = time.perf_counter() - began
    token = Token.objects.get_or_create(user=owner)[0].key
    since = bench.corpus.epoch.date()
    until = since + timedelta(days=182)
    path = f"/api/analytics/summary?since={since}&until={until}&granularity=day"
    headers = {"Authorization": f"Token {token}"}
    run_clients(ours_server.port, [[(path, None)]], headers)
    load = run_clients(ours_server.port, [[(path, None)] * bench.sizes.repeats], headers)
    ours = statistics.median(load.latencies) * 1000

    def plain():
        bench.plain.execute(
            "SELECT substr(m.created_at, 1, 10) AS day, m.role, COUNT(*), SUM(m.token_count)"
            " FROM sessions_app_message m JOIN sessions_app_chatsession s ON s.id = m.session_id"
            " WHERE s.owner_id = ? GROUP BY day, m.role" if bench.is_sqlite else
            "SELECT date_trunc('day', m.created_at) AS day, m.role, COUNT(*), SUM(m.token_count)"
            " FROM sessions_app_message m JOIN sessions_app_chatsession s ON s.id = m.session_id"
            " WHERE s.owner_id = ? GROUP BY day, m.role", (owner.pk,)).fetchall()

    limit = statistics.median(_timed(plain, max(2, bench.sizes.repeats // 2)))
    return Line(group=GROUP, name=name, unit="ms", ours=ours, limit=limit, ratios={"limit": limit / ours},
                targets={"ours": 500.0},
                note=f"GET {path.split('?')[0]} over the whole 182-day corpus, median of {bench.sizes.repeats}; the "
                     "limit column is one plain GROUP BY day and role (counts and tokens only: the summary also "
                     "computes modes, tools, latency percentiles and topics). The summary reads daily rollups; "
                     f"filling them for the whole corpus once took {refreshed:.1f} s.")


def run(bench, ours_server, progress) -> list[Line]:
    features = ("export_sessions" in get_commands(), importlib.util.find_spec("memory_app.search") is not None)
    if not any(features):
        try:
            resolve("/api/analytics/summary")
        except Resolver404:
            # Nothing to measure on it: the corpus is not built.
            return [export(bench, None), *search(bench, None), analytics(bench, None, ours_server)]
    progress(f"building the {bench.sizes.corpus:,}-message corpus")
    owner, seconds = build(bench)
    progress(f"corpus built in {seconds:.0f} s; export")
    lines = [export(bench, owner)]
    progress("search")
    lines += search(bench, owner)
    progress("analytics")
    lines.append(analytics(bench, owner, ours_server))
    return lines
