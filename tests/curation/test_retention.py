from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from memory_app.memory_system import AdvancedMemory
from sessions_app.models import ChatSession, Message
from tests.factories import add_messages, make_session


def session_aged(owner, title, days, **fields):
    """A session with one exchange whose last activity was `days` ago."""
    session = make_session(owner, title=title, **fields)
    add_messages(session, ("user", "hi"), ("assistant", "hello"))
    ChatSession.objects.filter(pk=session.pk).update(updated_at=timezone.now() - timedelta(days=days))
    return session


def retention(*args) -> str:
    out = StringIO()
    call_command("apply_retention", *args, stdout=out)
    return out.getvalue()


def titles_of(owner):
    return sorted(ChatSession.objects.owned_by(owner).values_list("title", flat=True))


def test_everything_is_kept_by_default(alice_api, alice):
    session_aged(alice, "ancient", days=3000)
    policy = alice_api.get("/api/retention/").json()
    assert policy == {
        "delete_after_days": None, "archive_before_delete": False, "max_days": None, "effective_days": None
    }
    assert "Deleted 0 session(s)" in retention()
    assert titles_of(alice) == ["ancient"]


def test_a_policy_deletes_old_unpinned_sessions_with_their_messages(alice_api, alice):
    old = session_aged(alice, "old", days=40)
    session_aged(alice, "recent", days=5)
    pinned = session_aged(alice, "old but pinned", days=400)
    alice_api.patch(f"/api/sessions/{pinned.session_id}/", {"is_pinned": True}, format="json")
    response = alice_api.put("/api/retention", {"delete_after_days": 30}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "delete_after_days": 30, "archive_before_delete": False, "max_days": None, "effective_days": 30
    }
    output = retention()
    assert f"deleted {old.session_id} of alice" in output
    assert "Deleted 1 session(s) of 1 user(s)." in output
    assert titles_of(alice) == ["old but pinned", "recent"]
    assert not Message.objects.filter(session_id=old.pk).exists()
    assert "Deleted 0 session(s)" in retention()  # a second run (cron, twice a day) changes nothing


def test_dry_run_reports_and_deletes_nothing(alice_api, alice):
    old = session_aged(alice, "old", days=40)
    alice_api.put("/api/retention/", {"delete_after_days": 30}, format="json")
    output = retention("--dry-run")
    assert f"would delete {old.session_id} of alice" in output
    assert "Would delete 1 session(s) of 1 user(s)." in output
    assert titles_of(alice) == ["old"]
    assert Message.objects.filter(session_id=old.pk).count() == 2


def test_the_administrators_maximum_applies_to_everyone_but_spares_pinned(settings, alice, bob, alice_api, bob_api):
    settings.NOVAFORGE = {**settings.NOVAFORGE, "RETENTION_MAX_DAYS": 90}
    session_aged(alice, "alice old", days=100)
    session_aged(alice, "alice recent", days=10)
    pinned = session_aged(bob, "bob pinned", days=1000)
    bob_api.patch(f"/api/sessions/{pinned.session_id}/", {"is_pinned": True}, format="json")
    bob_api.put("/api/retention/", {"delete_after_days": 5}, format="json")
    session_aged(bob, "bob week old", days=7)
    assert alice_api.get("/api/retention/").json()["effective_days"] == 90
    assert bob_api.get("/api/retention/").json()["effective_days"] == 5
    retention()
    assert titles_of(alice) == ["alice recent"]
    assert titles_of(bob) == ["bob pinned"]


def test_a_session_written_to_is_kept(alice_api, alice):
    session = session_aged(alice, "revived", days=40)
    alice_api.put("/api/retention/", {"delete_after_days": 30}, format="json")
    alice_api.post(f"/api/sessions/{session.session_id}/messages/", {"role": "user", "content": "back"}, format="json")
    retention()
    assert titles_of(alice) == ["revived"]


def test_archived_sessions_are_subject_to_retention_too(alice_api, alice):
    session = session_aged(alice, "archived old", days=40)
    alice_api.patch(f"/api/sessions/{session.session_id}/", {"is_archived": True}, format="json")
    alice_api.put("/api/retention/", {"delete_after_days": 30}, format="json")
    retention()
    assert titles_of(alice) == []


@pytest.mark.parametrize(
    "body, field",
    [({"delete_after_days": 0}, "delete_after_days"), ({"delete_after_days": "soon"}, "delete_after_days"),
     ({}, "delete_after_days"), ({"delete_after_days": 3, "keep": True}, "keep"),
     ({"delete_after_days": 3, "archive_before_delete": "yes"}, "archive_before_delete")],
)
def test_a_bad_policy_is_400_naming_the_field(alice_api, body, field):
    response = alice_api.put("/api/retention/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert alice_api.get("/api/retention/").json()["delete_after_days"] is None


def test_null_goes_back_to_keeping_everything(alice_api, alice):
    alice_api.put("/api/retention/", {"delete_after_days": 30}, format="json")
    assert alice_api.put("/api/retention/", {"delete_after_days": None}, format="json").json()["effective_days"] is None
    session_aged(alice, "old", days=40)
    retention()
    assert titles_of(alice) == ["old"]


def test_one_users_policy_never_touches_another_users_sessions(alice_api, alice, bob):
    session_aged(bob, "bob old", days=400)
    alice_api.put("/api/retention/", {"delete_after_days": 1}, format="json")
    retention()
    assert titles_of(bob) == ["bob old"]


def test_the_policy_needs_a_login(anonymous_api):
    assert anonymous_api.get("/api/retention/").status_code in (401, 403)


def test_sessions_can_be_archived_before_they_are_deleted(settings, alice_api, alice):
    old = session_aged(alice, "old", days=40)
    alice_api.post(f"/api/sessions/{old.session_id}/messages/2/feedback/", {"rating": 1}, format="json")
    response = alice_api.put("/api/retention/", {"delete_after_days": 30, "archive_before_delete": True}, format="json")
    assert response.json()["archive_before_delete"] is True
    assert "archived first" in retention("--dry-run")
    assert not (settings.DATA_DIR / "sessions").exists()
    output = retention()
    assert f"deleted {old.session_id} of alice (last activity" in output and "archived first" in output
    assert titles_of(alice) == []
    archived = settings.DATA_DIR / "sessions" / old.started_at.strftime("%Y-%m") / f"{old.session_id}.json"
    call_command("import_sessions", str(archived), format="archive", user="alice", stdout=StringIO())
    restored = ChatSession.objects.owned_by(alice).get()
    assert (restored.session_id, restored.title, restored.message_count) == (old.session_id, "old", 2)


def test_retention_deletes_the_memory_taken_from_a_session(alice_api, alice):
    old = session_aged(alice, "old", days=40)
    memory = AdvancedMemory(user=alice, session_id=old.session_id)
    memory.long_term.add("Lisbon is lovely in May", category="travel")
    alice_api.put("/api/retention/", {"delete_after_days": 30}, format="json")
    assert alice_api.get("/api/memory/search/", {"q": "Lisbon"}).json()["results"]
    retention()
    assert alice_api.get("/api/memory/search/", {"q": "Lisbon"}).json()["results"] == []
    assert alice_api.get("/api/memory/items/", {"session_id": old.session_id}).json()["results"] == []
