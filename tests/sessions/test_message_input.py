"""Message input rules hold the same on the fast path for plainly valid messages and on DRF's path."""

import pytest
from django.core.exceptions import ValidationError

from sessions_app.logging_system import LoggingSystem


def _save(api, session, *messages):
    return api.post("/api/sessions/save", {"session_id": session.session_id, "messages": list(messages)}, format="json")


def test_a_surrogate_character_is_refused_with_its_code_point(alice_api, alice_session):
    response = alice_api.post(
        "/api/sessions/save",
        data=f'{{"session_id": "{alice_session.session_id}", "messages": [{{"role": "user", "content": "bad \\ud800 text"}}]}}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["messages"]["0"]["content"] == ["Surrogate characters are not allowed: U+D800."]
    assert alice_session.messages.count() == 0


def test_a_message_id_is_trimmed_like_any_other_text_field(alice_api, alice_session):
    assert _save(alice_api, alice_session, {"role": "user", "content": " hi ", "message_id": " c-1 "}).status_code == 200
    stored = alice_session.messages.get()
    assert (stored.message_id, stored.content) == ("c-1", " hi ")


@pytest.mark.parametrize(
    "message, field",
    [
        ({"role": "user", "content": "x", "metadata": None}, "metadata"),
        ({"role": "user", "content": "x", "message_id": ""}, "message_id"),
        ({"role": 1, "content": "x"}, "role"),
    ],
)
def test_each_rule_still_names_its_field(alice_api, alice_session, message, field):
    response = _save(alice_api, alice_session, message)
    assert response.status_code == 400
    assert field in response.json()["messages"]["0"]


def test_metadata_that_cannot_be_stored_is_refused_by_the_python_api(alice):
    logging = LoggingSystem(user=alice)
    with pytest.raises(ValidationError) as refused:
        logging.log_message(role="user", content="x", metadata={"at": object()})
    assert "metadata" in refused.value.message_dict
