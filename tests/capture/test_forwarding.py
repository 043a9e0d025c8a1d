"""Chat completions through NovaForge reach the client as the upstream sent them and are recorded."""

import json

import openai
import requests

from sessions_app.models import ChatSession

from .fake_upstream import BROKEN_BODY, RATE_LIMITED_BODY, TOOL_CALLS, USAGE, stream_events
from .helpers import SESSION_HEADER, chat, chat_streamed, errors_noted, stored

HELLO = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]


def test_a_completion_is_answered_and_recorded_with_its_model_usage_and_params(alice_client):
    completion, session_id = chat(alice_client, model="m", messages=HELLO, temperature=0.2, max_tokens=50)

    assert completion.choices[0].message.content == "Echo: Hello there"
    rows = stored(session_id, 3)
    assert [(row["role"], row["content"]) for row in rows] == [
        ("system", "Be brief."), ("user", "Hello there"), ("assistant", "Echo: Hello there")
    ]  # fmt: skip
    reply = rows[2]["metadata"]
    assert reply["model"] == "m"
    assert reply["usage"] == USAGE
    assert reply["finish_reason"] == "stop"
    assert reply["latency_ms"] > 0
    assert reply["params"] == {"model": "m", "temperature": 0.2, "max_tokens": 50}
    session = ChatSession.objects.get(session_id=session_id)
    assert session.title == "Hello there"
    assert session.owner.username == "alice"


def test_a_stream_is_relayed_and_its_reply_assembled_with_usage_the_client_did_not_ask_for(alice_client, upstream):
    chunks, session_id = chat_streamed(alice_client, model="m", messages=HELLO)

    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == "Echo: Hello there"
    assert all(chunk.choices for chunk in chunks), "the usage chunk the client did not ask for reached it"
    assert upstream.requests[-1]["body"]["stream_options"] == {"include_usage": True}
    reply = stored(session_id, 3)[2]
    assert reply["content"] == "Echo: Hello there"
    assert reply["metadata"]["usage"] == USAGE
    assert 0 < reply["metadata"]["ttft_ms"] <= reply["metadata"]["latency_ms"]


def test_a_stream_whose_client_asked_for_usage_arrives_byte_for_byte(novaforge, alice_token):
    request = {"model": "m", "stream": True, "stream_options": {"include_usage": True}, "messages": HELLO}
    answer = requests.post(
        novaforge.url + "/v1/chat/completions", json=request, headers={"Authorization": f"Bearer {alice_token}"},
        stream=True, timeout=30,
    )  # fmt: skip

    assert answer.headers["Content-Type"].startswith("text/event-stream")
    assert answer.raw.read() == b"".join(stream_events(request))
    assert stored(answer.headers[SESSION_HEADER], 3)[2]["metadata"]["usage"] == USAGE


def test_two_parallel_tool_calls_in_a_stream_are_assembled_from_their_fragments(alice_client):
    messages = [{"role": "user", "content": "Weather and time in Paris?"}]
    tools = [{"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
             for name in ("get_weather", "get_time")]  # fmt: skip
    chunks, session_id = chat_streamed(alice_client, model="tools", messages=messages, tools=tools)

    reply = stored(session_id, 2)[1]
    assert reply["content"] == "Let me check."
    assert reply["tool_calls"] == TOOL_CALLS
    assert "tool_calls" not in reply["metadata"]
    assert reply["metadata"]["finish_reason"] == "tool_calls"
    assert ChatSession.objects.get(session_id=session_id).tools == tools


def test_reasoning_is_recorded_from_a_stream_and_from_a_json_reply(alice_client):
    _, streamed = chat_streamed(alice_client, model="reasoning", messages=[{"role": "user", "content": "Why?"}])
    _, whole = chat(alice_client, model="reasoning", messages=[{"role": "user", "content": "How?"}])

    assert stored(streamed, 2)[1]["reasoning"] == "Thinking hard."
    assert stored(whole, 2)[1]["reasoning"] == "Thinking hard."
    assert stored(whole, 2)[1]["content"] == "Echo: How?"
    assert "reasoning" not in stored(whole, 2)[1]["metadata"]


def test_content_parts_names_and_openais_other_roles_are_stored_in_their_fields(alice_client):
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    question = [{"type": "text", "text": "What is this?"}, image]
    call = {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": question, "name": "alice"},
        {"role": "assistant", "content": None, "function_call": call},
        {"role": "function", "name": "get_weather", "content": "sunny"},
    ]
    _, session_id = chat(alice_client, model="m", messages=messages)

    rows = stored(session_id, 5)
    assert [(row["role"], row["metadata"].get("role")) for row in rows[:4]] == [
        ("system", "developer"), ("user", None), ("assistant", None), ("tool", "function")
    ]  # fmt: skip
    assert (rows[1]["parts"], rows[1]["content"], rows[1]["name"]) == (question, "What is this?", "alice")
    assert rows[2]["metadata"]["function_call"] == call
    assert (rows[3]["name"], rows[3]["content"]) == ("get_weather", "sunny")


def test_models_are_listed_from_the_upstream(alice_client):
    assert [model.id for model in alice_client.models.list()] == ["fake-model"]


def test_an_upstream_429_reaches_the_client_unchanged_and_is_noted_on_the_session(alice_client):
    try:
        alice_client.chat.completions.create(model="rate-limited", messages=HELLO)
    except openai.RateLimitError as error:
        answer = error.response
    assert answer.status_code == 429
    assert answer.json() == RATE_LIMITED_BODY
    assert answer.headers["Retry-After"] == "7"
    session_id = answer.headers[SESSION_HEADER]
    assert [row["content"] for row in stored(session_id, 2)] == ["Be brief.", "Hello there"]
    errors = errors_noted(session_id)
    assert errors[0]["status"] == 429
    assert json.loads(errors[0]["body"]) == RATE_LIMITED_BODY
    assert errors[0]["after_seq"] == 2


def test_an_upstream_500_reaches_the_client_unchanged(alice_client):
    try:
        alice_client.chat.completions.create(model="broken", messages=HELLO, stream=True)
    except openai.InternalServerError as error:
        answer = error.response
    assert answer.status_code == 500
    assert answer.json() == BROKEN_BODY
    session_id = answer.headers[SESSION_HEADER]
    errors = errors_noted(session_id)
    assert errors[0]["status"] == 500


def test_a_dead_upstream_is_a_502_in_openais_error_shape(client_for, novaforge_without_upstream, alice_token):
    client = client_for(novaforge_without_upstream, alice_token)
    try:
        client.chat.completions.create(model="m", messages=HELLO)
    except openai.APIStatusError as error:
        answer = error.response
    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == "upstream_unreachable"
    assert set(answer.json()["error"]) == {"message", "type", "code"}
    errors = errors_noted(answer.headers[SESSION_HEADER])
    assert errors[0]["status"] == 502


def test_an_upstream_that_does_not_answer_in_time_is_a_504(client_for, novaforge_impatient, alice_token):
    client = client_for(novaforge_impatient, alice_token)
    try:
        client.chat.completions.create(model="hang", messages=HELLO)
    except openai.APIStatusError as error:
        answer = error.response
    assert answer.status_code == 504
    assert answer.json()["error"]["code"] == "upstream_timeout"
    assert errors_noted(answer.headers[SESSION_HEADER])[0]["status"] == 504


def test_a_bad_token_is_a_401_in_openais_error_shape(client_for, novaforge, upstream, transactional_db):
    forwarded = len(upstream.requests)
    try:
        client_for(novaforge, "not-a-token").chat.completions.create(model="m", messages=HELLO)
    except openai.AuthenticationError as error:
        answer = error.response
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_api_key"
    assert len(upstream.requests) == forwarded
    assert not ChatSession.objects.exists()


def test_a_request_without_messages_is_a_400_naming_them(novaforge, alice_token):
    answer = requests.post(
        novaforge.url + "/v1/chat/completions", json={"model": "m"}, headers={"Authorization": f"Bearer {alice_token}"},
        timeout=30,
    )  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "messages"


def test_a_body_that_is_not_json_is_a_400_saying_why_and_nothing_is_forwarded_or_stored(
    novaforge, alice_token, upstream
):
    forwarded = len(upstream.requests)
    headers = {"Authorization": f"Bearer {alice_token}", "Content-Type": "application/json"}
    for body, why in ((b'{"model": "m", "messages": [', "unexpected end"), (b'{"temperature": NaN}', "column 17")):
        answer = requests.post(novaforge.url + "/v1/chat/completions", data=body, headers=headers, timeout=30)
        assert answer.status_code == 400
        message = answer.json()["error"]["message"]
        assert message.startswith("The request body must be JSON") and why in message.lower()
    assert len(upstream.requests) == forwarded
    assert not ChatSession.objects.exists()
