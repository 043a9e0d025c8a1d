import pytest

from sessions_app.models import Message


def save(client, session_id, *messages, **extra):
    return client.post("/api/sessions/save", {"session_id": session_id, "messages": list(messages), **extra}, format="json")


def test_start_answers_the_new_session(alice_api):
    response = alice_api.post("/api/sessions/start", {"title": "Plans", "metadata": {"mode": "commander"}}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert len(body["session_id"]) == 12 and int(body["session_id"], 16) >= 0
    assert body["title"] == "Plans"
    assert body["metadata"] == {"mode": "commander"}
    assert body["message_count"] == 0
    assert body["ended_at"] is None


def test_start_works_with_and_without_trailing_slash(alice_api):
    assert alice_api.post("/api/sessions/start/", {}, format="json").status_code == 201
    assert alice_api.post("/api/sessions/start", {}, format="json").status_code == 201


def test_save_stores_messages_in_order_with_contiguous_seq(alice_api, alice_session):
    response = save(
        alice_api,
        alice_session.session_id,
        {"role": "user", "content": "How do I...", "metadata": {"mode": "commander"}},
        {"role": "assistant", "content": "Like this.", "metadata": {"latency_ms": 420}},
    )
    assert response.status_code == 200
    assert response.json() == {"session_id": alice_session.session_id, "saved": 2, "duplicates": 0, "message_count": 2}
    response = save(alice_api, alice_session.session_id, {"role": "user", "content": "Thanks"})
    assert response.json()["message_count"] == 3
    stored = list(alice_session.messages.values_list("seq", "role", "content"))
    assert stored == [(1, "user", "How do I..."), (2, "assistant", "Like this."), (3, "user", "Thanks")]


def test_save_counts_tokens_and_takes_the_mode(alice_api, alice_session):
    save(alice_api, alice_session.session_id, {"role": "user", "content": "hello world", "metadata": {"mode": "research"}})
    alice_session.refresh_from_db()
    assert alice_session.mode == "research"
    assert alice_session.token_count == 2
    assert alice_session.messages.get().token_count == 2


def test_save_updates_title_and_metadata(alice_api, alice_session):
    response = save(alice_api, alice_session.session_id, title="Renamed", metadata={"project": "x"})
    assert response.status_code == 200
    alice_session.refresh_from_db()
    assert (alice_session.title, alice_session.metadata) == ("Renamed", {"project": "x"})


def test_a_retried_message_id_is_stored_once(alice_api, alice_session):
    batch = [{"role": "user", "content": "once", "message_id": "m-1"}, {"role": "assistant", "content": "ok", "message_id": "m-2"}]
    first = save(alice_api, alice_session.session_id, *batch)
    retry = save(alice_api, alice_session.session_id, *batch, {"role": "user", "content": "new", "message_id": "m-3"})
    assert first.json()["saved"] == 2
    assert retry.json() == {"session_id": alice_session.session_id, "saved": 1, "duplicates": 2, "message_count": 3}
    assert list(alice_session.messages.values_list("seq", "message_id")) == [(1, "m-1"), (2, "m-2"), (3, "m-3")]


def test_client_created_at_is_kept(alice_api, alice_session):
    save(alice_api, alice_session.session_id, {"role": "user", "content": "old", "created_at": "2025-03-01T10:00:00Z"})
    assert alice_session.messages.get().created_at.isoformat() == "2025-03-01T10:00:00+00:00"


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"role": "wizard", "content": "no"}, "role"),
        ({"role": "user", "content": 42}, "content"),
        ({"role": "user", "content": ["a"]}, "content"),
        ({"role": "user"}, "content"),
        ({"role": "user", "content": "x", "metadata": ["not", "an", "object"]}, "metadata"),
        ({"role": "user", "content": "x", "metadata": "text"}, "metadata"),
        ({"role": "user", "content": "x", "message_id": "m" * 65}, "message_id"),
        ({"role": "user", "content": "x", "created_at": "yesterday"}, "created_at"),
        ({"role": "user", "content": "x", "colour": "red"}, "colour"),
        ({"role": "user", "content": "nul \x00 byte"}, "content"),
    ],
)
def test_a_bad_message_in_a_batch_stores_nothing(alice_api, alice_session, message, field):
    response = save(alice_api, alice_session.session_id, {"role": "user", "content": "ok"}, message)
    assert response.status_code == 400
    assert field in response.json()["messages"]["1"]  # the error names the bad field of the bad message
    assert alice_session.messages.count() == 0


def test_content_over_the_size_limit_is_refused(alice_api, alice_session, settings):
    settings.NOVAFORGE = {**settings.NOVAFORGE, "MAX_CONTENT_CHARS": 100}
    response = save(alice_api, alice_session.session_id, {"role": "user", "content": "x" * 101})
    assert response.status_code == 400
    assert "limit is 100" in response.json()["messages"]["0"]["content"][0]
    assert save(alice_api, alice_session.session_id, {"role": "user", "content": "x" * 100}).status_code == 200


def test_the_default_content_limit_is_one_megabyte(alice_api, alice_session):
    response = save(alice_api, alice_session.session_id, {"role": "user", "content": "x" * 1_000_001})
    assert response.status_code == 400
    assert Message.objects.count() == 0


def test_more_than_1000_messages_in_one_save_is_refused(alice_api, alice_session):
    messages = [{"role": "user", "content": str(n)} for n in range(1001)]
    response = save(alice_api, alice_session.session_id, *messages)
    assert response.status_code == 400
    assert "At most 1000" in response.json()["messages"][0]
    assert alice_session.messages.count() == 0
    assert save(alice_api, alice_session.session_id, *messages[:1000]).json()["saved"] == 1000


def test_a_message_id_twice_in_one_batch_is_refused(alice_api, alice_session):
    response = save(
        alice_api,
        alice_session.session_id,
        {"role": "user", "content": "a", "message_id": "same"},
        {"role": "user", "content": "b", "message_id": "same"},
    )
    assert response.status_code == 400
    assert "twice" in response.json()["messages"][0]


def test_malformed_json_is_a_400_that_says_so(alice_api, alice_session):
    response = alice_api.post("/api/sessions/save", data='{"session_id": "abc', content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_deeply_nested_json_is_a_400(alice_api, alice_session):
    nested = "[" * 100_000 + "]" * 100_000
    body = f'{{"session_id": "{alice_session.session_id}", "messages": [], "metadata": {nested}}}'
    response = alice_api.post("/api/sessions/save", data=body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("session_id", ["0123456789ab", "not-a-session", 12])
def test_an_unknown_or_malformed_session_id(alice_api, session_id):
    response = save(alice_api, session_id, {"role": "user", "content": "x"})
    if session_id == "0123456789ab":
        assert response.status_code == 404
    else:
        assert response.status_code == 400
        assert "session_id" in response.json()


def test_an_ended_session_takes_no_more_messages(alice_api, alice_session):
    alice_api.post(f"/api/sessions/{alice_session.session_id}/end/")
    response = save(alice_api, alice_session.session_id, {"role": "user", "content": "late"})
    assert response.status_code == 400
    assert "has ended" in response.json()["session_id"][0]
    assert alice_session.messages.count() == 0


def test_a_bad_title_in_save_stores_no_messages(alice_api, alice_session):
    response = save(alice_api, alice_session.session_id, {"role": "user", "content": "x"}, title="t" * 201)
    assert response.status_code == 400
    assert "title" in response.json()
    assert alice_session.messages.count() == 0


def test_anonymous_requests_are_refused(anonymous_api, alice_session):
    response = save(anonymous_api, alice_session.session_id, {"role": "user", "content": "x"})
    assert response.status_code == 401
    assert alice_session.messages.count() == 0
