from datetime import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from memory_app.memory_system import AdvancedMemory
from sessions_app.logging_system import LoggingSystem
from tests.sessions.test_logging_system import assert_plain_json


def test_the_python_api_end_to_end(alice):
    logging = LoggingSystem(user="alice")
    logging.log_message(role="user", content="How do I rotate my API keys?")
    memory = AdvancedMemory(user="alice", session_id=logging.session_id)

    memory.short_term.add("User: How do I...")
    assert [line["text"] for line in memory.short_term.get_recent(n=5)] == [
        "User: How do I rotate my API keys?",
        "User: How do I...",
    ]

    memory.long_term.add("Key concept", category="learning")
    again = memory.long_term.add("key concept.", category="learning")
    assert again["strength"] == 2
    assert [fact["text"] for fact in memory.long_term.get("learning")] == ["Key concept"]
    assert memory.long_term.get("other") == []
    assert memory.long_term.search("concept")[0]["item"]["text"] == "Key concept"

    task = memory.working.add("Rotate the keys", context={"service": "billing"})
    assert [t["id"] for t in memory.working.active()] == [task["id"]]
    assert memory.working.complete(task["id"])["status"] == "done"
    assert memory.working.active() == []

    logging.end_session()
    assert memory.short_term.get_recent(n=5) == []
    month = logging.session.started_at.strftime("%Y-%m")
    [episode] = memory.episodic.by_month(month)
    assert episode["session_id"] == logging.session_id
    assert memory.episodic.search("rotate keys")[0]["item"]["id"] == episode["id"]


def test_reads_through_the_python_api_promote_after_three(alice):
    memory = AdvancedMemory(user="alice", session_id=LoggingSystem(user="alice").session_id)
    memory.short_term.add("User: my locker code is 4711")
    for _ in range(3):
        memory.short_term.get_recent(n=1)
    assert memory.consolidate()["promoted"] == 1
    assert memory.consolidate()["promoted"] == 0
    assert memory.long_term.get()[0]["promoted_from"] == "short_term"


def test_the_python_api_refuses_bad_input_naming_the_field(alice):
    memory = AdvancedMemory(user="alice")
    with pytest.raises(ValidationError) as missing_session:
        memory.short_term.add("x")
    assert "session_id" in missing_session.value.message_dict
    with pytest.raises(ValidationError) as bad_category:
        memory.long_term.add("x", category="Not OK")
    assert "category" in bad_category.value.message_dict
    with pytest.raises(ValidationError) as bad_month:
        memory.episodic.by_month("May 2026")
    assert "month" in bad_month.value.message_dict
    with pytest.raises(ValidationError):
        memory.working.complete(12345)


def test_one_user_cannot_reach_anothers_memory(alice, bob):
    alice = AdvancedMemory(user="alice")
    task = alice.working.add("Alice's task")
    bob_logging = LoggingSystem(user="bob")
    bob = AdvancedMemory(user="bob", session_id=bob_logging.session_id)
    with pytest.raises(ValidationError):
        bob.working.complete(task["id"])
    with pytest.raises(ValidationError):
        AdvancedMemory(user="alice", session_id=bob_logging.session_id)
    assert bob.working.active() == []


def test_an_unknown_user_is_refused_unless_created(db):
    with pytest.raises(ValidationError) as refused:
        AdvancedMemory(user="alcie")
    [message] = refused.value.message_dict["user"]
    assert '"alcie"' in message and "createsuperuser" in message and "create_user=True" in message
    assert not get_user_model().objects.filter(username="alcie").exists()
    assert AdvancedMemory(user="erin", create_user=True).user.username == "erin"


def items_over_http(api, layer):
    """The items as GET /api/memory/items/ lists them (a list read counts no access)."""
    return api.get("/api/memory/items/", {"layer": layer}).json()["results"]


def test_items_come_back_as_the_http_api_shows_them(alice, alice_api):
    memory = AdvancedMemory(user="alice", session_id=LoggingSystem(user="alice").session_id)
    line = memory.short_term.add("User: hello")
    fact = memory.long_term.add("Lisbon is lovely in May", category="travel")
    task = memory.working.add("Pack the bags", context={"sizes": ("S", "M")})
    assert [line] == items_over_http(alice_api, "short_term")
    assert [fact] == items_over_http(alice_api, "long_term")
    assert [task] == items_over_http(alice_api, "working")
    assert (line["layer"], task["status"], task["context"]) == ("short_term", "open", {"sizes": ["S", "M"]})
    done = memory.working.complete(task["id"])
    assert [done] == items_over_http(alice_api, "working")
    for value in (line, fact, task, done, memory.working.active(), memory.context(), memory.consolidate()):
        assert_plain_json(value)


def test_a_read_returns_the_access_it_counted(alice, alice_api):
    memory = AdvancedMemory(user="alice", session_id=LoggingSystem(user="alice").session_id)
    memory.short_term.add("User: hello")
    memory.long_term.add("Lisbon is lovely in May", category="travel")

    [recent] = memory.short_term.get_recent(n=1)
    assert recent["access_count"] == 1 and recent["last_accessed_at"] is not None
    assert [recent] == items_over_http(alice_api, "short_term")

    [fact] = memory.long_term.get("travel")
    assert fact["access_count"] == 1 and fact["last_accessed_at"] is not None
    assert [fact] == items_over_http(alice_api, "long_term")

    [hit] = memory.long_term.search("Lisbon")
    assert hit["item"]["access_count"] == 2
    assert datetime.fromisoformat(hit["item"]["last_accessed_at"]) >= datetime.fromisoformat(fact["last_accessed_at"])
    assert [hit["item"]] == items_over_http(alice_api, "long_term")
    assert_plain_json(hit)


def test_a_search_hit_has_the_http_search_hits_shape(alice, alice_api):
    memory = AdvancedMemory(user="alice")
    memory.long_term.add("Lisbon is lovely in May", category="travel")
    [hit] = memory.long_term.search("Lisbon")
    [over_http] = alice_api.get("/api/memory/search/", {"q": "Lisbon"}).json()["results"]
    assert (hit["kind"], hit["score"]) == (over_http["kind"], over_http["score"])
    assert hit["item"].keys() == over_http["item"].keys()
    assert over_http["item"]["access_count"] == hit["item"]["access_count"] + 1
