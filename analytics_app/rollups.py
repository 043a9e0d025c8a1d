"""Daily rollups behind GET /api/analytics/summary.

Summing a year of a heavy user's messages (a million rows) took 11 s on SQLite and 15 s on PostgreSQL;
the same year of rollups is a few thousand rows per figure. Per owner and UTC day they hold messages and
tokens by role and mode (DailyActivity), a latency histogram (DailyLatency) and tool uses (DailyToolUse).

How they stay true to the messages:
1. Database triggers on messages and sessions record (owner, day) in StaleDay whenever a message is
   written, changed or deleted, or a session changes owner or mode. Triggers rather than Python hooks,
   so every path that touches a message (the API, imports, the admin, retention, raw SQL) is covered.
2. Before a summary reads them, refresh(owner) recomputes that owner's stale days from the messages,
   with the same aggregations that count a window's partial first and last day (window_rows).
"""

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    Count,
    DateField,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Ceil, Coalesce, Ln, Trunc

from sessions_app.models import Message, Role

from .models import DailyActivity, DailyLatency, DailyToolUse, StaleDay

# Bucket i of the latency histogram holds latencies in (GAMMA^(i-1), GAMMA^i] ms: a value read back from
# a bucket is within 1% of every latency in it.
LATENCY_GAMMA = 1.02
TOOL_NAME_CHARS = 100
# A reply counts for performance when it logged a positive latency.
TIMED_REPLY = Q(role=Role.ASSISTANT, latency__gt=0)


class PeriodStart(Trunc):
    """The first day of the UTC day, week (Monday) or month holding a timestamp, as a date.

    Django's Trunc is native SQL on PostgreSQL, but on SQLite it calls a Python function per row
    (seconds at a million rows); SQLite's own date() with modifiers does the same work in C.
    """

    SQLITE_MODIFIERS = {"day": (), "week": ("-6 days", "weekday 1"), "month": ("start of month",)}

    def __init__(self, expression, granularity: str):
        super().__init__(expression, granularity, output_field=DateField(), tzinfo=UTC)

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django stores aware datetimes on SQLite as UTC text, which date() reads as it is.
        sql, params = compiler.compile(self.lhs)
        modifiers = self.SQLITE_MODIFIERS[self.kind]
        return f"date({sql}{', %s' * len(modifiers)})", (*params, *modifiers)


class JSONNumber(Func):
    """metadata[key] when it is a JSON number, else NULL (a string there must not break a cast)."""

    output_field = FloatField()

    def __init__(self, key: str, field: str = "metadata"):
        self.key = key
        super().__init__(F(field))

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        path = f"$.{self.key}"
        return (
            f"(CASE WHEN json_type({sql}, %s) IN ('integer', 'real') THEN json_extract({sql}, %s) END)",
            (*params, path, *params, path),
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"(CASE WHEN jsonb_typeof({sql} -> %s) = 'number' THEN ({sql} ->> %s)::double precision END)",
            (*params, self.key, *params, self.key),
        )


# The aggregations: a queryset of messages in, one row per day (and role and mode, bucket or tool) out.


def activity_rows(messages) -> list[dict]:
    """Messages, tokens and timed replies per day, role and session mode. Completion tokens are metadata
    `completion_tokens`, else the reply's stored token count."""
    return list(
        messages.annotate(
            day=PeriodStart("created_at", "day"),
            latency=JSONNumber("latency_ms"),
            completion=Coalesce(JSONNumber("completion_tokens"), F("token_count"), output_field=FloatField()),
        )
        .values("day", "role", mode=F("session__mode"))
        .annotate(
            messages=Count("id"),
            tokens=Coalesce(Sum("token_count"), 0),
            replies=Count("id", filter=TIMED_REPLY),
            latency_total=Coalesce(Sum("latency", filter=TIMED_REPLY), 0.0),
            completion_total=Coalesce(Sum("completion", filter=TIMED_REPLY), 0.0),
        )
        .order_by()
    )


def latency_histograms(messages) -> dict[date, list[list]]:
    """Per day, the histogram of timed replies: [[bucket, replies, lowest, highest], ...] by bucket."""
    buckets = (
        messages.filter(role=Role.ASSISTANT)
        .annotate(latency=JSONNumber("latency_ms"))
        .filter(latency__gt=0)
        .annotate(
            day=PeriodStart("created_at", "day"),
            bucket=Cast(Ceil(Ln("latency") / Value(math.log(LATENCY_GAMMA))), IntegerField()),
        )
        .values_list("day", "bucket")
        .annotate(replies=Count("id"), lowest=Min("latency"), highest=Max("latency"))
        .order_by("day", "bucket")
    )
    histograms: dict[date, list[list]] = {}
    for day, *bucket in buckets:
        histograms.setdefault(day, []).append(bucket)
    return histograms


def tool_rows(messages) -> list[dict]:
    """Uses per day of each tool named in metadata `tools` (strings, or objects with a `name`).

    The array is unnested in SQL (json_each / jsonb_array_elements): the two dialects differ only there.
    """
    inner_sql, params = (
        messages.filter(metadata__has_key="tools").values("metadata", "created_at").order_by().query.sql_with_params()
    )
    if connection.vendor == "postgresql":
        elements = (
            "CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(m.metadata -> 'tools') = 'array' "
            "THEN m.metadata -> 'tools' ELSE '[]'::jsonb END) AS tool"
        )
        name = "CASE jsonb_typeof(tool) WHEN 'string' THEN tool #>> '{}' WHEN 'object' THEN tool ->> 'name' END"
        day = "(m.created_at AT TIME ZONE 'UTC')::date"
    else:
        elements = (
            ", json_each(CASE WHEN json_type(m.metadata, '$.tools') = 'array' "
            "THEN json_extract(m.metadata, '$.tools') ELSE '[]' END) AS tool"
        )
        name = "CASE tool.type WHEN 'text' THEN tool.value WHEN 'object' THEN json_extract(tool.value, '$.name') END"
        day = "date(m.created_at)"
    sql = (
        f"SELECT day, substr(name, 1, {TOOL_NAME_CHARS}) AS name, COUNT(*) AS uses "
        f"FROM (SELECT {day} AS day, {name} AS name FROM ({inner_sql}) AS m {elements}) AS named "
        f"WHERE name IS NOT NULL AND name <> '' GROUP BY day, substr(name, 1, {TOOL_NAME_CHARS})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            {"day": day if isinstance(day, date) else date.fromisoformat(day), "name": name, "uses": uses}
            for day, name, uses in cursor.fetchall()
        ]


def bucket_value(bucket: int) -> float:
    """The value that represents a latency bucket: within 1% of both of its edges."""
    return 2 * LATENCY_GAMMA**bucket / (LATENCY_GAMMA + 1)


# Reading a window ---------------------------------------------------------------------------------------


@dataclass
class DayRows:
    activity: list[dict] = field(default_factory=list)
    latency: list[tuple[date, list[list]]] = field(default_factory=list)  # (day, histogram)
    tools: list[dict] = field(default_factory=list)


FIGURES = ("activity", "latency", "tools")


def window_rows(owner_id: int, since: datetime, until: datetime, figures: tuple[str, ...] = FIGURES) -> DayRows:
    """The owner's day rows of `figures` for [since, until): whole days from the rollups (refreshed
    first), a partial first or last day aggregated from its messages."""
    refresh(owner_id)
    first_whole = _midnight(since) if since == _midnight(since) else _midnight(since) + timedelta(days=1)
    end_whole = _midnight(until)
    rows = DayRows()
    if first_whole < end_whole:
        stored = {"owner_id": owner_id, "day__gte": first_whole.date(), "day__lt": end_whole.date()}
        if "activity" in figures:
            rows.activity += DailyActivity.objects.filter(**stored).values(
                "day", "role", "mode", "messages", "tokens", "replies", "latency_total", "completion_total"
            )
        if "latency" in figures:
            rows.latency += DailyLatency.objects.filter(**stored).values_list("day", "histogram")
        if "tools" in figures:
            rows.tools += DailyToolUse.objects.filter(**stored).values("day", "name", "uses")
        partial_days = [(since, first_whole), (end_whole, until)]
    else:
        partial_days = [(since, until)]
    for start, end in partial_days:
        if start < end:
            messages = _messages_between(owner_id, start, end)
            if "activity" in figures:
                rows.activity += activity_rows(messages)
            if "latency" in figures:
                rows.latency += latency_histograms(messages).items()
            if "tools" in figures:
                rows.tools += tool_rows(messages)
    return rows


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)


def _messages_between(owner_id: int, start: datetime, end: datetime):
    """The owner's messages written in [start, end)."""
    return Message.objects.owned_by_over_time(owner_id).filter(created_at__gte=start, created_at__lt=end)


# Refreshing ---------------------------------------------------------------------------------------------

DELETE_CHUNK = 5000


def refresh(owner_id: int) -> int:
    """Recompute the owner's stale days from their messages; returns how many days were recomputed."""
    if not StaleDay.objects.filter(owner_id=owner_id).exists():
        return 0
    with transaction.atomic():
        # One refresh of an owner at a time: a second waits here, then finds little or nothing left.
        list(get_user_model().objects.select_for_update().filter(pk=owner_id).values_list("pk"))
        # Only the marks read now are cleared below: a writer that commits meanwhile leaves its own mark,
        # so its messages are counted by the next refresh even if this one's aggregation missed them.
        marks = list(StaleDay.objects.filter(owner_id=owner_id).values_list("pk", "day"))
        days = sorted({day for _, day in marks})
        for first, last in _runs(days):
            stored = {"owner_id": owner_id, "day__gte": first, "day__lte": last}
            for model in (DailyActivity, DailyLatency, DailyToolUse):
                model.objects.filter(**stored).delete()
            start = datetime.combine(first, time(), tzinfo=UTC)
            messages = _messages_between(owner_id, start, datetime.combine(last, time(), tzinfo=UTC) + timedelta(days=1))
            DailyActivity.objects.bulk_create(DailyActivity(owner_id=owner_id, **row) for row in activity_rows(messages))
            DailyLatency.objects.bulk_create(
                DailyLatency(owner_id=owner_id, day=day, histogram=histogram)
                for day, histogram in latency_histograms(messages).items()
            )
            DailyToolUse.objects.bulk_create(DailyToolUse(owner_id=owner_id, **row) for row in tool_rows(messages))
        mark_ids = [pk for pk, _ in marks]
        for offset in range(0, len(mark_ids), DELETE_CHUNK):
            StaleDay.objects.filter(pk__in=mark_ids[offset : offset + DELETE_CHUNK]).delete()
    return len(days)


def refresh_everyone() -> Iterator[tuple[int, int]]:
    """Refresh every owner with stale days, yielding (owner id, days recomputed)."""
    owners = StaleDay.objects.values_list("owner_id", flat=True).distinct().order_by("owner_id")
    for owner_id in list(owners):
        yield owner_id, refresh(owner_id)


def _runs(days: list[date]) -> Iterable[tuple[date, date]]:
    """Consecutive days grouped into (first, last) runs, so each run is one aggregation query."""
    run_start = previous = None
    for day in days:
        if previous is not None and day - previous > timedelta(days=1):
            yield run_start, previous
            run_start = None
        run_start = run_start or day
        previous = day
    if previous is not None:
        yield run_start, previous


# The triggers -------------------------------------------------------------------------------------------

MESSAGES, SESSIONS, STALE = "sessions_app_message", "sessions_app_chatsession", "sessions_app_staleday"
# What a message's rollups depend on; a change to anything else (its content, say) leaves them alone.
MESSAGE_ROLLUP_COLUMNS = "session_id, role, token_count, metadata, created_at"


def _sqlite_mark(row: str) -> str:
    """Mark the day of the `row` ("new" or "old") message stale, unless it already is: SQLite runs one
    writer at a time, so a mark seen here cannot be cleared before this transaction commits."""
    return f"""
        INSERT INTO {STALE} (owner_id, day)
        SELECT session.owner_id, date({row}.created_at) FROM {SESSIONS} AS session
        WHERE session.id = {row}.session_id AND NOT EXISTS (
            SELECT 1 FROM {STALE} AS stale WHERE stale.owner_id = session.owner_id AND stale.day = date({row}.created_at)
        );"""


SQLITE_TRIGGERS = {
    "analytics_stale_message_insert": f"""
        CREATE TRIGGER IF NOT EXISTS analytics_stale_message_insert AFTER INSERT ON {MESSAGES} BEGIN
            {_sqlite_mark("new")}
        END""",
    "analytics_stale_message_delete": f"""
        CREATE TRIGGER IF NOT EXISTS analytics_stale_message_delete AFTER DELETE ON {MESSAGES} BEGIN
            {_sqlite_mark("old")}
        END""",
    "analytics_stale_message_update": f"""
        CREATE TRIGGER IF NOT EXISTS analytics_stale_message_update
        AFTER UPDATE OF {MESSAGE_ROLLUP_COLUMNS} ON {MESSAGES} BEGIN
            {_sqlite_mark("old")}
            {_sqlite_mark("new")}
        END""",
    "analytics_stale_session_update": f"""
        CREATE TRIGGER IF NOT EXISTS analytics_stale_session_update AFTER UPDATE OF owner_id, mode ON {SESSIONS}
        WHEN old.owner_id IS NOT new.owner_id OR old.mode IS NOT new.mode BEGIN
            INSERT INTO {STALE} (owner_id, day)
            SELECT DISTINCT owner.id, date(message.created_at)
            FROM {MESSAGES} AS message, (SELECT old.owner_id AS id UNION SELECT new.owner_id) AS owner
            WHERE message.session_id = new.id;
        END""",
}

# PostgreSQL: statement-level triggers read the rows a statement touched from transition tables, so a
# batch of a hundred messages writes one mark per day, not a hundred. Marks are plain inserts (no
# upsert): concurrent writers of one owner never wait on a shared row.
_PG_MARK = f"""INSERT INTO {STALE} (owner_id, day)
        SELECT DISTINCT session.owner_id, (message.created_at AT TIME ZONE 'UTC')::date
        FROM {{rows}} AS message JOIN {SESSIONS} AS session ON session.id = message.session_id"""
_PG_CHANGED_MESSAGES = """(
            SELECT {side}.session_id, {side}.created_at FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
            WHERE (o.session_id, o.role, o.token_count, o.metadata, o.created_at)
                IS DISTINCT FROM (n.session_id, n.role, n.token_count, n.metadata, n.created_at)
        )"""
PG_FUNCTIONS = {
    "analytics_mark_inserted_messages": _PG_MARK.format(rows="new_rows"),
    "analytics_mark_deleted_messages": _PG_MARK.format(rows="old_rows"),
    "analytics_mark_updated_messages": (
        f"{_PG_MARK.format(rows=_PG_CHANGED_MESSAGES.format(side='o'))};\n"
        f"        {_PG_MARK.format(rows=_PG_CHANGED_MESSAGES.format(side='n'))}"
    ),
    "analytics_mark_updated_sessions": f"""INSERT INTO {STALE} (owner_id, day)
        SELECT DISTINCT owners.owner_id, (message.created_at AT TIME ZONE 'UTC')::date
        FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
        CROSS JOIN LATERAL (VALUES (o.owner_id), (n.owner_id)) AS owners (owner_id)
        JOIN {MESSAGES} AS message ON message.session_id = n.id
        WHERE (o.owner_id, o.mode) IS DISTINCT FROM (n.owner_id, n.mode)""",
}
PG_TRIGGERS = {
    "analytics_stale_message_insert": (MESSAGES, "INSERT", "NEW TABLE AS new_rows", "analytics_mark_inserted_messages"),
    "analytics_stale_message_delete": (MESSAGES, "DELETE", "OLD TABLE AS old_rows", "analytics_mark_deleted_messages"),
    "analytics_stale_message_update": (
        MESSAGES, "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "analytics_mark_updated_messages"
    ),
    "analytics_stale_session_update": (
        SESSIONS, "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "analytics_mark_updated_sessions"
    ),
}


def install_stale_triggers(db) -> bool:
    """Create whichever trigger that marks days stale is missing on connection `db`; True if any was.
    Idempotent: the migration calls it, and so does every `migrate` afterwards, because Django rebuilds
    a SQLite table to alter it and that drops the table's triggers."""
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname = ANY(%s)", [list(PG_TRIGGERS)])
            present = {name for (name,) in cursor.fetchall()}
            for function, body in PG_FUNCTIONS.items():
                cursor.execute(
                    f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                    f"    BEGIN\n        {body};\n        RETURN NULL;\n    END $$"
                )
            missing = [name for name in PG_TRIGGERS if name not in present]
            for trigger in missing:
                table, event, transition, function = PG_TRIGGERS[trigger]
                cursor.execute(
                    f"CREATE TRIGGER {trigger} AFTER {event} ON {table} REFERENCING {transition} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
                )
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            present = {name for (name,) in cursor.fetchall()}
            missing = [name for name in SQLITE_TRIGGERS if name not in present]
            for trigger in missing:
                cursor.execute(SQLITE_TRIGGERS[trigger])
    return bool(missing)


def uninstall_stale_triggers(db) -> None:
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            for trigger, (table, *_) in PG_TRIGGERS.items():
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
            for function in PG_FUNCTIONS:
                cursor.execute(f"DROP FUNCTION IF EXISTS {function}()")
        else:
            for trigger in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")


def mark_every_day_stale(db) -> None:
    """Mark every (owner, day) that has messages stale: the backfill, and the repair."""
    day = "(message.created_at AT TIME ZONE 'UTC')::date" if db.vendor == "postgresql" else "date(message.created_at)"
    with db.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {STALE} (owner_id, day) SELECT DISTINCT session.owner_id, {day} "
            f"FROM {MESSAGES} AS message JOIN {SESSIONS} AS session ON session.id = message.session_id"
        )
