"""Analytics over one user's sessions and messages, aggregated in the database.

Everything here groups and sums in SQL and brings back one small row per group, so the cost is one
indexed pass over the window's messages per figure, never a Python loop over messages. Periods are
UTC days, ISO weeks (starting Monday) and calendar months.
"""

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import connection
from django.db.models import Count, DateField, F, FloatField, Func, Q, Sum
from django.db.models.functions import Coalesce, Round, Substr, Trunc

from .models import ChatSession, Message, Role

GRANULARITIES = ("day", "week", "month")
# Topics read at most this many user messages of the window (the newest), each cut to TOPIC_CHARS.
TOPIC_SAMPLE_MESSAGES = 1000
TOPIC_CHARS = 1000
TOP_TOOLS = 20
TOP_TOPICS = 15


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


@dataclass(frozen=True)
class Window:
    since: datetime  # inclusive
    until: datetime  # exclusive
    granularity: str

    def periods(self) -> list[date]:
        """Every period start from the one holding `since` to the one holding the last instant."""
        first = period_start(self.since.astimezone(UTC).date(), self.granularity)
        last = period_start((self.until - timedelta(microseconds=1)).astimezone(UTC).date(), self.granularity)
        periods = []
        current = first
        while current <= last:
            periods.append(current)
            current = next_period(current, self.granularity)
        return periods


def period_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def next_period(start: date, granularity: str) -> date:
    if granularity == "week":
        return start + timedelta(days=7)
    if granularity == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def summarize(*, user, window: Window) -> dict:
    """Sessions, messages and tokens (totals and per period, by role and mode), tool usage,
    assistant performance and topics of `user`'s data in `window`."""
    messages = Message.objects.owned_by(user).filter(created_at__gte=window.since, created_at__lt=window.until)
    sessions = ChatSession.objects.owned_by(user).started_between(window.since, window.until)
    periods = window.periods()
    volume, timing = _volume(sessions, messages, window.granularity, periods)
    return {
        "since": window.since,
        "until": window.until,
        "granularity": window.granularity,
        **volume,
        "tools": _tool_counts(messages),
        "performance": _performance(messages, timing, periods),
        "topics": _topics(messages),
    }


def _empty_counts() -> dict:
    return {"sessions": 0, "messages": 0, "tokens": 0}


# A reply counts for performance when it logged a positive latency.
TIMED_REPLY = Q(role=Role.ASSISTANT, latency__gt=0)


def _volume(sessions, messages, granularity, periods) -> tuple[dict, dict]:
    """Totals and per-period series of sessions (by start), messages and tokens, by role and mode;
    and per period the sums the performance figures need (read in the same pass over messages).

    Completion tokens are metadata `completion_tokens`, else the reply's stored token count.
    """
    totals = {**_empty_counts(), "by_role": {}, "by_mode": {}}
    series = {period: {**_empty_counts(), "by_role": {}, "by_mode": {}} for period in periods}
    timing = {period: {"replies": 0, "latency_total": 0.0, "completion_total": 0.0} for period in periods}

    started = (
        sessions.annotate(period=PeriodStart("started_at", granularity))
        .values("period", "mode")
        .annotate(count=Count("id"))
        .order_by()
    )
    for row in started:
        for bucket in (totals, series[row["period"]]):
            bucket["sessions"] += row["count"]
            bucket["by_mode"].setdefault(row["mode"], _empty_counts())["sessions"] += row["count"]

    # One pass over the window's messages, grouped by period, role and the session's mode.
    written = (
        messages.annotate(
            period=PeriodStart("created_at", granularity),
            latency=JSONNumber("latency_ms"),
            completion=Coalesce(JSONNumber("completion_tokens"), F("token_count"), output_field=FloatField()),
        )
        .values("period", "role", "session__mode")
        .annotate(
            count=Count("id"),
            tokens=Coalesce(Sum("token_count"), 0),
            replies=Count("id", filter=TIMED_REPLY),
            latency_total=Sum("latency", filter=TIMED_REPLY),
            completion_total=Sum("completion", filter=TIMED_REPLY),
        )
        .order_by()
    )
    for row in written:
        for bucket in (totals, series[row["period"]]):
            bucket["messages"] += row["count"]
            bucket["tokens"] += row["tokens"]
            by_role = bucket["by_role"].setdefault(row["role"], {"messages": 0, "tokens": 0})
            by_role["messages"] += row["count"]
            by_role["tokens"] += row["tokens"]
            by_mode = bucket["by_mode"].setdefault(row["session__mode"], _empty_counts())
            by_mode["messages"] += row["count"]
            by_mode["tokens"] += row["tokens"]
        if row["replies"]:
            period_timing = timing[row["period"]]
            period_timing["replies"] += row["replies"]
            period_timing["latency_total"] += row["latency_total"]
            period_timing["completion_total"] += row["completion_total"]
    volume = {"totals": totals, "series": [{"period": period, **series[period]} for period in periods]}
    return volume, timing


def _tool_counts(messages) -> list[dict]:
    """How often each tool name appears in metadata `tools` (strings, or objects with a `name`).

    The array is unnested in SQL (json_each / jsonb_array_elements): the two dialects differ only there.
    """
    inner_sql, params = messages.filter(metadata__has_key="tools").values("metadata").order_by().query.sql_with_params()
    if connection.vendor == "postgresql":
        elements = (
            "CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(m.metadata -> 'tools') = 'array' "
            "THEN m.metadata -> 'tools' ELSE '[]'::jsonb END) AS tool"
        )
        name = "CASE jsonb_typeof(tool) WHEN 'string' THEN tool #>> '{}' WHEN 'object' THEN tool ->> 'name' END"
    else:
        elements = (
            ", json_each(CASE WHEN json_type(m.metadata, '$.tools') = 'array' "
            "THEN json_extract(m.metadata, '$.tools') ELSE '[]' END) AS tool"
        )
        name = "CASE tool.type WHEN 'text' THEN tool.value WHEN 'object' THEN json_extract(tool.value, '$.name') END"
    sql = (
        f"SELECT name, COUNT(*) AS uses FROM (SELECT {name} AS name FROM ({inner_sql}) AS m {elements}) AS named "
        f"WHERE name IS NOT NULL AND name <> '' GROUP BY name ORDER BY uses DESC, name LIMIT {TOP_TOOLS}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [{"name": name[:100], "count": uses} for name, uses in cursor.fetchall()]


def _performance(messages, timing: dict, periods) -> dict:
    """Assistant latency (p50/p95, by nearest rank on whole milliseconds) and tokens per second
    (completion tokens over latency), from `timing` per period and a latency histogram."""
    # A histogram of whole milliseconds: a few thousand rows at most, whatever the message count.
    histogram = list(
        messages.filter(role=Role.ASSISTANT)
        .annotate(latency=JSONNumber("latency_ms"))
        .filter(latency__gt=0)
        .annotate(ms=Round("latency"))
        .values_list("ms")
        .annotate(replies=Count("id"))
        .order_by("ms")
    )
    series = [
        {
            "period": period,
            "replies": timing[period]["replies"],
            "latency_ms_mean": (
                round(timing[period]["latency_total"] / timing[period]["replies"], 1) if timing[period]["replies"] else None
            ),
            "tokens_per_second": (
                _rate(timing[period]["completion_total"], timing[period]["latency_total"])
                if timing[period]["replies"] else None
            ),
        }
        for period in periods
    ]
    replies = sum(count for _, count in histogram)
    latency_total = sum(period["latency_total"] for period in timing.values())
    completion_total = sum(period["completion_total"] for period in timing.values())
    return {
        "replies": replies,
        "latency_ms": {"p50": _nearest_rank(histogram, replies, 50), "p95": _nearest_rank(histogram, replies, 95)},
        "tokens_per_second": _rate(completion_total, latency_total) if replies else None,
        "series": series,
    }


def _rate(tokens: float, latency_ms: float) -> float:
    return round(tokens * 1000 / latency_ms, 2)


def _nearest_rank(histogram: list[tuple[float, int]], total: int, percent: int) -> float | None:
    """The smallest value with at least `percent`% of the values at or below it."""
    if not total:
        return None
    rank = math.ceil(percent / 100 * total)
    seen = 0
    for value, count in histogram:
        seen += count
        if seen >= rank:
            return value
    return histogram[-1][0]


# Words of three or more characters that start with a letter (keeps "c++", "c#", "gpt-4", "don't").
WORD = re.compile(r"[^\W\d_][\w'+#-]+[\w+#]")
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been before being
    below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during
    each else etc even ever every few for from further get gets getting give go going got had hadn't has hasn't
    have haven't having he he'd he'll he's her here here's hers herself him himself his how how's however i i'd
    i'll i'm i've if in into is isn't it it's its itself just let let's like make many may me might more most
    much must mustn't my myself need no nor not now of off ok okay on once one only or other ought our ours
    ourselves out over own please really same say says shall shan't she she'd she'll she's should shouldn't
    so some such sure than thank thanks that that's the their theirs them themselves then there there's these
    they they'd they'll they're they've thing things think this those though through to too two under until
    up upon us use used using very want was wasn't way we we'd we'll we're we've well were weren't what what's
    when when's where where's whether which while who who's whom why why's will with won't would wouldn't yes
    yet you you'd you'll you're you've your yours yourself yourselves""".split()
)


def _topics(messages) -> list[dict]:
    """The window's top terms in user messages, scored TF-IDF-like with each session as a document.

    1. Read the newest TOPIC_SAMPLE_MESSAGES user messages, each cut to TOPIC_CHARS (bounded work).
    2. Per session, count words of 3+ characters that are not stop words.
    3. Score a term: sum over sessions of (1 + log tf) * idf, idf = log((1 + N) / (1 + df)) + 1.
    """
    sample = (
        messages.filter(role=Role.USER)
        .order_by("-created_at")
        .values_list("session_id", Substr("content", 1, TOPIC_CHARS))[:TOPIC_SAMPLE_MESSAGES]
    )
    per_session: dict[int, Counter] = defaultdict(Counter)
    for session_pk, text in sample:
        per_session[session_pk].update(word for word in WORD.findall(text.lower()) if word not in STOP_WORDS)
    documents = len(per_session)
    document_frequency = Counter(term for counts in per_session.values() for term in counts)
    scores: Counter = Counter()
    for counts in per_session.values():
        for term, count in counts.items():
            idf = math.log((1 + documents) / (1 + document_frequency[term])) + 1
            scores[term] += (1 + math.log(count)) * idf
    return [
        {"term": term, "score": round(score, 3), "sessions": document_frequency[term]}
        for term, score in sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:TOP_TOPICS]
    ]


def overview(*, user, now: datetime) -> dict:
    """All-time totals of `user`, and the last 7 days against the 7 before (sessions by start)."""
    totals = ChatSession.objects.owned_by(user).aggregate(
        sessions=Count("id"),
        messages=Coalesce(Sum("message_count"), 0),
        tokens=Coalesce(Sum("token_count"), 0),
    )
    week_start, last_week_start = now - timedelta(days=7), now - timedelta(days=14)
    this_week, last_week = Q(started_at__gte=week_start), Q(started_at__lt=week_start)
    sessions = (
        ChatSession.objects.owned_by(user)
        .filter(started_at__gte=last_week_start, started_at__lt=now)
        .aggregate(this_week=Count("id", filter=this_week), last_week=Count("id", filter=last_week))
    )
    this_week, last_week = Q(created_at__gte=week_start), Q(created_at__lt=week_start)
    written = (
        Message.objects.owned_by(user)
        .filter(created_at__gte=last_week_start, created_at__lt=now)
        .aggregate(
            messages_this_week=Count("id", filter=this_week),
            messages_last_week=Count("id", filter=last_week),
            tokens_this_week=Coalesce(Sum("token_count", filter=this_week), 0),
            tokens_last_week=Coalesce(Sum("token_count", filter=last_week), 0),
        )
    )
    return {
        "totals": totals,
        "this_week": {"sessions": sessions["this_week"], "messages": written["messages_this_week"],
                      "tokens": written["tokens_this_week"]},
        "last_week": {"sessions": sessions["last_week"], "messages": written["messages_last_week"],
                      "tokens": written["tokens_last_week"]},
    }
