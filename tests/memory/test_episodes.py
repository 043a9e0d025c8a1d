from memory_app.memory_system import AdvancedMemory
from sessions_app import services as session_services
from tests.factories import add_messages, make_session


def test_ending_a_session_makes_its_episode(alice_api, alice):
    session = make_session(alice, title="")
    add_messages(
        session,
        ("user", "How do I tune PostgreSQL autovacuum for a write-heavy table?"),
        ("assistant", "Lower autovacuum_vacuum_scale_factor for that table; autovacuum then runs sooner."),
        ("user", "And autovacuum cost limits?"),
    )
    session_services.end_session(session=session)
    response = alice_api.get("/api/memory/items/", {"layer": "episodic"})
    [episode] = response.json()["results"]
    assert episode["session_id"] == session.session_id
    assert episode["title"].startswith("How do I tune PostgreSQL autovacuum")
    assert episode["month"] == session.started_at.strftime("%Y-%m")
    assert episode["digest"]["first_request"].startswith("How do I tune")
    assert episode["digest"]["keywords"][0] == "autovacuum"
    assert "the" not in episode["digest"]["keywords"] and "for" not in episode["digest"]["keywords"]
    assert episode["digest"]["message_count"] == 3


def test_a_session_without_messages_leaves_no_episode(alice_api, alice_session):
    session_services.end_session(session=alice_session)
    assert alice_api.get("/api/memory/items/", {"layer": "episodic"}).json()["count"] == 0


def test_episodes_are_browsable_by_month(alice, alice_session):
    add_messages(alice_session, ("user", "Plan the garden"))
    session_services.end_session(session=alice_session)
    memory = AdvancedMemory(user=alice)
    month = alice_session.started_at.strftime("%Y-%m")
    assert [episode["session_id"] for episode in memory.episodic.by_month(month)] == [alice_session.session_id]
    assert memory.episodic.by_month("1999-01") == []
    assert alice.memory_items.get(layer="episodic").access_count == 1


def test_an_episode_is_not_posted(alice_api):
    response = alice_api.post("/api/memory/items/", {"layer": "episodic", "text": "x"}, format="json")
    assert response.status_code == 400 and "layer" in response.json()
