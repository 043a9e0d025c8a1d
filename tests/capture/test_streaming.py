"""Streams pass through as they arrive; a client that leaves early still has what arrived recorded."""

import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from sessions_app.models import Message
from sessions_app.services import end_session
from tests.factories import make_session

from .fake_upstream import PAUSE_SECONDS
from .helpers import SESSION_HEADER, stored, wait_for


def test_a_first_chunk_reaches_the_client_before_the_upstream_pause_ends(alice_client):
    started = time.monotonic()
    raw = alice_client.chat.completions.with_raw_response.create(
        model="slow", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    stream = raw.parse()
    first = next(iter(stream))
    first_at = time.monotonic() - started
    rest = list(stream)
    ended_at = time.monotonic() - started

    assert first.choices[0].delta.content == "Echo"
    assert first_at < PAUSE_SECONDS / 4, f"the first chunk took {first_at:.3f}s: it was held back"
    assert ended_at >= PAUSE_SECONDS
    assert "".join(chunk.choices[0].delta.content or "" for chunk in rest) == ": Hi"
    assert stored(raw.headers[SESSION_HEADER], 2)[1]["content"] == "Echo: Hi"


def test_a_client_that_disconnects_mid_stream_has_what_arrived_recorded_as_cut_off(alice_client):
    raw = alice_client.chat.completions.with_raw_response.create(
        model="slow", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    stream = raw.parse()
    assert next(iter(stream)).choices[0].delta.content == "Echo"
    stream.close()  # during the upstream's pause

    rows = stored(raw.headers[SESSION_HEADER], 2)
    assert rows[1]["content"] == "Echo"
    assert rows[1]["metadata"]["cut_off"] is True
    assert rows[1]["metadata"]["cut_off_by"] == "client"


def test_a_client_that_gives_up_before_the_answer_starts_still_has_its_call_recorded(
    client_for, novaforge, alice_token
):
    impatient = client_for(novaforge, alice_token).with_options(timeout=PAUSE_SECONDS / 4)
    with pytest.raises(openai.APITimeoutError):
        impatient.chat.completions.create(model="late", messages=[{"role": "user", "content": "Anyone there?"}])

    assert wait_for(lambda: Message.objects.filter(session__title="Anyone there?", role="assistant").exists())
    rows = list(Message.objects.filter(session__title="Anyone there?").order_by("seq").values_list("role", "content"))
    assert rows == [("user", "Anyone there?"), ("assistant", "Echo: Anyone there?")]


def test_sixty_four_streams_are_served_at_once(alice_client):
    """Each upstream stream pauses a second: one at a time they would take over a minute."""
    streams = 64

    def stream(number):
        chunks = alice_client.chat.completions.create(
            model="slow", messages=[{"role": "user", "content": f"Stream {number}"}], stream=True
        )
        return "".join(chunk.choices[0].delta.content or "" for chunk in chunks)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=streams) as pool:
        replies = list(pool.map(stream, range(streams)))
    elapsed = time.monotonic() - started

    assert replies == [f"Echo: Stream {number}" for number in range(streams)]
    assert elapsed < PAUSE_SECONDS * 8, f"{streams} streams took {elapsed:.1f}s"
    assert wait_for(lambda: Message.objects.filter(role="assistant").count() == streams, timeout=30)


def test_a_recording_that_fails_is_logged_and_the_client_still_gets_its_whole_answer(alice_client, alice, novaforge):
    session = make_session(alice, title="Ends mid-stream")
    stream = alice_client.chat.completions.create(
        model="slow", messages=[{"role": "user", "content": "Hi"}], stream=True,
        extra_headers={SESSION_HEADER: session.session_id},
    )  # fmt: skip
    chunks = iter(stream)
    first = next(chunks).choices[0].delta.content
    end_session(session=session)  # during the upstream's pause: the reply can no longer be stored

    assert first + "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == "Echo: Hi"
    assert wait_for(lambda: f"Recording a chat completion in session {session.session_id} failed" in novaforge.log())
    assert not session.messages.exists()
