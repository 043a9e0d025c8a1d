from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from memory_app.models import Layer, MemoryItem
from sessions_app.models import ChatSession
from tests.factories import add_messages, make_conversation

CLAUDE_EXPORT = Path(__file__).parent.parent / "exports" / "fixtures" / "claude_conversations.json"


def consolidate(*args):
    out = StringIO()
    call_command("consolidate_memory", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def read(client, item_id, times):
    for _ in range(times):
        assert client.get(f"/api/memory/items/{item_id}/").status_code == 200


def a_task(client, goal="Ship the release notes", **fields):
    return client.post("/api/memory/items/", {"layer": "working", "text": goal, **fields}, format="json").json()


def test_three_reads_promote_an_item_once_not_twice(alice_api, alice_session):
    task = a_task(alice_api, category="work", session_id=alice_session.session_id)
    read(alice_api, task["id"], 3)
    assert "Promoted 1 items" in consolidate()
    facts = MemoryItem.objects.filter(layer=Layer.LONG_TERM)
    fact = facts.get()
    assert (fact.text, fact.category, fact.session_id, fact.promoted_from) == (
        "Ship the release notes", "work", alice_session.pk, Layer.WORKING,
    )
    read(alice_api, task["id"], 3)
    assert "Promoted 0 items" in consolidate()
    assert facts.count() == 1 and facts.get().strength == 1
    assert MemoryItem.objects.get(pk=task["id"]).promoted_at is not None  # the task stays a task


def test_two_reads_are_not_enough_unless_the_threshold_says_so(alice_api):
    task = a_task(alice_api)
    read(alice_api, task["id"], 2)
    assert "Promoted 0 items" in consolidate()
    assert "Promoted 1 items" in consolidate("--threshold", "2")


def test_a_promoted_line_that_is_a_known_fact_strengthens_it(alice_api, alice_session):
    add_messages(alice_session, ("user", "I live in Lisbon"))
    alice_api.post("/api/memory/items/", {"layer": "long_term", "text": "User: I live in Lisbon."}, format="json")
    line = MemoryItem.objects.get(layer=Layer.SHORT_TERM)
    read(alice_api, line.pk, 3)
    assert "(0 new, 1 strengthened)" in consolidate()
    assert MemoryItem.objects.get(layer=Layer.LONG_TERM).strength == 2


def test_dry_run_changes_nothing_and_says_what_it_would_do(alice_api, alice):
    task = a_task(alice_api)
    read(alice_api, task["id"], 3)
    idle = make_conversation(alice, title="Idle chat")
    ChatSession.objects.filter(pk=idle.pk).update(updated_at=timezone.now() - timedelta(days=1))
    before = list(MemoryItem.objects.order_by("id").values())
    output = consolidate("--dry-run")
    assert "Would promote 1 items" in output and "would build 1 episodes" in output
    assert list(MemoryItem.objects.order_by("id").values()) == before
    assert "Promoted 1 items" in consolidate()


def test_consolidation_builds_episodes_for_idle_sessions_only(alice):
    idle = make_conversation(alice, title="Idle chat")
    make_conversation(alice, title="Active chat")
    ChatSession.objects.filter(pk=idle.pk).update(updated_at=timezone.now() - timedelta(days=1))
    assert "built 1 episodes" in consolidate()
    assert list(MemoryItem.objects.filter(layer=Layer.EPISODIC).values_list("session_id", flat=True)) == [idle.pk]
    assert "built 0 episodes" in consolidate()  # idempotent


def test_consolidation_builds_episodes_for_imported_conversations_in_their_month(alice, alice_api):
    call_command("import_sessions", str(CLAUDE_EXPORT), "--format", "claude", "--user", "alice", stdout=StringIO())

    assert "built 1 episodes" in consolidate()
    [episode] = alice_api.get("/api/memory/items/", {"layer": "episodic"}).json()["results"]
    assert episode["month"] == "2024-06"
    assert episode["title"] == "Naming a café ☕"
    assert episode["digest"]["first_request"] == "Suggest names for a café in Zürich"


@pytest.mark.parametrize("threshold", ["0", "-1", "three"])
def test_a_bad_threshold_is_a_command_error(threshold):
    with pytest.raises(CommandError, match="threshold"):
        consolidate("--threshold", threshold)


def test_the_api_consolidates_the_callers_memory_only(alice_api, bob_api):
    alice_task = a_task(alice_api)
    bob_task = a_task(bob_api)
    read(alice_api, alice_task["id"], 3)
    read(bob_api, bob_task["id"], 3)
    response = alice_api.post("/api/memory/consolidate", {}, format="json")
    assert response.status_code == 200
    assert response.json() == {"threshold": 3, "dry_run": False, "promoted": 1, "strengthened": 0, "episodes": 0}
    assert MemoryItem.objects.filter(layer=Layer.LONG_TERM).get().owner.username == "alice"
    assert bob_api.post("/api/memory/consolidate/", {"dry_run": True}, format="json").json()["promoted"] == 1
    assert bob_api.post("/api/memory/consolidate/", {"threshold": 0}, format="json").status_code == 400
