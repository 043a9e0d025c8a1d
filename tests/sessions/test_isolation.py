"""Bob must never see or change Alice's sessions and messages, through any endpoint."""

import pytest

from sessions_app.models import ChatSession, Message
from tests.factories import add_messages


@pytest.fixture
def alices_chat(alice_session):
    add_messages(alice_session, ("user", "secret plan"), ("assistant", "noted"))
    return alice_session


def snapshot():
    return (
        list(ChatSession.objects.order_by("pk").values()),
        list(Message.objects.order_by("pk").values()),
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/sessions/{id}/", None),
        ("patch", "/api/sessions/{id}/", {"title": "mine now"}),
        ("delete", "/api/sessions/{id}/", None),
        ("post", "/api/sessions/{id}/end/", None),
        ("get", "/api/sessions/{id}/messages/", None),
        ("post", "/api/sessions/{id}/messages/", {"role": "user", "content": "injected"}),
        ("post", "/api/sessions/save", {"session_id": "{id}", "messages": [{"role": "user", "content": "injected"}]}),
        ("post", "/api/sessions/load", {"session_id": "{id}"}),
    ],
)
def test_another_users_session_answers_404_and_nothing_changes(bob_api, alices_chat, method, path, body):
    session_id = alices_chat.session_id
    if body and body.get("session_id"):
        body = {**body, "session_id": session_id}
    before = snapshot()
    response = getattr(bob_api, method)(path.format(id=session_id), body, format="json")
    assert response.status_code == 404
    assert "secret" not in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("query", ["", "?q=secret", f"?q={'{id}'}", "?mode=", "?min_messages=0"])
def test_lists_and_filters_never_show_another_users_sessions(bob_api, alices_chat, query):
    response = bob_api.get("/api/sessions/" + query.format(id=alices_chat.session_id))
    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert bob_api.post("/api/sessions/list", {"q": alices_chat.session_id}, format="json").json()["count"] == 0


def test_anonymous_clients_see_nothing(anonymous_api, alices_chat):
    assert anonymous_api.get("/api/sessions/").status_code == 401
    assert anonymous_api.post("/api/sessions/load", {"session_id": alices_chat.session_id}, format="json").status_code == 401
    assert anonymous_api.post("/api/sessions/start", {}, format="json").status_code == 401
