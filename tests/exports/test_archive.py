import base64
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from curation_app.models import MessageFeedback
from sessions_app import services
from sessions_app.models import ChatSession
from sessions_app.services import NewMessage
from tests.exports.helpers import rate
from tests.factories import add_messages, make_session


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, verbosity=0, stdout=out)
    return out.getvalue().strip()


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*.json"))}


@pytest.fixture
def history(alice, bob):
    march = make_session(
        alice, title="Plans «2026»", system_prompt="Be helpful.", metadata={"mode": "coding", "tags": ["x"]},
        started_at=datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=UTC),
    )
    add_messages(march, ("user", "Line\r\nbreaks, \"quotes\" and ünïcødé 🚀"), message_id="client-1")
    [code, second] = add_messages(march, ("assistant", "```py\nprint(1)\n```"), ("assistant", "second"), metadata={"latency_ms": 12})
    rate(code, -1)
    MessageFeedback.objects.create(message=second, rating=1, reason="clear", comment="Nice «one»")
    add_messages(march, ("tool", "{}"), created_at=datetime(2026, 4, 2, 8, tzinfo=UTC))
    services.end_session(session=march)
    make_session(bob, title="empty", started_at=datetime(2026, 4, 1, tzinfo=UTC))
    return march


def test_archive_writes_one_file_per_session_in_month_folders(alice, history, settings):
    summary = run("archive_sessions")

    directory = settings.DATA_DIR / "sessions"
    [march_file, april_file] = sorted(snapshot(directory))
    assert march_file == f"2026-03/{history.session_id}.json" and april_file.startswith("2026-04/")
    document = json.loads((directory / "2026-03" / f"{history.session_id}.json").read_text())
    assert document["owner"] == "alice"
    assert document["session"]["title"] == "Plans «2026»" and document["session"]["ended_at"]
    assert [message["seq"] for message in document["messages"]] == [1, 2, 3, 4]
    assert document["messages"][0]["message_id"] == "client-1"
    assert document["messages"][1]["feedback"]["rating"] == -1
    assert document["messages"][2]["feedback"]["comment"] == "Nice «one»"
    assert document["messages"][3]["created_at"] == "2026-04-02T08:00:00+00:00"
    assert "2 written" in summary
    assert "0 written, 2 unchanged" in run("archive_sessions")  # safe to rerun


@pytest.fixture
def branched(alice):
    """A session with an edit, a tool call and its result, reasoning, a large image and its tools."""
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    session = services.start_session(owner=alice, title="Branches", tools=tools, started_at=datetime(2026, 3, 5, tzinfo=UTC))
    image = "data:image/png;base64," + base64.b64encode(bytes(range(256)) * 40).decode()
    parts = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": image, "detail": "low"}}]
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "«x»" }'}}
    services.append_messages(session=session, messages=[
        NewMessage(role="user", content="What is this?", parts=parts),
        NewMessage(role="assistant", content="", tool_calls=[call], reasoning="Look it up."),
        NewMessage(role="tool", content="a chart", tool_call_id="call_1", name="lookup"),
        NewMessage(role="assistant", content="A chart."),
        NewMessage(role="user", content="Edited question", parent_seq=None),
        NewMessage(role="assistant", content="Answer to the edit."),
    ])
    session.refresh_from_db()
    services.update_session(session=session, current_seq=4)
    return session


def test_archive_carries_branches_tool_calls_reasoning_and_inlined_parts(alice, branched, settings):
    run("archive_sessions")

    document = json.loads((settings.DATA_DIR / "sessions" / "2026-03" / f"{branched.session_id}.json").read_text())
    assert document["session"]["current_seq"] == 4 and document["session"]["tools"][0]["function"]["name"] == "lookup"
    messages = document["messages"]
    assert [message["parent_seq"] for message in messages] == [None, 1, 2, 3, None, 5]
    assert messages[0]["parts"][1]["image_url"]["url"].startswith("data:image/png;base64,AAEC")  # the data, not a hash
    assert messages[1]["tool_calls"][0]["function"]["arguments"] == '{"q": "«x»" }'
    assert messages[1]["reasoning"] == "Look it up."
    assert (messages[2]["tool_call_id"], messages[2]["name"]) == ("call_1", "lookup")


def test_archive_empty_the_database_import_archive_again_gives_identical_files(alice, bob, history, branched, settings, tmp_path):
    run("archive_sessions")
    before = snapshot(settings.DATA_DIR / "sessions")

    ChatSession.objects.all().delete()
    summary = run("import_sessions", str(settings.DATA_DIR / "sessions"), "--format", "archive")
    run("archive_sessions", "--output", str(tmp_path / "again"))

    assert summary.startswith("Imported 3 sessions (10 messages)")
    assert snapshot(tmp_path / "again") == before
    restored = ChatSession.objects.get(session_id=branched.session_id)
    assert restored.current_seq == 4 and restored.is_branched
    assert run("import_sessions", str(settings.DATA_DIR / "sessions"), "--format", "archive").startswith("Imported 0")


def test_a_broken_archive_file_names_itself_and_imports_nothing(alice, history, settings):
    run("archive_sessions")
    ChatSession.objects.all().delete()
    broken = settings.DATA_DIR / "sessions" / "2026-04" / "zzzzzz.json"
    broken.write_text('{"format": "novaforge-session-archive", "owner": "alice", "session": {')

    with pytest.raises(CommandError, match=r"zzzzzz\.json: not valid JSON at line 1"):
        run("import_sessions", str(settings.DATA_DIR / "sessions"), "--format", "archive")
    assert not ChatSession.objects.exists()
