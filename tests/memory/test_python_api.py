import pytest
from django.core.exceptions import ValidationError

from memory_app.memory_system import AdvancedMemory
from sessions_app.logging_system import LoggingSystem


def test_the_seeds_python_api_end_to_end(db):
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
    assert memory.long_term.search("concept")[0]["text"] == "Key concept"

    task = memory.working.add("Rotate the keys", context={"service": "billing"})
    assert [t["id"] for t in memory.working.active()] == [task["id"]]
    assert memory.working.complete(task["id"])["status"] == "done"
    assert memory.working.active() == []

    logging.end_session()
    assert memory.short_term.get_recent(n=5) == []
    month = logging.session.started_at.strftime("%Y-%m")
    [episode] = memory.episodic.by_month(month)
    assert episode["session_id"] == logging.session_id
    assert memory.episodic.search("rotate keys")[0]["id"] == episode["id"]


def test_reads_through_the_python_api_promote_after_three(db):
    memory = AdvancedMemory(user="alice", session_id=LoggingSystem(user="alice").session_id)
    memory.short_term.add("User: my locker code is 4711")
    for _ in range(3):
        memory.short_term.get_recent(n=1)
    assert memory.consolidate()["promoted"] == 1
    assert memory.consolidate()["promoted"] == 0
    assert memory.long_term.get()[0]["promoted_from"] == "short_term"


def test_the_python_api_refuses_bad_input_naming_the_field(db):
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


def test_one_user_cannot_reach_anothers_memory(db):
    alice = AdvancedMemory(user="alice")
    task = alice.working.add("Alice's task")
    bob_logging = LoggingSystem(user="bob")
    bob = AdvancedMemory(user="bob", session_id=bob_logging.session_id)
    with pytest.raises(ValidationError):
        bob.working.complete(task["id"])
    with pytest.raises(ValidationError):
        AdvancedMemory(user="alice", session_id=bob_logging.session_id)
    assert bob.working.active() == []
