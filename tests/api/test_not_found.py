"""A missing object (or another user's) answers 404 saying, in our words, what was not found."""

import pytest

from memory_app import services as memory_services
from tests.factories import add_messages, make_conversation

MISSING_SESSION = "0123456789ab"


@pytest.fixture
def conversation(alice):
    return make_conversation(alice, title="found")


def assert_not_found(response, detail):
    assert response.status_code == 404, (response.status_code, response.content[:300])
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize(
    "method,url,body",
    [
        ("get", f"/api/sessions/{MISSING_SESSION}/", None),
        ("patch", f"/api/sessions/{MISSING_SESSION}/", {"title": "x"}),
        ("delete", f"/api/sessions/{MISSING_SESSION}/", None),
        ("post", f"/api/sessions/{MISSING_SESSION}/end/", None),
        ("get", f"/api/sessions/{MISSING_SESSION}/messages/", None),
        ("post", f"/api/sessions/{MISSING_SESSION}/messages/", {"role": "user", "content": "x"}),
        ("post", "/api/sessions/save", {"session_id": MISSING_SESSION, "messages": []}),
        ("post", "/api/sessions/load", {"session_id": MISSING_SESSION}),
        ("post", "/api/shares/", {"session_id": MISSING_SESSION}),
        ("post", "/api/memory/context/", {"session_id": MISSING_SESSION}),
        ("post", "/api/memory/items/", {"layer": "short_term", "text": "x", "session_id": MISSING_SESSION}),
    ],
)
def test_a_missing_session_is_a_session_not_found(alice_api, method, url, body):
    assert_not_found(getattr(alice_api, method)(url, body, format="json"), "Session not found.")


def test_another_users_session_is_a_session_not_found(bob_api, conversation):
    assert_not_found(bob_api.get(f"/api/sessions/{conversation.session_id}/"), "Session not found.")
    assert_not_found(
        bob_api.post("/api/sessions/load", {"session_id": conversation.session_id}, format="json"), "Session not found."
    )


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_feedback_on_a_missing_message_is_a_message_not_found(alice_api, conversation, method):
    url = f"/api/sessions/{conversation.session_id}/messages/99/feedback/"
    assert_not_found(getattr(alice_api, method)(url, {"rating": 1}, format="json"), "Message not found.")


def test_an_unrated_message_still_says_it_has_no_feedback(alice_api, conversation):
    url = f"/api/sessions/{conversation.session_id}/messages/2/feedback/"
    assert_not_found(alice_api.get(url), "Message 2 has no feedback.")


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("item_id", ["999999", "abc"])
def test_a_missing_memory_item_is_a_memory_item_not_found(alice_api, method, item_id):
    response = getattr(alice_api, method)(f"/api/memory/items/{item_id}/", {"text": "x"}, format="json")
    assert_not_found(response, "Memory item not found.")


def test_another_users_memory_item_is_a_memory_item_not_found(alice, bob_api):
    item, _ = memory_services.remember_fact(owner=alice, text="Alice likes tea", category="general", session=None)
    assert_not_found(bob_api.get(f"/api/memory/items/{item.pk}/"), "Memory item not found.")


def test_a_missing_share_link_is_a_share_link_not_found(alice_api, bob_api, conversation):
    assert_not_found(alice_api.delete("/api/shares/999999/"), "Share link not found.")
    created = alice_api.post("/api/shares/", {"session_id": conversation.session_id}, format="json").json()
    assert_not_found(bob_api.delete(f"/api/shares/{created['id']}/"), "Share link not found.")


def test_other_not_found_answers_keep_their_words(alice_api, conversation):
    add_messages(conversation, ("user", "more"))
    response = alice_api.get(f"/api/sessions/{conversation.session_id}/messages/?page=9")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("Page 9 does not exist")
