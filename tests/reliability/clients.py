"""HTTP clients for a live server: threads that write messages and remember what was acknowledged."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import requests


@dataclass
class ClientLog:
    """What one client sent, in order, and what the server answered."""

    acknowledged: list[str] = field(default_factory=list)  # message_ids of requests answered 200/201
    statuses: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # bodies of answers that were not 200/201


def run_clients(count: int, work: Callable[[int, ClientLog], None]) -> list[ClientLog]:
    """Run `work(client_number, log)` in `count` threads released at the same instant; re-raise the
    first exception a client raised, so a client that died cannot pass for one that wrote nothing."""
    logs = [ClientLog() for _ in range(count)]
    start_together = threading.Barrier(count)
    errors = []

    def client(number: int) -> None:
        start_together.wait()
        try:
            work(number, logs[number])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=client, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    if errors:
        raise errors[0]
    return logs


def save(http: requests.Session, base_url: str, session_id: str, messages: list[dict], log: ClientLog) -> int:
    """POST /api/sessions/save; on 200 the batch's message_ids join the client's acknowledged list."""
    response = http.post(f"{base_url}/api/sessions/save", json={"session_id": session_id, "messages": messages})
    log.statuses.append(response.status_code)
    if response.status_code == 200:
        log.acknowledged.extend(message["message_id"] for message in messages)
    else:
        log.failures.append(f"{response.status_code} {response.text[:300]}")
    return response.status_code


def append_one(http: requests.Session, base_url: str, session_id: str, message: dict, log: ClientLog) -> int:
    """POST /api/sessions/<id>/messages/ (one message, 201; 200 for a retry already stored)."""
    response = http.post(f"{base_url}/api/sessions/{session_id}/messages/", json=message)
    log.statuses.append(response.status_code)
    if response.status_code in (200, 201):
        log.acknowledged.append(message["message_id"])
    else:
        log.failures.append(f"{response.status_code} {response.text[:300]}")
    return response.status_code
