"""SIGKILL the server in the middle of ingestion: no message whose request was acknowledged is lost,
the database passes its integrity check, and a restarted server carries on with the next seq."""

import threading

import pytest
import requests
from django.db import connection

from sessions_app.models import ChatSession, Message

from . import figures
from .clients import run_clients, save
from .server import integrity_check, is_sqlite

pytestmark = [pytest.mark.slow]

CLIENTS = 8
KILL_AFTER_ACKNOWLEDGED = 150  # messages; each client keeps writing until the server is gone


def test_sigkill_mid_ingestion_loses_no_acknowledged_message(gunicorn, token_headers):
    server = gunicorn(workers=1 if is_sqlite() else 2, threads=8)
    headers = token_headers("writer")
    session_ids = [
        requests.post(f"{server.url}/api/sessions/start", json={}, headers=headers).json()["session_id"]
        for _ in range(CLIENTS // 2)
    ]
    acknowledged_so_far = threading.Semaphore(0)
    killed = threading.Event()
    cut_off = []  # clients whose request was in flight, or about to be sent, when the server died

    def work(number, log):
        http = requests.Session()
        http.headers.update(headers)
        request = 0
        while not killed.is_set() and request < 1000:
            batch = [{"role": "user", "content": f"client {number} message {request}.{part} " * 20,
                      "message_id": f"c{number}-{request}-{part}"} for part in range(1 + request % 4)]  # fmt: skip
            try:
                if save(http, server.url, session_ids[number % len(session_ids)], batch, log) == 200:
                    for _ in batch:
                        acknowledged_so_far.release()
            except requests.RequestException:  # refused, reset, or cut off mid-answer
                cut_off.append(number)
                return  # the server is gone: this request was never acknowledged
            request += 1

    def killer(number, log):
        for _ in range(KILL_AFTER_ACKNOWLEDGED):
            acknowledged_so_far.acquire(timeout=120)
        server.kill()
        killed.set()

    logs = run_clients(CLIENTS + 1, lambda number, log: (killer if number == CLIENTS else work)(number, log))
    acknowledged = [message_id for log in logs for message_id in log.acknowledged]
    assert len(acknowledged) >= KILL_AFTER_ACKNOWLEDGED
    assert cut_off, "the server was not killed in the middle of ingestion"
    assert [failure for log in logs for failure in log.failures] == []

    if is_sqlite():
        # A separate connection, as a restarted server would open: it must find a sound file.
        assert integrity_check(connection.settings_dict["NAME"]) == [("ok",)]
    connection.close()  # read what is on disk now, not through a connection opened before the kill
    stored = set(Message.objects.filter(session__session_id__in=session_ids).values_list("message_id", flat=True))
    lost = set(acknowledged) - stored
    figures.add("crash: messages acknowledged before SIGKILL", len(acknowledged))
    figures.add("crash: acknowledged messages lost after SIGKILL", len(lost))
    assert lost == set()
    for session in ChatSession.objects.filter(session_id__in=session_ids):
        seqs = list(session.messages.order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, session.message_count + 1))

    restarted = gunicorn(workers=1, threads=2)
    response = requests.post(
        f"{restarted.url}/api/sessions/save",
        json={"session_id": session_ids[0], "messages": [{"role": "user", "content": "after the crash"}]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    session = ChatSession.objects.get(session_id=session_ids[0])
    assert session.messages.order_by("-seq").first().content == "after the crash"
    assert session.messages.count() == session.message_count
