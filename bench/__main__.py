"""`python -m bench [--quick] [--output docs/benchmarks.md]`: build the corpus, measure, print the table.

Runs on a scratch data directory under /tmp (never ./memory) and, when DATABASE_URL names a PostgreSQL
database, on a scratch database beside it (BENCH_DATABASE, default <name>_run), dropped at the end.
Knobs: BENCH_MESSAGES (messages in the big corpus), BENCH_SESSIONS (sessions in the list), BENCH_ROUNDS,
BENCH_MEMORY_ITEMS (long-term memory items searched).
"""

import argparse
import dataclasses
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def _scratch_postgres(url: str) -> tuple[str, str]:
    """Create a fresh scratch database next to the one DATABASE_URL names; returns its URL and name."""
    import psycopg

    parts = urlsplit(url)
    name = os.environ.get("BENCH_DATABASE") or f"{parts.path.lstrip('/') or 'novaforge'}_run"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), name


def _drop_postgres(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small corpus: the whole suite in about a minute")
    parser.add_argument("--smoke", action="store_true", help="a few of everything, to prove every line runs")
    parser.add_argument("--output", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="novaforge-bench-"))
    os.environ["NOVAFORGE_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novaforge.settings")
    url = os.environ.get("DATABASE_URL", "")
    scratch = None
    if url.startswith(("postgres://", "postgresql://")):
        os.environ["DATABASE_URL"], scratch = _scratch_postgres(url)
    began = time.perf_counter()
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        from django.conf import settings

        from . import suites
        from .table import render, summary

        sizes = suites.SMOKE if args.smoke else suites.QUICK if args.quick else suites.FULL
        knobs = {"corpus": "BENCH_MESSAGES", "list_sessions": "BENCH_SESSIONS", "rounds": "BENCH_ROUNDS",
                 "memory_items": "BENCH_MEMORY_ITEMS"}
        sizes = dataclasses.replace(sizes, **{key: int(os.environ[env]) for key, env in knobs.items()
                                              if os.environ.get(env)})

        def progress(step: str) -> None:
            print(f"[{time.perf_counter() - began:6.1f} s] {step}", file=sys.stderr, flush=True)

        lines = suites.run_all(sizes, data_dir, progress)
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        passed, checked = summary(lines)
        database = (f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=FULL)" if engine == "sqlite3"
                    else "PostgreSQL (psycopg 3)")
        report = (
            f"# NovaForge benchmarks\n\n"
            f"{'Smoke run' if args.smoke else 'Quick run' if args.quick else 'Full run'} of `python -m bench` on "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {database}, Python {platform.python_version()}, "
            f"{os.cpu_count()} cores; took {time.perf_counter() - began:.0f} s. Targets passed: {passed} of {checked}.\n\n"
            "Every column of a line was measured in the same run, in alternating rounds; figures are medians. "
            "\"ours vs X\" is how many times as fast ours is (per-round ratios, median): above 1 ours is faster. "
            "The limit sends the same SQL statements through the bare driver with the same PRAGMAs; the peer is "
            "LangChain's SQLChatMessageHistory.\n\n"
            + render(lines)
        )
        print(report)
        if args.output:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(report)
    finally:
        from django.db import connections

        connections.close_all()
        if scratch:
            _drop_postgres(url, scratch)
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
