import pytest
from django.core.exceptions import ValidationError

from sessions_app.logging_system import LoggingSystem
from tests.factories import make_conversation

TURNS = (("system", "Be brief."), ("user", "Capital of France?"), ("assistant", "Paris."), ("tool", "{}"))


@pytest.fixture
def chat(alice):
    return make_conversation(alice, turns=TURNS)


def feedback_url(session, seq, slash="/"):
    return f"/api/sessions/{session.session_id}/messages/{seq}/feedback{slash}"


def test_rating_an_assistant_message_stores_it(alice_api, chat):
    rating = {"rating": 1, "reason": "correct", "comment": "short"}
    response = alice_api.post(feedback_url(chat, 3), rating, format="json")
    assert response.status_code == 201
    stored = response.json()
    assert (stored["seq"], stored["rating"], stored["reason"], stored["comment"]) == (3, 1, "correct", "short")
    assert alice_api.get(feedback_url(chat, 3)).json()["rating"] == 1


def test_rating_again_replaces_the_rating(alice_api, chat):
    alice_api.post(feedback_url(chat, 3), {"rating": 1, "reason": "correct"}, format="json")
    response = alice_api.post(feedback_url(chat, 3, slash=""), {"rating": -1}, format="json")
    assert response.status_code == 200
    assert (response.json()["rating"], response.json()["reason"]) == (-1, "")
    messages = alice_api.get(f"/api/sessions/{chat.session_id}/messages/").json()["results"]
    assert [message["feedback"] for message in messages] == [
        None,
        None,
        {"rating": -1, "reason": "", "comment": ""},
        None,
    ]


@pytest.mark.parametrize("seq, role", [(1, "system"), (2, "user"), (4, "tool")])
def test_only_assistant_messages_can_be_rated(alice_api, chat, seq, role):
    response = alice_api.post(feedback_url(chat, seq), {"rating": 1}, format="json")
    assert response.status_code == 400
    assert f"is a {role} message" in response.json()["seq"][0]
    assert alice_api.get(feedback_url(chat, seq)).status_code == 404


def test_rating_an_unknown_message_is_404(alice_api, chat):
    assert alice_api.post(feedback_url(chat, 99), {"rating": 1}, format="json").status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"rating": 2}, "rating"),
        ({"rating": 0}, "rating"),
        ({}, "rating"),
        ({"rating": 1, "reason": "x" * 201}, "reason"),
        ({"rating": 1, "mood": "happy"}, "mood"),
    ],
)
def test_a_bad_rating_is_400_naming_the_field_and_stores_nothing(alice_api, chat, body, field):
    response = alice_api.post(feedback_url(chat, 3), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert alice_api.get(feedback_url(chat, 3)).status_code == 404


def test_deleting_a_rating_removes_it(alice_api, chat):
    alice_api.post(feedback_url(chat, 3), {"rating": 1}, format="json")
    assert alice_api.delete(feedback_url(chat, 3)).status_code == 204
    assert alice_api.get(feedback_url(chat, 3)).status_code == 404
    assert alice_api.delete(feedback_url(chat, 3)).status_code == 404


def test_another_user_cannot_rate_or_see_the_feedback(alice_api, bob_api, chat):
    alice_api.post(feedback_url(chat, 3), {"rating": 1, "comment": "private"}, format="json")
    assert bob_api.get(feedback_url(chat, 3)).status_code == 404
    assert bob_api.post(feedback_url(chat, 3), {"rating": -1}, format="json").status_code == 404
    assert bob_api.delete(feedback_url(chat, 3)).status_code == 404
    assert alice_api.get(feedback_url(chat, 3)).json()["rating"] == 1


def test_feedback_shows_on_loaded_messages(alice_api, chat):
    alice_api.post(feedback_url(chat, 3), {"rating": -1, "reason": "wrong"}, format="json")
    loaded = alice_api.post("/api/sessions/load", {"session_id": chat.session_id}, format="json").json()
    assert loaded["messages"][2]["feedback"] == {"rating": -1, "reason": "wrong", "comment": ""}
    assert loaded["messages"][1]["feedback"] is None


def test_loading_rated_messages_takes_a_fixed_number_of_queries(alice_api, alice, django_assert_max_num_queries):
    session = make_conversation(alice, turns=[("user", "q"), ("assistant", "a")] * 30)
    for seq in range(2, 61, 2):
        alice_api.post(feedback_url(session, seq), {"rating": 1}, format="json")
    with django_assert_max_num_queries(6):
        response = alice_api.get(f"/api/sessions/{session.session_id}/messages/?page_size=200")
    assert [message["feedback"]["rating"] for message in response.json()["results"][1::2]] == [1] * 30


def test_the_python_api_rates_a_message(alice):
    logging = LoggingSystem(user=alice)
    logging.log_message(role="user", content="Hi")
    logging.log_message(role="assistant", content="Hello!")
    assert logging.rate(2, +1, reason="friendly")["rating"] == 1
    assert logging.rate(2, -1)["reason"] == ""
    assert logging.load_session()["messages"][1]["feedback"]["rating"] == -1
    with pytest.raises(ValidationError, match="only assistant messages"):
        logging.rate(1, +1)
    with pytest.raises(ValidationError, match="no message 7"):
        logging.rate(7, +1)
