"""16 clients write through a real gunicorn at once: every acknowledged message is stored exactly once,
in the order its client sent it, and seq stays 1..N with no gap; no client ever sees a 5xx."""

import pytest
import requests

from sessions_app.models import ChatSession, Message

from . import figures
from .clients import append_one, run_clients, save

pytestmark = [pytest.mark.slow]

CLIENTS = 16
REQUESTS_PER_CLIENT = 6

# With SQLite the README recommends one process with threads; several processes must still never
# hand a client "database is locked". PostgreSQL takes several workers.
SERVERS = {"one-worker-8-threads": {"workers": 1, "threads": 8}, "three-workers": {"workers": 3, "threads": 4}}


def write_concurrently(base_url: str, headers: dict, session_for_client: list[str]):
    """Each client sends REQUESTS_PER_CLIENT writes of 1-3 messages; odd clients append one at a time."""

    def work(number, log):
        http = requests.Session()
        http.headers.update(headers)
        session_id = session_for_client[number]
        for request in range(REQUESTS_PER_CLIENT):
            if number % 2:
                message = {"role": "user", "content": f"client {number} says {request}", "message_id": f"c{number}-{request}"}
                append_one(http, base_url, session_id, message, log)
            else:
                batch = [
                    {"role": "assistant", "content": f"client {number} batch {request} part {part}", "message_id": f"c{number}-{request}-{part}"}
                    for part in range(request % 3 + 1)
                ]
                save(http, base_url, session_id, batch, log)

    return run_clients(CLIENTS, work)


def assert_stored_exactly_once_in_order(logs, session_ids):
    failures = [failure for log in logs for failure in log.failures]
    assert failures == [], failures[:5]
    acknowledged = [message_id for log in logs for message_id in log.acknowledged]
    stored = list(
        Message.objects.filter(session__session_id__in=session_ids).values_list("session__session_id", "seq", "message_id")
    )
    stored_ids = [message_id for _, _, message_id in stored]
    assert sorted(stored_ids) == sorted(acknowledged), "a message was lost, duplicated or stored unacknowledged"
    for session in ChatSession.objects.filter(session_id__in=session_ids):
        seqs = sorted(seq for session_id, seq, _ in stored if session_id == session.session_id)
        assert seqs == list(range(1, len(seqs) + 1)), f"seq of {session.session_id} has a gap or a duplicate"
        assert session.message_count == len(seqs)
    seq_of = {message_id: (session_id, seq) for session_id, seq, message_id in stored}
    for log in logs:
        assert [seq_of[message_id] for message_id in log.acknowledged] == sorted(
            seq_of[message_id] for message_id in log.acknowledged
        ), "a client's messages were stored out of the order it sent them"
    figures.add("concurrency: messages acknowledged", len(acknowledged))
    figures.add("concurrency: messages lost or duplicated", len(set(acknowledged) ^ set(stored_ids)) + len(stored_ids) - len(set(stored_ids)))


@pytest.mark.parametrize("server_options", SERVERS.values(), ids=SERVERS.keys())
def test_sixteen_clients_on_one_session_and_on_their_own_sessions(gunicorn, token_headers, server_options):
    server = gunicorn(**server_options)
    headers = token_headers("writer")

    def start_session():
        response = requests.post(f"{server.url}/api/sessions/start", json={"title": "shared"}, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()["session_id"]

    shared = start_session()
    logs = write_concurrently(server.url, headers, [shared] * CLIENTS)
    assert_stored_exactly_once_in_order(logs, [shared])

    own = [start_session() for _ in range(CLIENTS)]
    logs = write_concurrently(server.url, headers, own)
    assert_stored_exactly_once_in_order(logs, own)
    assert "database is locked" not in server.log()
