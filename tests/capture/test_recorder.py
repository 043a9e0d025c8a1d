"""Calls are recorded by a process of the server's own: one that dies is replaced, and a server that
stops records what it answered first."""

import os
import signal
import sqlite3
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.db import connection, connections

from sessions_app.models import Message

from .conftest import _serve
from .helpers import chat, chat_streamed, stored, wait_for


def _recorder_pids(server) -> list[int]:
    """The recorder processes of `server` (its process group)."""
    found = subprocess.run(["pgrep", "-g", str(server.process.pid), "-f", "record_captures"],
                           capture_output=True, text=True, check=False)  # fmt: skip
    return [int(pid) for pid in found.stdout.split()]


def _is_running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_recorder_that_dies_is_started_again_and_later_calls_are_recorded(alice_client, novaforge):
    _, first = chat(alice_client, model="m", messages=[{"role": "user", "content": "Before"}])
    stored(first, 2)
    [pid] = _recorder_pids(novaforge)

    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not _is_running(pid))
    _, second = chat(alice_client, model="m", messages=[{"role": "user", "content": "After"}])

    assert stored(second, 2)[1]["content"] == "Echo: After"
    assert "starting it again" in novaforge.log()
    assert pid not in _recorder_pids(novaforge)


@contextmanager
def recordings_held_up():
    """Another connection holds what recording needs (SQLite's write lock; PostgreSQL's sessions table),
    so the recorder falls behind until the block ends; yields a function that ends it early (from any
    thread)."""
    if connection.vendor == "sqlite":
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
    else:
        other = connections.create_connection("default")
        other.inc_thread_sharing()
        other.set_autocommit(False)
        other.cursor().execute("LOCK TABLE sessions_app_chatsession IN EXCLUSIVE MODE")
    released = threading.Lock()

    def release():
        if released.acquire(blocking=False):
            other.rollback()
            other.close()

    try:
        yield release
    finally:
        release()


def test_a_follow_up_sent_before_the_reply_is_recorded_continues_its_session(alice_client):
    """As an agent sends a tool's result the moment the reply came: the session is chosen once the
    caller's earlier calls are recorded (here the upstream takes longer than that)."""
    hello = [{"role": "user", "content": "Hello"}]
    with recordings_held_up() as release:
        reply, session_id = chat(alice_client, model="m", messages=hello)
        threading.Timer(0.3, release).start()
        follow_up = [*hello, {"role": "assistant", "content": reply.choices[0].message.content},
                     {"role": "user", "content": "And then?"}]  # fmt: skip
        _, follow_up_session_id = chat(alice_client, model="late", messages=follow_up)

    assert follow_up_session_id == session_id
    assert [row["content"] for row in stored(session_id, 4)] == ["Hello", "Echo: Hello", "And then?", "Echo: And then?"]


def test_a_server_stopped_right_after_answering_has_recorded_every_call(
    upstream, django_db_blocker, tmp_path_factory, client_for, alice_token
):
    server = _serve(tmp_path_factory, django_db_blocker, {"NOVAFORGE_UPSTREAM_URL": upstream.url})
    client = client_for(server, alice_token)
    try:
        with recordings_held_up():
            with ThreadPoolExecutor(max_workers=16) as pool:
                questions = [[{"role": "user", "content": f"Question {number}"}] for number in range(48)]
                calls = list(
                    pool.map(lambda messages: chat_streamed(client, model="long", messages=messages), questions)
                )
            assert Message.objects.count() == 0  # answered, not yet recorded
            # SIGTERM to the server's process group, as Ctrl-C or a service manager sends; the block ends
            # a moment later, while the server is stopping.
            stopping = threading.Thread(target=server.stop)
            stopping.start()
            stopping.join(timeout=1)
        stopping.join()
    finally:
        server.stop()

    assert all(chunks for chunks, _ in calls)
    assert Message.objects.filter(role="assistant").count() == 48
    assert Message.objects.filter(role="user").count() == 48
