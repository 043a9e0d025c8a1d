"""The reply is put together from a stream however its bytes are cut, and from a JSON body."""

import json
import pickle

import pytest

from capture_app.assembly import (
    EventSplitter,
    StreamAssembler,
    StreamCapture,
    UsageChunkFilter,
    chunk_of,
    is_usage_only,
    reply_from_json,
)

from .fake_upstream import TOOL_CALLS, USAGE, json_reply, stream_events


def _assemble(data: bytes, *, cut_every: int) -> tuple:
    splitter, assembler = EventSplitter(), StreamAssembler(started_at=0.0)
    events = []
    for at, start in enumerate(range(0, len(data), cut_every), 1):
        for event in splitter.feed(data[start : start + cut_every]):
            events.append(event)
            if (chunk := chunk_of(event)) is not None:
                assembler.add(chunk, at=at / 1000)
    return events, splitter.remainder(), assembler.finish(at=len(data) / 1000)


def test_events_cut_anywhere_come_out_whole_and_unchanged():
    request = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream_options": {"include_usage": True}}
    expected = stream_events(request)
    for cut_every in (1, 7, 64, 10_000):
        events, rest, reply = _assemble(b"".join(expected), cut_every=cut_every)
        assert events == expected
        assert rest == b""
        assert reply.content == "Echo: Hi"
        assert reply.usage == USAGE
        assert reply.finish_reason == "stop"


def test_parallel_tool_call_fragments_are_joined_by_index_as_the_exact_strings_received():
    data = b"".join(stream_events({"model": "tools", "messages": []}))
    _, _, reply = _assemble(data, cut_every=5)
    assert reply.tool_calls == TOOL_CALLS
    assert reply.content == "Let me check."
    assert reply.finish_reason == "tool_calls"


def test_reasoning_comes_from_reasoning_content_or_reasoning_deltas():
    assembler = StreamAssembler(started_at=0.0)
    assembler.add({"choices": [{"index": 0, "delta": {"reasoning_content": "Think"}}]}, at=0.010)
    assembler.add({"choices": [{"index": 0, "delta": {"reasoning": "ing."}}]}, at=0.020)
    assembler.add({"choices": [{"index": 0, "delta": {"content": "Done"}}]}, at=0.030)
    reply = assembler.finish(at=0.040)
    assert (reply.reasoning, reply.content) == ("Thinking.", "Done")
    assert (reply.ttft_ms, reply.latency_ms) == (10.0, 40.0)


def test_time_to_first_token_waits_for_text_not_for_an_empty_opening_chunk():
    assembler = StreamAssembler(started_at=1.0)
    assembler.add({"model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}, at=1.001)
    assembler.add({"choices": [{"index": 0, "delta": {"content": "Hi"}}]}, at=1.5)
    assert assembler.finish(at=2.0).ttft_ms == 500.0


def test_crlf_events_comments_and_done_are_read():
    splitter = EventSplitter()
    chunk = {"choices": [{"index": 0, "delta": {"content": "x"}}]}
    events = splitter.feed(b": keep-alive\r\n\r\ndata: " + json.dumps(chunk).encode() + b"\r\n\r\ndata: [DONE]\r\n\r\n")
    assert [chunk_of(event) for event in events] == [None, chunk, None]


def test_only_a_chunk_with_usage_and_no_choices_is_usage_only():
    assert is_usage_only({"choices": [], "usage": USAGE})
    assert not is_usage_only({"choices": [{"index": 0, "delta": {}}], "usage": USAGE})
    assert not is_usage_only({"choices": []})


def test_a_json_reply_gives_content_tool_calls_reasoning_and_usage():
    body = json_reply({"model": "tools", "messages": []})
    reply = reply_from_json(body, started_at=0.0, finished_at=0.25)
    assert (reply.content, reply.tool_calls, reply.model, reply.usage) == ("", TOOL_CALLS, "tools", USAGE)
    assert reply.latency_ms == 250.0
    assert reply.ttft_ms is None


ASKED_USAGE = {"model": "tools", "messages": [], "stream_options": {"include_usage": True}}


@pytest.mark.parametrize("cut_every", [1, 5, 64, 100_000])
def test_the_usage_filter_passes_every_other_event_unchanged_however_the_bytes_are_cut(cut_every):
    events = stream_events(ASKED_USAGE)
    data = b"".join(events)
    usage_filter = UsageChunkFilter()
    passed = b"".join(usage_filter.feed(data[at : at + cut_every]) for at in range(0, len(data), cut_every))
    passed += usage_filter.remainder()
    assert passed == b"".join(event for event in events if b'"usage": {' not in event)
    assert passed.endswith(b"data: [DONE]\n\n")
    assert len(events) - passed.count(b"\n\n") == 1


def test_the_usage_filter_keeps_chunks_whose_usage_rides_along_with_choices():
    with_choices = b'data: {"choices": [{"index": 0, "delta": {"content": "x"}}], "usage": {"total_tokens": 3}}\n\n'
    null_usage = b'data: {"choices": [], "usage": null}\n\n'
    usage_only = b'data: {"choices":[],"usage":{"total_tokens":3}}\r\n\r\n'
    usage_filter = UsageChunkFilter()
    assert usage_filter.feed(with_choices + null_usage + usage_only + b"data: [DONE]") == with_choices + null_usage
    assert usage_filter.remainder() == b"data: [DONE]"


def _captured(data: bytes, *, cut_every: int, digest_bytes: int = StreamCapture.DIGEST_BYTES):
    capture = StreamCapture(started_at=0.0)
    capture.DIGEST_BYTES = digest_bytes
    for read, start in enumerate(range(0, len(data), cut_every), 1):
        capture.add(data[start : start + cut_every], at=read / 1000)
    return capture


@pytest.mark.parametrize("digest_bytes", [1, 100, StreamCapture.DIGEST_BYTES])
def test_a_captured_stream_gives_the_reply_its_events_give_and_the_time_of_the_read_that_brought_text(digest_bytes):
    data = b"".join(stream_events({**ASKED_USAGE, "model": "m", "messages": [{"role": "user", "content": "Hi"}]}))
    _, _, expected = _assemble(data, cut_every=7)
    reply = _captured(data, cut_every=7, digest_bytes=digest_bytes).finish(at=len(data) / 1000)
    assert reply == expected
    last_byte_of_first_text = data.index(b"\n\n", data.index(b'"content": "Echo"')) + 1
    assert reply.ttft_ms == float(last_byte_of_first_text // 7 + 1)  # reads of 7 bytes, 1 ms apart


def test_a_captured_stream_sent_to_the_recorder_reads_the_same():
    data = b"".join(stream_events(ASKED_USAGE))
    capture = _captured(data, cut_every=3)
    copy = pickle.loads(pickle.dumps(capture))
    assert copy.finish(at=9.0) == capture.finish(at=9.0)
    assert copy.finish(at=9.0).tool_calls == TOOL_CALLS
