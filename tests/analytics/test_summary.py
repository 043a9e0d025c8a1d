"""GET /api/analytics/summary against figures worked out by hand from a small, dated history."""

import math
from datetime import UTC, datetime

import pytest

from sessions_app import services
from sessions_app.services import NewMessage
from tests.factories import make_session


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def append(session, *messages):
    return services.append_messages(session=session, messages=list(messages)).messages


@pytest.fixture
def history(alice, bob):
    """Two of alice's sessions in March 2026 (weeks of Mon 2 and Mon 9), and one of bob's."""
    first = make_session(alice, title="Indexes", metadata={"mode": "commander"}, started_at=at(2, 10))
    first_messages = append(
        first,
        NewMessage(role="user", content="How to index Django querysets?", created_at=at(2, 10)),
        NewMessage(role="assistant", content="Add db_index=True or a Meta index.", created_at=at(2, 10, 1),
                   metadata={"latency_ms": 1000, "completion_tokens": 50, "tools": ["web_search", {"name": "python"}]}),
        NewMessage(role="user", content="django migrations squash", created_at=at(3, 9)),
        NewMessage(role="assistant", content="Run squashmigrations.", created_at=at(3, 9, 1),
                   metadata={"latency_ms": 3000, "tools": ["web_search"]}),
    )
    second = make_session(alice, title="Vacuum", started_at=at(10, 8))
    second_messages = append(
        second,
        NewMessage(role="user", content="postgres vacuum tuning", created_at=at(10, 8)),
        NewMessage(role="assistant", content="Lower autovacuum_vacuum_scale_factor.", created_at=at(10, 8, 1),
                   metadata={"latency_ms": 2000, "completion_tokens": 30}),
        NewMessage(role="assistant", content="Also check bloat.", created_at=at(10, 8, 2),
                   metadata={"latency_ms": "slow", "tools": "web_search"}),
        NewMessage(role="tool", content="{}", created_at=at(10, 8, 3), metadata={"tools": [{"args": {}}, 7]}),
    )
    theirs = make_session(bob, title="Bob's", metadata={"mode": "commander"}, started_at=at(2, 11))
    append(theirs, NewMessage(role="user", content="django django django", created_at=at(2, 11),
                              metadata={"tools": ["bobs_tool"], "latency_ms": 5}))
    return first_messages, second_messages


def summary(client, **params):
    response = client.get("/api/analytics/summary", params)
    assert response.status_code == 200, response.content
    return response.json()


def tokens(messages):
    return sum(message.token_count for message in messages)


def test_totals_count_only_the_callers_sessions_messages_and_tokens(alice_api, history):
    first, second = history
    body = summary(alice_api, since="2026-03-01", until="2026-03-31", granularity="week")
    totals = body["totals"]
    assert totals["sessions"] == 2
    assert totals["messages"] == 8
    assert totals["tokens"] == tokens(first) + tokens(second)
    assert totals["by_role"] == {
        "user": {"messages": 3, "tokens": tokens([first[0], first[2], second[0]])},
        "assistant": {"messages": 4, "tokens": tokens([first[1], first[3], second[1], second[2]])},
        "tool": {"messages": 1, "tokens": second[3].token_count},
    }
    assert totals["by_mode"] == {
        "commander": {"sessions": 1, "messages": 4, "tokens": tokens(first)},
        "": {"sessions": 1, "messages": 4, "tokens": tokens(second)},
    }


def test_the_weekly_series_has_every_monday_of_the_window_including_empty_ones(alice_api, history):
    first, second = history
    body = summary(alice_api, since="2026-03-01", until="2026-03-31", granularity="week")
    assert [point["period"] for point in body["series"]] == [
        "2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"
    ]
    by_period = {point["period"]: point for point in body["series"]}
    assert by_period["2026-02-23"]["messages"] == 0
    assert (by_period["2026-03-02"]["sessions"], by_period["2026-03-02"]["messages"]) == (1, 4)
    assert by_period["2026-03-02"]["tokens"] == tokens(first)
    assert by_period["2026-03-09"]["by_role"]["assistant"] == {"messages": 2, "tokens": tokens(second[1:3])}
    assert by_period["2026-03-09"]["by_mode"] == {"": {"sessions": 1, "messages": 4, "tokens": tokens(second)}}


def test_daily_and_monthly_periods(alice_api, history):
    daily = summary(alice_api, since="2026-03-02", until="2026-03-03", granularity="day")
    assert [(point["period"], point["messages"]) for point in daily["series"]] == [
        ("2026-03-02", 2), ("2026-03-03", 2)
    ]
    monthly = summary(alice_api, since="2026-02-15", until="2026-03-15", granularity="month")
    assert [(point["period"], point["messages"]) for point in monthly["series"]] == [
        ("2026-02-01", 0), ("2026-03-01", 8)
    ]


def test_a_datetime_until_is_exclusive(alice_api, history):
    body = summary(alice_api, since="2026-03-02T10:00:00Z", until="2026-03-02T10:01:00Z")
    assert body["totals"]["messages"] == 1


def test_tool_usage_counts_names_from_strings_and_objects_in_tool_lists(alice_api, history):
    body = summary(alice_api, since="2026-03-01", until="2026-03-31")
    assert body["tools"] == [{"name": "web_search", "count": 2}, {"name": "python", "count": 1}]


def test_assistant_latency_percentiles_and_tokens_per_second(alice_api, history):
    first, second = history
    body = summary(alice_api, since="2026-03-01", until="2026-03-31", granularity="week")
    performance = body["performance"]
    # Latencies 1000, 3000, 2000 ms ("slow" is not a number): nearest rank p50 = 2nd of 3, p95 = 3rd.
    assert performance["replies"] == 3
    assert performance["latency_ms"] == {"p50": 2000, "p95": 3000}
    # Completion tokens: 50 and 30 logged; the reply without them counts its own stored tokens.
    completion = 50 + first[3].token_count + 30
    assert performance["tokens_per_second"] == round(completion / 6, 2)
    by_period = {point["period"]: point for point in performance["series"]}
    assert by_period["2026-03-02"]["replies"] == 2
    assert by_period["2026-03-02"]["latency_ms_mean"] == 2000
    assert by_period["2026-03-02"]["tokens_per_second"] == round((50 + first[3].token_count) / 4, 2)
    assert by_period["2026-03-09"]["tokens_per_second"] == 15.0
    # Per period too: the week of the 2nd timed 1000 and 3000 ms, the week of the 9th only 2000.
    assert by_period["2026-03-02"]["latency_ms"] == {"p50": 1000, "p95": 3000}
    assert by_period["2026-03-09"]["latency_ms"] == {"p50": 2000, "p95": 2000}
    assert by_period["2026-03-16"] == {
        "period": "2026-03-16", "replies": 0, "latency_ms": {"p50": None, "p95": None},
        "latency_ms_mean": None, "tokens_per_second": None,
    }


def test_topics_rank_terms_of_user_messages_by_tf_idf_over_sessions(alice_api, history):
    topics = summary(alice_api, since="2026-03-01", until="2026-03-31")["topics"]
    idf_one_session = math.log(3 / 2) + 1  # two sessions, the term in one of them
    assert topics[0] == {"term": "django", "score": round((1 + math.log(2)) * idf_one_session, 3), "sessions": 1}
    rest = {topic["term"]: topic["score"] for topic in topics[1:]}
    assert rest == dict.fromkeys(
        ["index", "querysets", "migrations", "squash", "postgres", "vacuum", "tuning"], round(idf_one_session, 3)
    )  # "how" and "to" are stop words; assistant text is not read


def test_an_empty_window_answers_zeros_and_no_percentiles(alice_api, history):
    body = summary(alice_api, since="2025-01-01", until="2025-01-03")
    assert body["totals"] == {"sessions": 0, "messages": 0, "tokens": 0, "by_role": {}, "by_mode": {}}
    assert len(body["series"]) == 3
    assert body["performance"]["latency_ms"] == {"p50": None, "p95": None}
    assert body["tools"] == [] and body["topics"] == []


def test_another_users_data_is_never_counted(bob_api, history):
    body = summary(bob_api, since="2026-03-01", until="2026-03-31")
    assert body["totals"]["messages"] == 1
    assert body["tools"] == [{"name": "bobs_tool", "count": 1}]
    assert [topic["term"] for topic in body["topics"]] == ["django"]


def test_the_path_answers_with_a_trailing_slash_too(alice_api, history):
    assert alice_api.get("/api/analytics/summary/", {"since": "2026-03-01"}).status_code == 200


@pytest.mark.parametrize(
    "params, field",
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"granularity": "hour"}, "granularity"),
        ({"since": "2026-03-10", "until": "2026-03-01"}, "until"),
        ({"since": "2000-01-01", "until": "2026-01-01", "granularity": "day"}, "granularity"),
        ({"since": "1900-01-01", "until": "9998-12-30", "granularity": "day"}, "granularity"),
        # Near datetime's limits: the day after 9999-12-31, a default span before year 1, a last month.
        ({"until": "9999-12-31"}, "until"),
        ({"until": "0001-01-05"}, "until"),
        ({"since": "9999-12-01T00:00:00Z", "granularity": "month"}, "since"),
    ],
)
def test_bad_parameters_answer_400_naming_the_field(alice_api, params, field):
    response = alice_api.get("/api/analytics/summary", params)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_anonymous_callers_are_refused(anonymous_api):
    assert anonymous_api.get("/api/analytics/summary").status_code in (401, 403)


def test_topics_leave_out_urls_code_markdown_and_html(alice_api, alice):
    pasted = """Deploying **Django** behind nginx, see https://example.com/docs?page=1 and www.example.org
```python
import numpy as np
print(np.zeros(3))
```
Run `manage.py collectstatic --noinput` as in [the guide](https://docs.djangoproject.com/en/5.2/howto/)
<div class="note">nginx</div> &amp; mail ops@example.net"""
    for day in (2, 3):
        append(make_session(alice, started_at=at(day)), NewMessage(role="user", content=pasted, created_at=at(day)))
    terms = {topic["term"] for topic in summary(alice_api, since="2026-03-01", until="2026-03-31")["topics"]}
    assert {"deploying", "django", "nginx", "run", "guide", "mail"} <= terms
    assert terms.isdisjoint({"https", "com", "example", "docs", "www", "org", "import", "numpy", "zeros", "print",
                             "python", "manage", "collectstatic", "noinput", "div", "class", "note", "amp", "ops"})


def test_the_analytics_page_shows_topics_of_two_sessions_or_more(client, alice):
    for day, words in ((2, "kubernetes ingress"), (3, "kubernetes helm"), (4, "terraform")):
        append(make_session(alice, started_at=at(day)), NewMessage(role="user", content=words, created_at=at(day)))
    client.force_login(alice)
    page = client.get("/analytics/", {"since": "2026-03-01", "until": "2026-03-31"}).content.decode()
    topics = page[page.index('id="chart-topics"'):page.index('id="chart-latency"')]
    assert "kubernetes" in topics
    assert "ingress" not in topics and "helm" not in topics and "terraform" not in topics
