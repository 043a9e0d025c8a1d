"""A client that did not hear the answer sends the same save again: nothing is stored twice, also when
the retries race each other through a real server."""

import pytest
import requests

from sessions_app.models import Message

from .clients import run_clients

BATCH = [
    {"role": "user", "content": "question", "message_id": "retry-1"},
    {"role": "assistant", "content": "answer", "message_id": "retry-2"},
    {"role": "user", "content": "thanks", "message_id": "retry-3"},
]


def test_a_save_retried_five_times_stores_each_message_once(alice_api, alice_session):
    body = {"session_id": alice_session.session_id, "messages": BATCH}
    answers = [alice_api.post("/api/sessions/save", body, format="json").json() for _ in range(5)]
    assert [(answer["saved"], answer["duplicates"]) for answer in answers] == [(3, 0)] + [(0, 3)] * 4
    assert list(alice_session.messages.values_list("seq", "message_id")) == [(1, "retry-1"), (2, "retry-2"), (3, "retry-3")]


def test_a_retry_that_adds_a_message_stores_only_the_new_one(alice_api, alice_session):
    alice_api.post("/api/sessions/save", {"session_id": alice_session.session_id, "messages": BATCH[:2]}, format="json")
    answer = alice_api.post("/api/sessions/save", {"session_id": alice_session.session_id, "messages": BATCH}, format="json").json()
    assert (answer["saved"], answer["duplicates"], answer["message_count"]) == (1, 2, 3)
    assert list(alice_session.messages.values_list("message_id", flat=True)) == ["retry-1", "retry-2", "retry-3"]


def test_a_retried_single_message_answers_the_stored_one(alice_api, alice_session):
    url = f"/api/sessions/{alice_session.session_id}/messages/"
    first = alice_api.post(url, BATCH[0], format="json")
    again = alice_api.post(url, BATCH[0], format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert alice_session.messages.count() == 1


@pytest.mark.slow
def test_concurrent_retries_through_a_real_server_store_each_message_once(gunicorn, token_headers):
    server = gunicorn(workers=2, threads=4)
    headers = token_headers("retrier")
    session_id = requests.post(f"{server.url}/api/sessions/start", json={}, headers=headers).json()["session_id"]

    def retry(number, log):
        for endpoint, body in (
            ("/api/sessions/save", {"session_id": session_id, "messages": BATCH}),
            (f"/api/sessions/{session_id}/messages/", {"role": "tool", "content": "once", "message_id": "single"}),
        ):
            response = requests.post(server.url + endpoint, json=body, headers=headers)
            log.statuses.append(response.status_code)
            log.acknowledged.append(response.json().get("saved", response.status_code == 201))

    logs = run_clients(8, retry)
    assert all(status in (200, 201) for log in logs for status in log.statuses)
    saves = [log.acknowledged[0] for log in logs]
    creates = [log.acknowledged[1] for log in logs]
    assert sorted(saves) == [0] * 7 + [3], "exactly one of the racing saves stores the batch"
    assert sorted(creates) == [False] * 7 + [True], "exactly one of the racing appends answers 201"
    stored = list(Message.objects.filter(session__session_id=session_id).values_list("seq", "message_id"))
    assert stored == [(1, "retry-1"), (2, "retry-2"), (3, "retry-3"), (4, "single")]
