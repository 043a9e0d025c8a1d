"""Analytics over one user's sessions and messages.

Messages, tokens, tools and latency come from daily rollups (rollups.py: a few rows per day, not one
per message), folded here into periods: UTC days, ISO weeks (starting Monday) and calendar months.
Sessions are counted from their own table, topics from a bounded sample of the window's messages.
"""

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, Substr

from sessions_app.models import ChatSession, Message, Role

from . import rollups
from .rollups import PeriodStart

GRANULARITIES = ("day", "week", "month")
# Topics read at most this many user messages of the window (the newest), each cut to TOPIC_CHARS.
TOPIC_SAMPLE_MESSAGES = 1000
TOPIC_CHARS = 1000
TOP_TOOLS = 20
TOP_TOPICS = 15
# The analytics page shows only terms found in at least this many sessions: a word of one session is
# that session's subject, not a topic of the user's.
PAGE_MIN_TOPIC_SESSIONS = 2


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


def summarize(*, user, window: Window, min_topic_sessions: int = 1) -> dict:
    """Sessions, messages and tokens (totals and per period, by role and mode), tool usage,
    assistant performance and topics (terms of at least `min_topic_sessions` sessions) of `user`'s data
    in `window`."""
    sessions = ChatSession.objects.owned_by(user).started_between(window.since, window.until)
    periods = window.periods()
    day_rows = rollups.window_rows(user.pk, window.since, window.until)
    return {
        "since": window.since,
        "until": window.until,
        "granularity": window.granularity,
        **_volume(sessions, day_rows.activity, window.granularity, periods),
        "tools": _tool_counts(day_rows.tools),
        "performance": _performance(day_rows, window.granularity, periods),
        "topics": _topics(user, window, day_rows.activity, min_sessions=min_topic_sessions),
    }


def _empty_counts() -> dict:
    return {"sessions": 0, "messages": 0, "tokens": 0}


def _volume(sessions, activity: list[dict], granularity, periods) -> dict:
    """Totals and per-period series of sessions (by start), messages and tokens, by role and mode."""
    totals = {**_empty_counts(), "by_role": {}, "by_mode": {}}
    series = {period: {**_empty_counts(), "by_role": {}, "by_mode": {}} for period in periods}
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
    for row in activity:
        for bucket in (totals, series[period_start(row["day"], granularity)]):
            bucket["messages"] += row["messages"]
            bucket["tokens"] += row["tokens"]
            by_role = bucket["by_role"].setdefault(row["role"], {"messages": 0, "tokens": 0})
            by_role["messages"] += row["messages"]
            by_role["tokens"] += row["tokens"]
            by_mode = bucket["by_mode"].setdefault(row["mode"], _empty_counts())
            by_mode["messages"] += row["messages"]
            by_mode["tokens"] += row["tokens"]
    return {"totals": totals, "series": [{"period": period, **series[period]} for period in periods]}


def _tool_counts(tools: list[dict]) -> list[dict]:
    """The most used tools of the window, most used first."""
    uses: Counter = Counter()
    for row in tools:
        uses[row["name"]] += row["uses"]
    ranked = sorted(uses.items(), key=lambda item: (-item[1], item[0]))[:TOP_TOOLS]
    return [{"name": name, "count": count} for name, count in ranked]


class _Timing:
    """Timed replies of a period or the whole window: their latency and completion token sums, and a
    latency histogram {bucket: [replies, lowest, highest]} for percentiles."""

    def __init__(self):
        self.replies = 0
        self.latency_total = 0.0
        self.completion_total = 0.0
        self.histogram: dict[int, list] = {}

    def add_histogram(self, histogram: list[list]) -> None:
        for bucket, replies, lowest, highest in histogram:
            held = self.histogram.get(bucket)
            if held is None:
                self.histogram[bucket] = [replies, lowest, highest]
            else:
                held[0] += replies
                held[1] = min(held[1], lowest)
                held[2] = max(held[2], highest)

    def figures(self) -> dict:
        return {
            "replies": self.replies,
            "latency_ms": {"p50": self.percentile(50), "p95": self.percentile(95)},
            "latency_ms_mean": round(self.latency_total / self.replies, 1) if self.replies else None,
            "tokens_per_second": (
                round(self.completion_total * 1000 / self.latency_total, 2) if self.replies else None
            ),
        }

    def percentile(self, percent: int) -> int | None:
        """Nearest rank, in whole milliseconds: the bucket holding the rank-th smallest latency, read
        as its representative value kept within the latencies it actually holds (so a bucket of one
        distinct value answers that value exactly, and any other answer is within 1%)."""
        total = sum(replies for replies, _, _ in self.histogram.values())
        if not total:
            return None
        rank = math.ceil(percent / 100 * total)
        seen = 0
        for bucket in sorted(self.histogram):
            replies, lowest, highest = self.histogram[bucket]
            seen += replies
            if seen >= rank:
                return round(min(max(rollups.bucket_value(bucket), lowest), highest))
        raise AssertionError("unreachable: the ranks sum to the total")


def _performance(day_rows: rollups.DayRows, granularity, periods) -> dict:
    """Assistant latency (p50/p95 by nearest rank) and tokens per second (completion tokens over
    latency), for the window and per period."""
    window = _Timing()
    by_period = {period: _Timing() for period in periods}
    for row in day_rows.activity:
        if row["replies"]:
            for timing in (window, by_period[period_start(row["day"], granularity)]):
                timing.replies += row["replies"]
                timing.latency_total += row["latency_total"]
                timing.completion_total += row["completion_total"]
    for day, histogram in day_rows.latency:
        window.add_histogram(histogram)
        by_period[period_start(day, granularity)].add_histogram(histogram)
    return {**window.figures(), "series": [{"period": period, **by_period[period].figures()} for period in periods]}


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


# What people paste rather than write: code (fenced, to the end of the text when the cut left it open,
# and inline), URLs and other dotted names (example.com, os.path), e-mail addresses, HTML tags and
# entities, and a Markdown link's target (its text stays).
_NOT_WRITTEN = re.compile(
    r"""^[ ]{0,3}(?P<fence>`{3,}|~{3,}).*?(?:^[ ]{0,3}(?P=fence)[ \t]*$|\Z)
    | (?P<ticks>`+).+?(?P=ticks)
    | \]\([^)\s]*(?:\s+"[^"]*")?\)
    | \b(?:[a-z][a-z0-9+.-]*://|www\.|mailto:)\S*
    | [\w.+-]+@[\w-]+(?:\.[\w-]+)+
    | [\w-]+(?:\.[\w-]+)+
    | </?[a-z][^>]*>
    | &\#?\w+;""",
    re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE,
)


def written_words(text: str) -> list[str]:
    """The lowercase words of `text` a person wrote: no code, URLs, Markdown or HTML, no stop words."""
    prose = _NOT_WRITTEN.sub(" ", text)
    return [word for word in WORD.findall(prose.lower()) if word not in STOP_WORDS]


def _topics(user, window: Window, activity: list[dict], *, min_sessions: int = 1) -> list[dict]:
    """The window's top terms in user messages, scored TF-IDF-like with each session as a document.

    1. Read the newest TOPIC_SAMPLE_MESSAGES user messages, each cut to TOPIC_CHARS (bounded work).
    2. Per session, count the written words (written_words) of 3+ characters.
    3. Score a term found in `min_sessions` sessions or more: sum over sessions of (1 + log tf) * idf,
       idf = log((1 + N) / (1 + df)) + 1.
    """
    sample = (
        # Walks the created_at index back from `until` and stops at the sample's size (3 s at 1M messages
        # when the owner was tested on a join instead).
        Message.objects.owned_by_over_time(user)
        .filter(
            role=Role.USER,
            created_at__gte=_sample_start(window, activity),
            created_at__lt=window.until,
        )
        .order_by("-created_at")
        .values_list("session_id", Substr("content", 1, TOPIC_CHARS))[:TOPIC_SAMPLE_MESSAGES]
    )
    per_session: dict[int, Counter] = defaultdict(Counter)
    for session_pk, text in sample:
        per_session[session_pk].update(written_words(text))
    documents = len(per_session)
    document_frequency = Counter(term for counts in per_session.values() for term in counts)
    scores: Counter = Counter()
    for counts in per_session.values():
        for term, count in counts.items():
            if document_frequency[term] < min_sessions:
                continue
            idf = math.log((1 + documents) / (1 + document_frequency[term])) + 1
            scores[term] += (1 + math.log(count)) * idf
    return [
        {"term": term, "score": round(score, 3), "sessions": document_frequency[term]}
        for term, score in sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:TOP_TOPICS]
    ]


def _sample_start(window: Window, activity: list[dict]) -> datetime:
    """The start of the newest day from which the window holds TOPIC_SAMPLE_MESSAGES user messages (the
    daily counts say which), so the sample's scan never goes further back than it must."""
    user_messages: Counter = Counter()
    for row in activity:
        if row["role"] == Role.USER:
            user_messages[row["day"]] += row["messages"]
    seen = 0
    for day in sorted(user_messages, reverse=True):
        seen += user_messages[day]
        if seen >= TOPIC_SAMPLE_MESSAGES:
            return max(window.since, datetime.combine(day, time(), tzinfo=UTC))
    return window.since


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
    written = {}
    for name, since, until in (("this_week", week_start, now), ("last_week", last_week_start, week_start)):
        activity = rollups.window_rows(user.pk, since, until, figures=("activity",)).activity
        written[name] = {"messages": sum(row["messages"] for row in activity),
                         "tokens": sum(row["tokens"] for row in activity)}
    return {
        "totals": totals,
        "this_week": {"sessions": sessions["this_week"], **written["this_week"]},
        "last_week": {"sessions": sessions["last_week"], **written["last_week"]},
    }
