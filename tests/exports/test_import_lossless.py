"""Imports keep whole conversations: every branch, tool calls and their results, reasoning, attachments
and blocks of unknown types; a newer export adds what grew; a bad conversation is named and skipped."""

import base64
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sessions_app.models import ChatSession, Message
from tests.exports.test_import_chats import FIXTURES, run_import


def load(api, session, **options):
    return api.post("/api/sessions/load", {"session_id": session.session_id, **options}, format="json").json()["messages"]


def by_id(messages: list[dict]) -> dict[str, dict]:
    return {message["message_id"]: message for message in messages}


@pytest.fixture
def chatgpt_session(alice):
    summary = run_import(FIXTURES / "chatgpt_lossless.json", "chatgpt")
    assert summary.startswith("Imported 1 sessions (12 messages)")
    assert "1 blocks of unknown types were kept as 'unknown' parts" in summary
    return ChatSession.objects.owned_by(alice).get()


def test_chatgpt_every_branch_is_kept_and_the_active_one_ends_at_current_node(alice_api, chatgpt_session):
    everything = by_id(load(alice_api, chatgpt_session, branches="all"))
    active = load(alice_api, chatgpt_session)

    assert {"a1", "a1b", "u2old", "u2"} <= set(everything)  # the regeneration and the edit
    assert everything["a1"]["parent_seq"] == everything["a1b"]["parent_seq"] == everything["u1"]["seq"]
    assert everything["u2old"]["parent_seq"] == everything["u2"]["parent_seq"] == everything["a1b"]["seq"]
    assert [message["message_id"] for message in active] == [
        "u1", "a1b", "u2", "call1", "res1", "quote1", "code1", "out1", "a2", "u3"
    ]
    assert chatgpt_session.current_seq == everything["u3"]["seq"]
    assert "sys" not in everything and "root" not in everything  # hidden scaffolding stays out


def test_chatgpt_tool_use_becomes_tool_calls_and_tool_messages(alice_api, chatgpt_session):
    messages = by_id(load(alice_api, chatgpt_session))

    assert messages["call1"]["tool_calls"] == [
        {"id": "call1", "type": "function", "function": {"name": "browser", "arguments": 'search("2024 sales trends")'}}
    ]
    assert messages["call1"]["content"] == ""
    assert (messages["res1"]["role"], messages["res1"]["tool_call_id"], messages["res1"]["name"]) == ("tool", "call1", "browser")
    assert messages["quote1"]["tool_call_id"] == "call1" and "Sales rose 5% in 2024." in messages["quote1"]["content"]
    assert messages["code1"]["tool_calls"][0]["function"] == {"name": "python", "arguments": "sum([3, 4, 8]) / 3\n# «mean»"}
    assert (messages["out1"]["tool_call_id"], messages["out1"]["name"], messages["out1"]["content"]) == ("code1", "python", "5.0")
    assert messages["a2"]["metadata"]["citations"][0]["metadata"]["url"] == "https://example.com"


def test_chatgpt_thoughts_are_the_reasoning_of_the_next_assistant_message(alice_api, chatgpt_session):
    messages = by_id(load(alice_api, chatgpt_session, branches="all"))

    assert "th" not in messages and "rr" not in messages
    assert messages["call1"]["reasoning"] == "Plan\n\nSearch first, then compute.\n\nThought for 3 seconds"
    assert messages["a2"]["reasoning"] is None


def test_chatgpt_images_attachments_and_unknown_parts_keep_their_raw_json(alice_api, chatgpt_session):
    messages = by_id(load(alice_api, chatgpt_session))

    question = messages["u1"]
    assert question["content"] == "What is on this chart?"
    image, text, attachment = question["parts"]
    assert image["type"] == "image_url" and image["image_url"]["url"] == "file-service://file-Img1"
    assert image["raw"]["width"] == 640 and text == {"type": "text", "text": "What is on this chart?"}
    assert attachment["file"] == {"file_id": "file-Att1", "filename": "data.csv"} and attachment["raw"]["mime_type"] == "text/csv"
    assert messages["u3"]["parts"] == [{"type": "unknown", "raw": {"content_type": "some_new_kind", "payload": {"k": [1, 2]}}}]


def test_a_grown_export_adds_only_what_is_new_and_moves_the_active_branch(alice, alice_api, chatgpt_session):
    before = set(Message.objects.values_list("message_id", "seq"))

    summary = run_import(FIXTURES / "chatgpt_lossless_grown.json", "chatgpt")
    active = [message["message_id"] for message in load(alice_api, chatgpt_session)]
    again = run_import(FIXTURES / "chatgpt_lossless_grown.json", "chatgpt")

    assert summary.startswith("Imported 0 sessions (3 messages); 1 imported before had grown")
    assert again.startswith("Imported 0 sessions (0 messages); 0 imported before had grown") and "1 imported before were left alone" in again
    assert ChatSession.objects.owned_by(alice).count() == 1
    assert before < set(Message.objects.values_list("message_id", "seq"))  # nothing renumbered
    assert Message.objects.count() == 15
    assert active[-3:] == ["u3", "a3b", "u4"]
    chatgpt_session.refresh_from_db()
    last = Message.objects.order_by("-created_at").values_list("created_at", flat=True)[0]
    assert chatgpt_session.ended_at == chatgpt_session.updated_at == last
    older = run_import(FIXTURES / "chatgpt_lossless.json", "chatgpt")
    # The older export names an older leaf: the active branch follows the export, nothing is added.
    assert "(0 messages)" in older and [m["message_id"] for m in load(alice_api, chatgpt_session)][-1] == "u3"


def test_a_single_conversation_object_after_a_bom_is_accepted(alice):
    summary = run_import(FIXTURES / "chatgpt_single_bom.json", "chatgpt")

    assert summary.startswith("Imported 1 sessions (2 messages)")
    assert ChatSession.objects.get().messages.order_by("seq").first().content == "Ünïcode after a BOM?"


def test_an_invalid_conversation_is_named_and_skipped_with_exit_status_1(alice):
    with pytest.raises(CommandError, match=r"conversation 1 \(bad00000-0000-4000-8000-000000000002\): no 'mapping'") as raised:
        run_import(FIXTURES / "chatgpt_one_corrupt.json", "chatgpt")

    assert raised.value.returncode == 1
    assert "Imported 2 sessions (4 messages)" in str(raised.value)
    assert sorted(ChatSession.objects.values_list("title", flat=True)) == ["Good one", "Good two"]


def test_strict_imports_nothing_when_one_conversation_is_invalid(alice):
    with pytest.raises(CommandError, match=r"Nothing imported\. .*conversation 1 .*--strict"):
        run_import(FIXTURES / "chatgpt_one_corrupt.json", "chatgpt", "alice", "--strict")

    assert not ChatSession.objects.exists()


@pytest.fixture
def claude_session(alice):
    summary = run_import(FIXTURES / "claude_lossless.json", "claude")
    assert summary.startswith("Imported 1 sessions (7 messages)")
    assert "2 blocks of unknown types" in summary
    return ChatSession.objects.owned_by(alice).get()


def test_claude_follows_parent_links_and_keeps_the_model(alice_api, claude_session):
    everything = by_id(load(alice_api, claude_session, branches="all"))

    assert everything["h1"]["parent_seq"] is None and everything["h1b"]["parent_seq"] is None  # an edited first turn
    assert everything["x1"]["parent_seq"] == everything["h1"]["seq"]
    assert [message["message_id"] for message in load(alice_api, claude_session)] == ["h1b", "x2", "x2#1", "x2#2", "h3"]
    assert claude_session.metadata["model"] == "claude-sonnet-4-5"


def test_claude_thinking_tool_use_and_results_are_kept_whole(alice_api, claude_session):
    messages = by_id(load(alice_api, claude_session))

    call = messages["x2"]
    assert (call["content"], call["reasoning"]) == ("Creating it.", "A page with a haiku.")
    assert call["tool_calls"] == [{"id": "toolu_01", "type": "function", "function": {
        "name": "artifacts", "arguments": '{"id":"haiku","type":"text/html","content":"<p>Snow «falls»</p>"}'}}]
    result = messages["x2#1"]
    assert (result["role"], result["tool_call_id"], result["name"], result["content"]) == ("tool", "toolu_01", "artifacts", "OK")
    after = messages["x2#2"]
    assert after["content"] == "Done: the page shows the haiku."
    assert after["parts"][-1] == {"type": "unknown", "raw": {"type": "voice_note", "title": "hum", "text": "hmm"}}


def test_claude_attachments_are_parts_not_content_and_odd_blocks_are_kept(alice_api, claude_session):
    messages = by_id(load(alice_api, claude_session))

    question = messages["h1b"]
    assert question["content"] == "Write a haiku page about snow, see my notes"
    notes, image = question["parts"][1:]
    assert notes["file"]["filename"] == "notes.txt"
    data = notes["file"]["file_data"].removeprefix("data:text/plain;base64,")
    assert base64.b64decode(data).decode() == "Snow on pines — «quiet»"
    assert notes["raw"] == {"file_name": "notes.txt", "file_size": 20, "file_type": "txt"}
    assert image["file"] == {"file_id": "f-1", "filename": "pines.png"}
    assert messages["h3"]["parts"] == [{"type": "unknown", "raw": {"type": "text", "text": {"rich": "not a string"}}}]


def test_claude_without_parent_links_follows_array_order(alice, tmp_path):
    text = (FIXTURES / "claude_lossless.json").read_text().replace('"parent_message_uuid"', '"was_parent"')
    path = tmp_path / "conversations.json"
    path.write_text(text)

    run_import(path, "claude")

    session = ChatSession.objects.owned_by(alice).get()
    assert not session.is_branched and session.current_seq == session.message_count == 7


def test_the_command_shows_progress(alice):
    err = io.StringIO()
    call_command("import_sessions", str(FIXTURES / "chatgpt_lossless.json"), "--format", "chatgpt", "--user", "alice",
                 stdout=io.StringIO(), stderr=err)
    assert "100%" in err.getvalue()
