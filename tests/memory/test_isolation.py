import pytest

from memory_app.models import MemoryItem
from tests.factories import add_messages


@pytest.fixture
def alice_fact(alice_api):
    return alice_api.post("/api/memory/items/", {"layer": "long_term", "text": "Alice's secret plan"}, format="json").json()


def test_bob_cannot_read_change_or_delete_alices_items(bob_api, alice_fact):
    url = f"/api/memory/items/{alice_fact['id']}/"
    assert bob_api.get(url).status_code == 404
    assert bob_api.patch(url, {"text": "mine now"}, format="json").status_code == 404
    assert bob_api.delete(url).status_code == 404
    assert MemoryItem.objects.get(pk=alice_fact["id"]).text == "Alice's secret plan"
    assert MemoryItem.objects.get(pk=alice_fact["id"]).access_count == 0


def test_bob_lists_and_finds_none_of_alices_memory(bob_api, alice_fact, alice_session):
    add_messages(alice_session, ("user", "secret plan details"))
    assert bob_api.get("/api/memory/items/").json()["count"] == 0
    assert bob_api.get("/api/memory/search/", {"q": "secret plan", "scope": "all"}).json()["results"] == []


def test_bob_gets_a_404_for_context_or_lines_on_alices_session(bob_api, alice_session):
    assert bob_api.post("/api/memory/context", {"session_id": alice_session.session_id}, format="json").status_code == 404
    response = bob_api.post(
        "/api/memory/items/", {"layer": "short_term", "text": "x", "session_id": alice_session.session_id}, format="json"
    )
    assert response.status_code == 404
    assert not MemoryItem.objects.filter(session=alice_session).exists()


def test_anonymous_requests_are_refused(anonymous_api):
    assert anonymous_api.get("/api/memory/items/").status_code in (401, 403)
    assert anonymous_api.get("/api/memory/search/", {"q": "x"}).status_code in (401, 403)
    assert anonymous_api.post("/api/memory/consolidate", {}, format="json").status_code in (401, 403)
