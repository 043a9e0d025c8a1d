"""Calls of one conversation land in one session, each message once; X-NovaForge-Session-Id chooses one."""

import openai
import pytest

from sessions_app.models import ChatSession
from tests.factories import add_messages, make_session

from .fake_upstream import TOOL_CALLS
from .helpers import SESSION_HEADER, chat, chat_streamed, stored


def test_a_continued_conversation_is_one_session_with_nothing_stored_twice(alice_client):
    first = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    completion, session_id = chat(alice_client, model="m", messages=first)
    stored(session_id, 3)

    reply = {"role": "assistant", "content": completion.choices[0].message.content}
    _, continued = chat(alice_client, model="m", messages=[*first, reply, {"role": "user", "content": "More"}])

    assert continued == session_id
    rows = stored(session_id, 5)
    assert [row["content"] for row in rows] == ["Be brief.", "Hi", "Echo: Hi", "More", "Echo: More"]
    assert ChatSession.objects.count() == 1


def test_a_conversation_continued_after_streamed_tool_calls_stays_in_its_session(alice_client):
    question = {"role": "user", "content": "Weather and time?"}
    _, session_id = chat_streamed(alice_client, model="tools", messages=[question])
    stored(session_id, 2)

    calls = {"role": "assistant", "content": "Let me check.", "tool_calls": TOOL_CALLS}
    results = [{"role": "tool", "tool_call_id": call["id"], "content": "sunny"} for call in TOOL_CALLS]
    _, continued = chat(alice_client, model="m", messages=[question, calls, *results])

    assert continued == session_id
    rows = stored(session_id, 5)
    assert [row["role"] for row in rows] == ["user", "assistant", "tool", "tool", "assistant"]
    assert [row["tool_call_id"] for row in rows[2:4]] == ["call_weather", "call_time"]
    assert rows[1]["tool_calls"] == TOOL_CALLS


def test_a_new_conversation_with_the_same_system_prompt_starts_a_new_session(alice_client):
    system = {"role": "system", "content": "Be brief."}
    _, first = chat(alice_client, model="m", messages=[system, {"role": "user", "content": "One"}])
    stored(first, 3)
    _, second = chat(alice_client, model="m", messages=[system, {"role": "user", "content": "Two"}])

    assert second != first
    assert [row["content"] for row in stored(second, 3)] == ["Be brief.", "Two", "Echo: Two"]


def test_a_regeneration_is_a_branch_of_the_same_session_and_the_active_one(alice_client, alice_api):
    question = [{"role": "user", "content": "Tell me a joke"}]
    _, session_id = chat(alice_client, model="m", messages=question)
    stored(session_id, 2)

    _, regenerated = chat(alice_client, model="m", messages=question)

    assert regenerated == session_id
    stored(session_id, 3)
    url = f"/api/sessions/{session_id}/messages/"
    every = alice_api.get(url, {"branches": "all"}).json()["results"]
    assert [(m["seq"], m["parent_seq"], m["role"]) for m in every] == [
        (1, None, "user"), (2, 1, "assistant"), (3, 1, "assistant")
    ]  # fmt: skip
    active = alice_api.get(url).json()["results"]
    assert [m["seq"] for m in active] == [1, 3]
    assert all("branch_from_seq" not in m["metadata"] for m in every)
    session = alice_api.get(f"/api/sessions/{session_id}/").json()
    assert (session["current_seq"], session["message_count"]) == (3, 3)


def test_an_edited_question_branches_after_the_last_shared_message(alice_client, alice_api):
    first = [{"role": "user", "content": "Name a fruit"}]
    completion, session_id = chat(alice_client, model="m", messages=first)
    stored(session_id, 2)
    reply = {"role": "assistant", "content": completion.choices[0].message.content}
    chat(alice_client, model="m", messages=[*first, reply, {"role": "user", "content": "Another"}])
    stored(session_id, 4)

    _, edited = chat(alice_client, model="m", messages=[*first, reply, {"role": "user", "content": "A red one"}])

    assert edited == session_id
    stored(session_id, 6)
    every = alice_api.get(f"/api/sessions/{session_id}/messages/", {"branches": "all"}).json()["results"]
    assert [(m["seq"], m["parent_seq"], m["content"]) for m in every[4:]] == [
        (5, 2, "A red one"), (6, 5, "Echo: A red one")
    ]  # fmt: skip
    active = alice_api.get(f"/api/sessions/{session_id}/messages/").json()["results"]
    assert [m["content"] for m in active] == ["Name a fruit", "Echo: Name a fruit", "A red one", "Echo: A red one"]


def test_the_session_header_appends_to_that_session(alice_client, alice):
    session = make_session(alice, title="Planning")
    add_messages(session, ("user", "Earlier"), ("assistant", "Noted."))

    _, session_id = chat(
        alice_client, model="m", messages=[{"role": "user", "content": "Next"}],
        extra_headers={SESSION_HEADER: session.session_id},
    )  # fmt: skip

    assert session_id == session.session_id
    assert [row["content"] for row in stored(session_id, 4)] == ["Earlier", "Noted.", "Next", "Echo: Next"]


@pytest.mark.parametrize("whose", ["bob's", "unknown"])
def test_a_session_header_naming_no_session_of_the_caller_is_a_404_before_forwarding(
    whose, alice_client, bob, upstream
):
    session_id = make_session(bob).session_id if whose == "bob's" else "0123456789ab"
    forwarded = len(upstream.requests)
    with pytest.raises(openai.NotFoundError) as raised:
        alice_client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Hi"}], extra_headers={SESSION_HEADER: session_id}
        )
    assert raised.value.response.json()["error"]["code"] == "session_not_found"
    assert len(upstream.requests) == forwarded
    assert not ChatSession.objects.filter(owner__username="alice").exists()


def test_a_tool_result_answering_no_recorded_call_is_still_recorded_with_its_call_id(alice_client, alice):
    session = make_session(alice, title="Trimmed history")
    result = {"role": "tool", "tool_call_id": "call_elsewhere", "content": "sunny"}

    _, session_id = chat(
        alice_client, model="m", messages=[result, {"role": "user", "content": "So?"}],
        extra_headers={SESSION_HEADER: session.session_id},
    )  # fmt: skip

    rows = stored(session_id, 3)
    assert [row["role"] for row in rows] == ["tool", "user", "assistant"]
    assert rows[0]["metadata"]["tool_call_id"] == "call_elsewhere"
