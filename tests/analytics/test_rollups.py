"""The summary reads daily rollups: after every kind of write, it must still agree with a plain count
over the messages themselves (computed here in Python, one message at a time)."""

import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from analytics_app.models import DailyActivity
from sessions_app import services
from sessions_app.models import ChatSession, Message
from sessions_app.services import NewMessage
from tests.factories import make_session

START = datetime(2026, 5, 4, tzinfo=UTC)  # a Monday
TOOLS = ["web_search", "python", "calculator"]


def random_messages(rng: random.Random, count: int, first_day: int, days: int) -> list[NewMessage]:
    moments = sorted(START + timedelta(days=first_day + rng.randrange(days), minutes=rng.randrange(24 * 60))
                     for _ in range(count))
    messages = []
    for moment in moments:
        role = rng.choice(["user", "assistant", "assistant", "tool"])
        metadata = {}
        if role == "assistant" and rng.random() < 0.8:
            metadata["latency_ms"] = rng.choice([rng.randrange(50, 9000), "n/a"])
            if rng.random() < 0.5:
                metadata["completion_tokens"] = rng.randrange(1, 400)
        if rng.random() < 0.3:
            metadata["tools"] = [rng.choice(TOOLS) for _ in range(rng.randrange(1, 3))]
        messages.append(NewMessage(role=role, content=" ".join(rng.choices(["alpha", "beta", "gamma"], k=5)),
                                   created_at=moment, metadata=metadata))
    return messages


def expected_summary(user, since: datetime, until: datetime) -> dict:
    """The figures worked out message by message, without SQL aggregation."""
    rows = Message.objects.filter(session__owner=user, created_at__gte=since, created_at__lt=until).values(
        "role", "token_count", "metadata", "session__mode"
    )
    by_role, by_mode, tools, latencies = Counter(), Counter(), Counter(), []
    tokens = 0
    for row in rows:
        by_role[row["role"]] += 1
        by_mode[row["session__mode"]] += 1
        tokens += row["token_count"]
        tools.update(row["metadata"].get("tools", []))
        latency = row["metadata"].get("latency_ms")
        if row["role"] == "assistant" and isinstance(latency, int) and latency > 0:
            latencies.append(latency)
    latencies.sort()
    return {
        "messages": sum(by_role.values()),
        "tokens": tokens,
        "by_role": dict(by_role),
        "by_mode": dict(by_mode),
        "tools": dict(tools),
        "replies": len(latencies),
        "p50": latencies[math.ceil(len(latencies) / 2) - 1] if latencies else None,
        "p95": latencies[math.ceil(len(latencies) * 0.95) - 1] if latencies else None,
    }


def assert_summary_agrees(client, user, since: datetime, until: datetime):
    response = client.get("/api/analytics/summary", {"since": since.isoformat(), "until": until.isoformat(),
                                                      "granularity": "week"})
    assert response.status_code == 200, response.content
    body = response.json()
    expected = expected_summary(user, since, until)
    totals = body["totals"]
    assert (totals["messages"], totals["tokens"]) == (expected["messages"], expected["tokens"])
    assert {role: counts["messages"] for role, counts in totals["by_role"].items()} == expected["by_role"]
    assert {mode: counts["messages"] for mode, counts in totals["by_mode"].items() if counts["messages"]} == (
        expected["by_mode"]
    )
    assert sum(point["messages"] for point in body["series"]) == expected["messages"]
    assert {tool["name"]: tool["count"] for tool in body["tools"]} == expected["tools"]
    performance = body["performance"]
    assert performance["replies"] == expected["replies"]
    for percentile in ("p50", "p95"):
        assert performance["latency_ms"][percentile] == pytest.approx(expected[percentile], rel=0.01, abs=1)


WINDOWS = [
    (START, START + timedelta(days=14)),  # whole days: rollups only
    (START + timedelta(days=2, hours=7, minutes=30), START + timedelta(days=9, hours=15)),  # partial ends
    (START + timedelta(days=5, hours=3), START + timedelta(days=5, hours=20)),  # inside one day
]


def assert_every_window_agrees(client, user):
    for since, until in WINDOWS:
        assert_summary_agrees(client, user, since, until)


@pytest.fixture
def history(alice, bob):
    rng = random.Random(5)
    sessions = []
    for index in range(5):
        session = make_session(alice, metadata={"mode": ["chat", "commander", ""][index % 3]},
                               started_at=START + timedelta(days=index))
        services.append_messages(session=session, messages=random_messages(rng, 60, index, 10))
        sessions.append(session)
    services.append_messages(session=make_session(bob), messages=random_messages(rng, 40, 0, 14))
    return rng, sessions


def test_the_summary_agrees_with_the_messages_through_every_kind_of_write(alice_api, alice, bob, history):
    rng, sessions = history
    assert_every_window_agrees(alice_api, alice)

    # More messages, on days whose rollups are already filled.
    services.append_messages(session=sessions[0], messages=random_messages(rng, 30, 3, 8))
    assert_every_window_agrees(alice_api, alice)

    # A session deleted through the API.
    assert alice_api.delete(f"/api/sessions/{sessions[1].session_id}/").status_code == 204
    assert_every_window_agrees(alice_api, alice)

    # A session's mode changed by a plain update, as an archive import restores it.
    ChatSession.objects.filter(pk=sessions[2].pk).update(mode="researcher")
    assert_every_window_agrees(alice_api, alice)

    # Messages edited in place (the admin can): new latencies and tools, and one moved to another day.
    edited = Message.objects.filter(session=sessions[3], role="assistant")[:5]
    for message in edited:
        Message.objects.filter(pk=message.pk).update(metadata={"latency_ms": 77, "tools": ["python"]})
    Message.objects.filter(pk=edited[0].pk).update(created_at=START + timedelta(days=12, hours=1))
    assert_every_window_agrees(alice_api, alice)

    # A session handed to another user (the admin can): it leaves alice's figures and joins bob's.
    ChatSession.objects.filter(pk=sessions[4].pk).update(owner=bob)
    assert_every_window_agrees(alice_api, alice)
    alice_api.force_authenticate(bob)
    assert_every_window_agrees(alice_api, bob)


def test_percentiles_of_many_distinct_latencies_are_within_one_percent(alice_api, alice):
    session = make_session(alice)
    latencies = [37 + 13 * index for index in range(700)]
    random.Random(1).shuffle(latencies)
    services.append_messages(session=session, messages=[
        NewMessage(role="assistant", content="ok", created_at=START + timedelta(minutes=index),
                   metadata={"latency_ms": latency})
        for index, latency in enumerate(latencies)
    ])
    assert_summary_agrees(alice_api, alice, START, START + timedelta(days=1))


def test_refresh_analytics_rebuild_repairs_rollups(alice_api, alice, history):
    since, until = WINDOWS[0]
    assert_summary_agrees(alice_api, alice, since, until)
    DailyActivity.objects.filter(owner=alice).update(messages=0, tokens=0)  # damage no trigger sees

    call_command("refresh_analytics", "--rebuild", verbosity=0)

    assert_summary_agrees(alice_api, alice, since, until)


# Transactional: `migrate` runs DDL that PostgreSQL refuses inside the test's wrapping transaction.
@pytest.mark.django_db(transaction=True)
def test_migrate_recreates_a_dropped_trigger_and_recounts_what_it_missed(alice_api, alice, history):
    rng, sessions = history
    assert_every_window_agrees(alice_api, alice)  # rollups filled, nothing stale
    # What a SQLite table rebuild in a later migration does to the triggers.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER analytics_stale_message_insert ON sessions_app_message")
        else:
            cursor.execute("DROP TRIGGER analytics_stale_message_insert")
    services.append_messages(session=sessions[0], messages=random_messages(rng, 20, 2, 6))  # unmarked

    call_command("migrate", verbosity=0)

    assert_every_window_agrees(alice_api, alice)
    services.append_messages(session=sessions[0], messages=random_messages(rng, 20, 2, 6))  # marked again
    assert_every_window_agrees(alice_api, alice)
