"""Exports of plain conversations (text turns only, no tools, no branches) are the bytes they were
before messages carried tools, parts, reasoning and branches: fixtures/plain_exports/ holds them."""

import csv
import io
from pathlib import Path

import pytest

from tests.exports.helpers import run_export
from tests.exports.plain_corpus import build_plain_corpus

EXPECTED = Path(__file__).parent / "fixtures" / "plain_exports"
# The columns a csv export had before parent_seq, tool_calls, tool_call_id and reasoning were added.
EARLIER_CSV_COLUMNS = 12


@pytest.mark.parametrize(
    "fmt, args, expected",
    [
        ("jsonl", [], "jsonl.jsonl"),
        ("jsonl", ["--redact-pii"], "jsonl_redacted.jsonl"),
        ("sharegpt", [], "sharegpt.jsonl"),
        ("dpo", [], "dpo.jsonl"),
        ("markdown", [], "markdown.md"),
    ],
)
def test_plain_conversations_export_to_the_same_bytes_as_before(db, fmt, args, expected):
    build_plain_corpus()

    _, [path] = run_export(fmt, *args)

    assert path.read_bytes() == (EXPECTED / expected).read_bytes()


def test_plain_conversations_export_to_the_same_csv_cells_with_the_new_columns_last(db):
    build_plain_corpus()

    _, [path] = run_export("csv")

    rows = list(csv.reader(io.StringIO(path.read_bytes().decode(), newline="")))
    assert rows[0][EARLIER_CSV_COLUMNS:] == ["parent_seq", "tool_calls", "tool_call_id", "reasoning"]
    earlier = io.StringIO(newline="")
    csv.writer(earlier).writerows(row[:EARLIER_CSV_COLUMNS] for row in rows)
    assert earlier.getvalue().encode() == (EXPECTED / "csv.csv").read_bytes()
