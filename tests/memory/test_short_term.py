import pytest

from memory_app.models import Layer, MemoryItem
from sessions_app import services as session_services
from tests.factories import add_messages


def save(client, session_id, *contents):
    messages = [{"role": "user" if n % 2 == 0 else "assistant", "content": text} for n, text in enumerate(contents)]
    return client.post("/api/sessions/save", {"session_id": session_id, "messages": messages}, format="json")


def short_term_texts(client, session):
    response = client.get("/api/memory/items/", {"layer": "short_term", "session_id": session.session_id, "page_size": 200})
    assert response.status_code == 200
    return [item["text"] for item in response.json()["results"]]


def test_every_message_becomes_a_short_term_line(alice_api, alice_session):
    save(alice_api, alice_session.session_id, "How do I sort a list?", "Use sorted().")
    assert short_term_texts(alice_api, alice_session) == ["Assistant: Use sorted().", "User: How do I sort a list?"]


def test_short_term_keeps_the_newest_50(alice_api, alice_session):
    save(alice_api, alice_session.session_id, *[f"message {n}" for n in range(1, 41)])
    save(alice_api, alice_session.session_id, *[f"message {n}" for n in range(41, 61)])
    for n in range(61, 64):  # one message at a time past the limit
        save(alice_api, alice_session.session_id, f"message {n}")
    texts = short_term_texts(alice_api, alice_session)
    assert len(texts) == 50
    assert texts[0].endswith("message 63") and texts[-1].endswith("message 14")


def test_the_limit_is_a_setting(alice, alice_session, settings):
    settings.NOVAFORGE = {**settings.NOVAFORGE, "SHORT_TERM_LIMIT": 3}
    add_messages(alice_session, *[("user", f"line {n}") for n in range(5)])
    add_messages(alice_session, ("user", "line 5"))
    lines = MemoryItem.objects.filter(session=alice_session, layer=Layer.SHORT_TERM).order_by("id")
    assert [line.text for line in lines] == ["User: line 3", "User: line 4", "User: line 5"]


def test_lines_added_by_hand_are_bounded_too(alice_api, alice_session, settings):
    settings.NOVAFORGE = {**settings.NOVAFORGE, "SHORT_TERM_LIMIT": 2}
    for text in ("a", "b", "c"):
        response = alice_api.post(
            "/api/memory/items/", {"layer": "short_term", "text": text, "session_id": alice_session.session_id}, format="json"
        )
        assert response.status_code == 201
    assert short_term_texts(alice_api, alice_session) == ["c", "b"]


def test_ending_the_session_clears_its_short_term_memory(alice_api, alice_session, alice):
    other = session_services.start_session(owner=alice)
    save(alice_api, alice_session.session_id, "Remember the milk", "Noted.")
    save(alice_api, other.session_id, "Another chat")
    assert alice_api.post(f"/api/sessions/{alice_session.session_id}/end/").status_code == 200
    assert short_term_texts(alice_api, alice_session) == []
    assert short_term_texts(alice_api, other) == ["User: Another chat"]


def test_a_short_term_line_needs_an_open_session(alice_api, alice_session):
    no_session = alice_api.post("/api/memory/items/", {"layer": "short_term", "text": "x"}, format="json")
    assert no_session.status_code == 400 and "session_id" in no_session.json()
    session_services.end_session(session=alice_session)
    ended = alice_api.post(
        "/api/memory/items/", {"layer": "short_term", "text": "x", "session_id": alice_session.session_id}, format="json"
    )
    assert ended.status_code == 400 and "session_id" in ended.json()


@pytest.mark.parametrize("batch", [1, 20])
def test_the_write_path_adds_one_insert_and_at_most_one_delete(alice_session, django_assert_max_num_queries, batch):
    """Memory adds no per-message queries to appending messages: one INSERT, plus one DELETE past the limit."""
    add_messages(alice_session, *[("user", f"warm-up {n}") for n in range(60)])
    alice_session.refresh_from_db()
    with django_assert_max_num_queries(100) as captured:
        add_messages(alice_session, *[("user", f"new {n}") for n in range(batch)])
    memory_queries = [query["sql"] for query in captured.captured_queries if "memory_app_memoryitem" in query["sql"]]
    assert len(memory_queries) == 2
    assert memory_queries[0].lstrip().startswith("INSERT") and memory_queries[1].lstrip().startswith("DELETE")
    assert MemoryItem.objects.filter(session=alice_session, layer=Layer.SHORT_TERM).count() == 50
