import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sessions_app.models import ChatSession, Message

FIXTURES = Path(__file__).parent / "fixtures"


def run_import(path, fmt: str, user: str = "alice", *options: str) -> str:
    out = io.StringIO()
    call_command("import_sessions", str(path), "--format", fmt, "--user", user, *options, verbosity=0, stdout=out)
    return out.getvalue().strip()


def turns(session) -> list[tuple[str, str]]:
    """The active branch's (role, content)."""
    return list(session.messages.on_branch(session).order_by("seq").values_list("role", "content"))


def test_chatgpt_import_follows_the_current_branch_and_keeps_visible_turns(alice):
    summary = run_import(FIXTURES / "chatgpt_conversations.json", "chatgpt")

    assert summary.startswith("Imported 2 sessions (13 messages)") and "1 empty were skipped" in summary
    lists = ChatSession.objects.owned_by(alice).get(title="Reversing lists 🐍")
    assert turns(lists) == [
        ("user", "How do I reverse a list in Python?"),
        ("assistant", "Use `xs[::-1]` or `xs.reverse()`:\n\n```python\nxs = [1, 2, 3]\nxs.reverse()\n```"),
        ("user", "What does this screenshot say? — Grüße"),
        ("assistant", ""),  # a call to the python tool
        ("tool", "エラー: ファイルが見つかりません"),
        ("assistant", "It says \"file not found\" in Japanese (エラー)."),
    ]
    times = list(lists.messages.on_branch(lists).order_by("seq").values_list("created_at", flat=True))
    assert times[0] == datetime.fromtimestamp(1717000010.0, tz=UTC)
    assert times[1] == times[0]  # a null time takes the previous message's
    assert lists.started_at == datetime.fromtimestamp(1717000000.123456, tz=UTC)
    assert lists.messages.get(message_id="a-1b").metadata == {"source": "chatgpt", "model": "gpt-4o"}
    assert lists.messages.get(message_id="tool-1").metadata["tools"] == ["python"]

    untitled = ChatSession.objects.owned_by(alice).get(metadata__conversation_id="77aa00bb-1111-2222-3333-444455556666")
    assert turns(untitled) == [
        ("user", "Is 1009 prime?"),
        ("assistant", "Yes, 1009 is prime."),
        ("user", "And 1013?"),  # with its audio as a part
        ("assistant", ""),  # its content is a part of an unknown type
    ]


def test_claude_import_reads_text_blocks_attachments_and_null_times(alice):
    summary = run_import(FIXTURES / "claude_conversations.json", "claude")

    assert summary.startswith("Imported 1 sessions (4 messages)")
    session = ChatSession.objects.owned_by(alice).get()
    assert session.title == "Naming a café ☕"
    assert session.started_at == datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
    assert turns(session) == [
        ("user", "Suggest names for a café in Zürich"),
        ("assistant", "1. Kaffeeklatsch\n2. Bean There\n3. Grüezi Grounds"),
        ("user", "Here is our menu"),  # the attachments are parts
        ("assistant", 'Nice menu! "Espresso" at 3.50 is fair.'),
    ]
    created = list(session.messages.order_by("seq").values_list("created_at", flat=True))
    assert created[2] == created[1] == datetime(2024, 6, 1, 10, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize("fixture, fmt", [("chatgpt_conversations.json", "chatgpt"), ("claude_conversations.json", "claude")])
def test_importing_the_same_file_again_adds_nothing(alice, bob, fixture, fmt):
    run_import(FIXTURES / fixture, fmt)
    count = Message.objects.count()

    summary = run_import(FIXTURES / fixture, fmt)
    run_import(FIXTURES / fixture, fmt, user="bob")  # another user's copy is theirs

    assert summary.startswith("Imported 0 sessions")
    assert Message.objects.filter(session__owner=alice).count() == count
    assert Message.objects.filter(session__owner=bob).count() == count


def test_a_truncated_file_names_where_it_broke_and_imports_nothing(alice, tmp_path):
    text = (FIXTURES / "chatgpt_conversations.json").read_text()
    truncated = tmp_path / "conversations.json"
    truncated.write_text(text[: len(text) // 2])

    with pytest.raises(CommandError, match=r"Nothing imported\. .*not valid JSON by line \d+"):
        run_import(truncated, "chatgpt")
    assert not ChatSession.objects.exists()


def test_strict_a_malformed_conversation_after_good_ones_imports_nothing(alice, tmp_path):
    conversations = json.loads((FIXTURES / "chatgpt_conversations.json").read_text())
    conversations[1]["current_node"] = "nowhere"
    broken = tmp_path / "conversations.json"
    broken.write_text(json.dumps(conversations))

    with pytest.raises(CommandError, match="conversation 1 .*: current_node 'nowhere' is not in its mapping"):
        run_import(broken, "chatgpt", "alice", "--strict")
    assert not ChatSession.objects.exists()


def test_jsonl_import_reads_our_own_export_and_skips_what_it_has(alice, tmp_path):
    lines = [
        {"messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "2+2?"},
                      {"role": "assistant", "content": "4", "weight": 1}]},
        {"messages": [{"role": "user", "content": "Hi 👋"}, {"role": "assistant", "content": "Hello"}]},
    ]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n")

    first = run_import(path, "jsonl")
    again = run_import(path, "jsonl")

    assert first.startswith("Imported 2 sessions (4 messages)") and again.startswith("Imported 0 sessions")
    terse = ChatSession.objects.get(system_prompt="Be terse.")
    assert terse.title == "2+2?" and turns(terse) == [("user", "2+2?"), ("assistant", "4")]


def test_strict_a_bad_jsonl_line_is_named_and_nothing_is_imported(alice, tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "ok"}]}\n{"messages": [{"role": "wizard", "content": "x"}]}\n')
    truncated = tmp_path / "cut.jsonl"
    truncated.write_text('{"messages": [{"role": "user", "content": "ok"}]}\n{"messages": [{"role": "us')

    with pytest.raises(CommandError, match="line 2: message 0: role must be one of"):
        run_import(path, "jsonl", "alice", "--strict")
    with pytest.raises(CommandError, match="line 2: not valid JSON at column"):
        run_import(truncated, "jsonl", "alice", "--strict")
    assert not ChatSession.objects.exists()


def test_import_needs_a_known_user_and_an_existing_file(alice, tmp_path):
    with pytest.raises(CommandError, match="No user 'nobody'"):
        run_import(FIXTURES / "claude_conversations.json", "claude", user="nobody")
    with pytest.raises(CommandError, match="No file"):
        run_import(tmp_path / "missing.json", "claude")
    with pytest.raises(CommandError, match="--user is required"):
        call_command("import_sessions", str(FIXTURES / "claude_conversations.json"), "--format", "claude")


@pytest.mark.parametrize("fixture, fmt", [("chatgpt_conversations.json", "chatgpt"), ("claude_conversations.json", "claude"), (None, "jsonl")])
def test_an_imported_conversation_is_history_not_a_live_session(alice, alice_api, tmp_path, fixture, fmt):
    if fixture is None:
        path = tmp_path / "train.jsonl"
        path.write_text(json.dumps({"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}) + "\n")
    else:
        path = FIXTURES / fixture

    run_import(path, fmt)

    sessions = ChatSession.objects.owned_by(alice)
    assert sessions.exists()
    for session in sessions:
        last_at = session.messages.order_by("-seq").values_list("created_at", flat=True)[0]
        assert session.ended_at == session.updated_at == max(last_at, session.started_at)
        listed = alice_api.get(f"/api/sessions/{session.session_id}/").json()
        assert listed["ended_at"] is not None
    assert alice_api.get("/api/memory/items/", {"layer": "short_term"}).json()["count"] == 0


def test_an_imported_claude_conversation_ended_at_its_last_message(alice):
    run_import(FIXTURES / "claude_conversations.json", "claude")

    session = ChatSession.objects.owned_by(alice).get()
    assert session.ended_at == session.updated_at == datetime(2024, 6, 1, 10, 1, tzinfo=UTC)
