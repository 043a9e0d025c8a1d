"""A database made before curation and analytics had apps of their own upgrades with `migrate` and
loses nothing: its rows are written through the models as they were then, then read through the API."""

from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

# The newest migrations of the main branch before the split: every project table lived in sessions_app.
BEFORE_THE_SPLIT = [
    ("sessions_app", "0006_session_owner_unarchived"),
    ("memory_app", "0003_pg_stored_search_vectors"),
    ("exports_app", "0001_imported_conversation"),
    ("curation_app", None),
    ("analytics_app", None),
]
STARTED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([target for target in targets if target[1]]).apps


def _fill_as_before(old):
    """One user's session with messages, a rating, tags, a pin, a share link, a retention policy,
    a memory item and rollups, written through the models of the old schema."""
    User = old.get_model("auth", "User")
    owner = User.objects.create(username="carol")
    session = old.get_model("sessions_app", "ChatSession").objects.create(
        owner=owner,
        session_id="0123456789ab",
        title="Before the split",
        mode="coding",
        message_count=2,
        token_count=5,
        started_at=STARTED,
        updated_at=STARTED,
        is_pinned=True,
    )
    Message = old.get_model("sessions_app", "Message")
    Message.objects.create(
        session=session,
        seq=1,
        role="user",
        content="How do I rebase?",
        token_count=4,
        created_at=STARTED,
        metadata={"mode": "coding"},
    )
    reply = Message.objects.create(
        session=session,
        seq=2,
        role="assistant",
        content="git rebase -i",
        token_count=1,
        created_at=STARTED,
        metadata={"latency_ms": 420},
    )
    old.get_model("sessions_app", "MessageFeedback").objects.create(
        message=reply, rating=1, reason="clear", comment="", created_at=STARTED, updated_at=STARTED
    )
    tag = old.get_model("sessions_app", "Tag").objects.create(owner=owner, name="git")
    old.get_model("sessions_app", "SessionTag").objects.create(session=session, tag=tag)
    old.get_model("sessions_app", "ShareLink").objects.create(
        session=session, token_hash="a" * 64, title="Before the split", message_count=2, created_at=STARTED
    )
    old.get_model("sessions_app", "RetentionPolicy").objects.create(
        owner=owner, delete_after_days=365, archive_before_delete=True, updated_at=STARTED
    )
    old.get_model("memory_app", "MemoryItem").objects.create(
        owner=owner, layer="long_term", category="learning", text="Rebase rewrites history", fingerprint="rebase"
    )
    return owner


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_split_migrates_with_nothing_lost():
    old = _migrate(BEFORE_THE_SPLIT)
    owner_pk = _fill_as_before(old).pk
    call_command("migrate", verbosity=0)

    from django.contrib.auth import get_user_model

    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=get_user_model().objects.get(pk=owner_pk)).key}"
    )

    session = client.get("/api/sessions/0123456789ab/").json()
    assert session["title"] == "Before the split"
    assert session["tags"] == ["git"]
    assert session["is_pinned"] is True
    loaded = client.post("/api/sessions/load", {"session_id": "0123456789ab"}, format="json").json()
    assert [(m["seq"], m["role"], m["content"]) for m in loaded["messages"]] == [
        (1, "user", "How do I rebase?"),
        (2, "assistant", "git rebase -i"),
    ]
    assert loaded["messages"][1]["feedback"] == {"rating": 1, "reason": "clear", "comment": ""}
    assert client.get("/api/sessions/", {"q": "tag:git"}).json()["count"] == 1
    shares = client.get("/api/shares/").json()
    assert [(link["session_id"], link["message_count"]) for link in shares["results"]] == [("0123456789ab", 2)]
    retention = client.get("/api/retention/").json()
    assert (retention["delete_after_days"], retention["archive_before_delete"]) == (365, True)
    assert [item["text"] for item in client.get("/api/memory/items/").json()["results"]] == ["Rebase rewrites history"]
    # The rollups of the old data are filled by migrate, and the triggers keep marking new writes.
    summary = client.get("/api/analytics/summary", {"since": "2026-11-20", "until": "2026-11-20"}).json()
    assert summary["totals"]["messages"] == 2
    client.post(
        "/api/sessions/save",
        {"session_id": "0123456789ab", "messages": [{"role": "user", "content": "And squash?"}]},
        format="json",
    )
    client.patch("/api/sessions/0123456789ab/", {"tags": ["git", "squash"]}, format="json")
    assert client.get("/api/sessions/0123456789ab/").json()["tags"] == ["git", "squash"]
