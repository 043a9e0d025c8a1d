"""The benchmark suite runs end to end (a smoke test: tiny sizes, no timing asserted)."""

import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent
LINES = [
    "single durable appends",
    "batch appends",
    "HTTP save, 100 messages a request",
    "HTTP single-message appends",
    "(Python API)",
    "(HTTP POST /api/sessions/load)",
    "list: one page of 50",
    "export_sessions --format jsonl",
    "message search over",
    "memory search over",
    "analytics summary over",
    "time to first token added by the proxy, p50",
    "time to first token added by the proxy, p99",
    "streamed throughput, 16 concurrent streams",
    "streamed throughput, 64 concurrent streams",
]


@pytest.mark.slow
def test_the_benchmark_suite_runs_and_writes_its_table(tmp_path):
    output = tmp_path / "benchmarks.md"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(output)],
        cwd=BASE_DIR, capture_output=True, text=True, timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    table = output.read_text()
    assert table == finished.stdout.strip() + "\n"
    rows = {row.split(" | ")[0].lstrip("| "): row.split(" | ") for row in table.splitlines() if row.startswith("| ")}
    for line in LINES:
        (row,) = [cells for name, cells in rows.items() if line in name]
        assert row[1][0].isdigit(), row  # ours was measured
        assert row[2][0].isdigit(), row  # and so was the limit
