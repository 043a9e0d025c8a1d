"""A message is more than a role and a string: tool calls, tool results, reasoning, content parts and
branches go in through the API and come back out exactly."""

import base64

import pytest

from sessions_app.models import Blob

# Arguments exactly as a model wrote them: odd spacing, key order, escapes and non-ASCII are data.
ARGUMENTS = '{"city":  "Zürich",\n "units":"metric", "q": "a \\"quoted\\" word"}'
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ARGUMENTS}}
IMAGE = "data:image/png;base64," + base64.b64encode(bytes(range(256)) * 40).decode()


def save(api, session, *messages, **extra):
    return api.post(
        "/api/sessions/save", {"session_id": session.session_id, "messages": list(messages), **extra}, format="json"
    )


def load(api, session, **options):
    return api.post("/api/sessions/load", {"session_id": session.session_id, **options}, format="json").json()


def test_tool_calls_and_their_results_come_back_byte_for_byte(alice_api, alice_session):
    response = save(
        alice_api,
        alice_session,
        {"role": "user", "content": "Weather in Zürich?"},
        {"role": "assistant", "content": "", "tool_calls": [CALL]},
        {"role": "tool", "content": '{"temp": 21}', "tool_call_id": "call_1", "name": "get_weather"},
        {"role": "assistant", "content": "21 degrees.", "reasoning": "The tool said 21."},
    )
    assert response.status_code == 200, response.json()
    messages = load(alice_api, alice_session)["messages"]
    assert messages[1]["tool_calls"] == [CALL]
    assert messages[1]["tool_calls"][0]["function"]["arguments"] == ARGUMENTS
    assert (messages[2]["tool_call_id"], messages[2]["name"]) == ("call_1", "get_weather")
    assert messages[3]["reasoning"] == "The tool said 21." and messages[3]["content"] == "21 degrees."
    assert [m["parent_seq"] for m in messages] == [None, 1, 2, 3]
    listed = alice_api.get(f"/api/sessions/{alice_session.session_id}/messages/").json()["results"]
    assert listed[1]["tool_calls"][0]["function"]["arguments"] == ARGUMENTS


def test_a_tool_result_for_no_earlier_call_is_refused_and_nothing_is_stored(alice_api, alice_session):
    response = save(
        alice_api,
        alice_session,
        {"role": "assistant", "content": "", "tool_calls": [CALL]},
        {"role": "tool", "content": "42", "tool_call_id": "call_404"},
    )
    assert response.status_code == 400
    assert "call_404" in str(response.json()["tool_call_id"])
    assert alice_session.messages.count() == 0


def test_a_tool_result_may_answer_a_call_stored_by_an_earlier_request(alice_api, alice_session):
    save(alice_api, alice_session, {"role": "assistant", "content": "", "tool_calls": [CALL]})
    url = f"/api/sessions/{alice_session.session_id}/messages/"
    answer = alice_api.post(url, {"role": "tool", "content": "42", "tool_call_id": "call_1"}, format="json")
    assert answer.status_code == 201, answer.json()


@pytest.mark.parametrize(
    "message, field",
    [
        ({"role": "user", "content": "x", "tool_calls": [CALL]}, "tool_calls"),
        ({"role": "assistant", "content": "x", "tool_call_id": "call_1"}, "tool_call_id"),
        (
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {}}}],
            },
            "tool_calls",
        ),
        ({"role": "user", "content": [{"type": "text"}]}, "content"),
        ({"role": "user", "content": [{"text": "no type"}]}, "content"),
        ({"role": "assistant", "content": "x", "metadata": {"latency_ms": "fast"}}, "metadata"),
        ({"role": "assistant", "content": "x", "metadata": {"usage": {"prompt_tokens": -1}}}, "metadata"),
    ],
)
def test_malformed_lossless_fields_are_named_in_a_400(alice_api, alice_session, message, field):
    response = save(alice_api, alice_session, message)
    assert response.status_code == 400
    assert field in response.json()["messages"]["0"]
    assert alice_session.messages.count() == 0


def test_content_parts_keep_their_data_and_large_data_is_stored_once(alice_api, alice_session):
    parts = [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": IMAGE, "detail": "high"}},
        {"type": "text", "text": "Be brief."},
    ]
    save(alice_api, alice_session, {"role": "user", "content": parts}, {"role": "user", "content": parts})
    messages = load(alice_api, alice_session)["messages"]
    assert messages[0]["content"] == "What is in this picture?\nBe brief."
    assert messages[0]["parts"] == parts and messages[1]["parts"] == parts
    assert Blob.objects.count() == 1
    stored = alice_session.messages.get(seq=1)
    assert IMAGE not in str(stored.parts)  # the row holds a reference, not the data
    reference = stored.part_blobs[0]
    assert (reference["media_type"], reference["size"]) == ("image/png", 256 * 40)
    assert load(alice_api, alice_session, after_seq=1)["messages"][0]["parts"] == parts


def test_a_regeneration_is_a_branch_and_reads_follow_the_active_one(alice_api, alice_session):
    save(
        alice_api,
        alice_session,
        {"role": "user", "content": "Name a colour"},
        {"role": "assistant", "content": "Red"},
    )
    regenerated = save(alice_api, alice_session, {"role": "assistant", "content": "Blue", "parent_seq": 1})
    assert regenerated.status_code == 200, regenerated.json()
    save(alice_api, alice_session, {"role": "user", "content": "Why?"})

    active = load(alice_api, alice_session)
    assert [(m["seq"], m["content"]) for m in active["messages"]] == [(1, "Name a colour"), (3, "Blue"), (4, "Why?")]
    assert active["current_seq"] == 4
    everything = load(alice_api, alice_session, branches="all")["messages"]
    assert [m["parent_seq"] for m in everything] == [None, 1, 1, 3]

    switched = alice_api.patch(f"/api/sessions/{alice_session.session_id}/", {"current_seq": 2}, format="json")
    assert switched.status_code == 200 and switched.json()["current_seq"] == 2
    listed = alice_api.get(f"/api/sessions/{alice_session.session_id}/messages/").json()["results"]
    assert [m["content"] for m in listed] == ["Name a colour", "Red"]
    all_listed = alice_api.get(f"/api/sessions/{alice_session.session_id}/messages/", {"branches": "all"}).json()
    assert all_listed["count"] == 4
    # Writing after a switch continues the branch now active.
    save(alice_api, alice_session, {"role": "user", "content": "Darker?"})
    assert [m["content"] for m in load(alice_api, alice_session)["messages"]] == ["Name a colour", "Red", "Darker?"]


def test_an_edited_first_message_starts_the_conversation_anew(alice_api, alice_session):
    save(alice_api, alice_session, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"})
    save(alice_api, alice_session, {"role": "user", "content": "Hi there", "parent_seq": None})
    assert [m["content"] for m in load(alice_api, alice_session)["messages"]] == ["Hi there"]


@pytest.mark.parametrize("parent", [5, 0, "two"])
def test_a_parent_that_is_not_an_earlier_message_is_refused(alice_api, alice_session, parent):
    save(alice_api, alice_session, {"role": "user", "content": "Hi"})
    response = save(alice_api, alice_session, {"role": "assistant", "content": "x", "parent_seq": parent})
    assert response.status_code == 400
    assert "parent_seq" in str(response.json())
    assert alice_session.messages.count() == 1


def test_switching_to_a_message_that_does_not_exist_is_refused(alice_api, alice_session):
    save(alice_api, alice_session, {"role": "user", "content": "Hi"})
    response = alice_api.patch(f"/api/sessions/{alice_session.session_id}/", {"current_seq": 7}, format="json")
    assert response.status_code == 400 and "current_seq" in response.json()


def test_the_sessions_tools_are_kept_from_start_and_save(alice_api):
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    started = alice_api.post("/api/sessions/start", {"title": "t", "tools": tools}, format="json").json()
    assert started["tools"] == tools
    more = [*tools, {"type": "function", "function": {"name": "search"}}]
    alice_api.post(
        "/api/sessions/save", {"session_id": started["session_id"], "messages": [], "tools": more}, format="json"
    )
    loaded = alice_api.post("/api/sessions/load", {"session_id": started["session_id"]}, format="json").json()
    assert loaded["tools"] == more


def test_a_new_session_cannot_name_a_current_message(alice_api):
    response = alice_api.post("/api/sessions/start", {"title": "t", "current_seq": 3}, format="json")
    assert response.status_code == 400 and "current_seq" in response.json()
