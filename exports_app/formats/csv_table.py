"""One row per message of the active branch, RFC 4180 (the csv module's quoting, CRLF line ends), UTF-8.

Metadata fields that are not text (e.g. a list of tools) are written as JSON. `mode` is the message's
own mode, else its session's. The columns added with tool calls and branches come last, so readers of
the earlier columns by position are unaffected; `reasoning` is always there (empty when none).
"""

import csv
import io

import orjson

from .base import BASE_COLUMNS, TOOL_COLUMNS, Example, Format, Skip, digest

HEADER = (
    "session_id",
    "seq",
    "role",
    "content",
    "created_at",
    "mode",
    "tools",
    "latency_ms",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "token_count",
    "parent_seq",
    "tool_calls",
    "tool_call_id",
    "reasoning",
)
METADATA_COLUMNS = ("tools", "latency_ms", "model", "prompt_tokens", "completion_tokens")


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


class CSVFormat(Format):
    name = "csv"
    label = "CSV"
    extension = "csv"
    content_type = "text/csv; charset=utf-8"
    columns = {**BASE_COLUMNS, **TOOL_COLUMNS, "metadata": "metadata", "created_at": "created_at"}
    dedupes = False  # a table of what was said: every session, even one said twice

    def __init__(self, **options):
        super().__init__(**options)
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)

    def _rows_text(self, rows) -> bytes:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerows(rows)
        return self.buffer.getvalue().encode()

    def header(self) -> bytes:
        return self._rows_text([HEADER])

    def examples(self, conversation):
        if not conversation.turns:
            raise Skip("no messages")
        rows = []
        for turn in conversation.turns:
            metadata = turn.metadata if isinstance(turn.metadata, dict) else {}
            rows.append(
                (
                    conversation.session_id,
                    turn.seq,
                    turn.role,
                    turn.content,
                    turn.created_at.isoformat(),
                    cell(metadata.get("mode")) or conversation.mode,
                    *(cell(metadata.get(name)) for name in METADATA_COLUMNS),
                    turn.token_count,
                    cell(turn.parent_seq),
                    cell(turn.tool_calls),
                    turn.tool_call_id,
                    cell(turn.reasoning),
                )
            )
        yield Example(
            body=self._rows_text(rows),
            identity=digest(conversation.system_prompt, *(f"{turn.role}:{turn.content}" for turn in conversation.turns)),
            split_key=conversation.session_id,
            message_count=len(rows),
            token_count=sum(turn.token_count for turn in conversation.turns),
        )
