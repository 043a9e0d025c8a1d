import pytest

from sessions_app.services import end_session
from sessions_app.tokens import count_tokens
from tests.factories import add_messages, make_conversation


def context(client, **body):
    return client.post("/api/memory/context", body, format="json")


def remember(client, text):
    client.post("/api/memory/items/", {"layer": "long_term", "text": text}, format="json")


def test_context_brings_tasks_recent_lines_and_matches_with_reasons(alice_api, alice, alice_session):
    alice_api.post(
        "/api/memory/items/",
        {"layer": "working", "text": "Finish the invoice export", "session_id": alice_session.session_id},
        format="json",
    )
    remember(alice_api, "Invoices are due on the 5th of each month.")
    remember(alice_api, "The cat is called Miso.")
    past = make_conversation(alice, title="Invoice template", turns=(("user", "Design an invoice template"),))
    end_session(session=past)
    add_messages(alice_session, ("user", "When are invoices due?"))

    response = context(alice_api, session_id=alice_session.session_id)
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "When are invoices due?"  # the latest user message, by default
    by_layer = {}
    for piece in body["items"]:
        by_layer.setdefault(piece["layer"], []).append(piece)
        assert piece["reason"] and piece["tokens"] == count_tokens(piece["text"])
    assert by_layer["working"][0]["reason"] == "open task from this session"
    assert by_layer["short_term"][0]["text"] == "User: When are invoices due?"
    assert by_layer["long_term"][0]["text"] == "Invoices are due on the 5th of each month."
    assert by_layer["long_term"][0]["reason"] == "matches the latest user message"
    assert "Miso" not in str(by_layer["long_term"])
    assert by_layer["episodic"][0]["text"].startswith("Invoice template")
    assert body["used_tokens"] == sum(piece["tokens"] for piece in body["items"])


@pytest.mark.parametrize("budget", [5, 40, 120])
def test_context_stays_within_its_budget(alice_api, alice_session, budget):
    add_messages(alice_session, *[("user", f"Message number {n} about the garden shed roof") for n in range(30)])
    for n in range(10):
        remember(alice_api, f"Garden fact {n}: the shed roof needs felt and nails, batch {n}")
    body = context(alice_api, session_id=alice_session.session_id, query="garden shed", budget_tokens=budget).json()
    assert body["budget_tokens"] == budget
    assert body["used_tokens"] <= budget
    assert (body["used_tokens"] > 0) == (budget >= 40)  # 5 tokens hold no whole piece; pieces are never cut
    assert body["used_tokens"] == sum(piece["tokens"] for piece in body["items"])
    if budget >= 120:
        assert {"short_term", "long_term"} <= {piece["layer"] for piece in body["items"]}


def test_the_recent_lines_read_oldest_first_and_the_newest_are_kept(alice_api, alice_session):
    add_messages(alice_session, *[("user", f"line {n}") for n in range(10)])
    body = context(alice_api, session_id=alice_session.session_id, query="nothing matches", budget_tokens=20).json()
    lines = [piece["text"] for piece in body["items"] if piece["layer"] == "short_term"]
    assert lines and lines[-1] == "User: line 9"
    assert lines == sorted(lines, key=lambda text: int(text.split()[-1]))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"session_id": None}, "session_id"),
        ({"session_id": "nothex"}, "session_id"),
        ({"budget_tokens": 0}, "budget_tokens"),
        ({"budget_tokens": 10**6}, "budget_tokens"),
        ({"query": 5}, "query"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_context_requests_are_a_400_naming_the_field(alice_api, alice_session, body, field):
    response = context(alice_api, **{"session_id": alice_session.session_id, **body})
    assert response.status_code == 400
    assert field in response.json()


def test_context_answers_with_a_trailing_slash_too(alice_api, alice_session):
    assert alice_api.post("/api/memory/context/", {"session_id": alice_session.session_id}, format="json").status_code == 200
