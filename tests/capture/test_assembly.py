"""The reply is put together from a stream however its bytes are cut, and from a JSON body."""

import json

from capture_app.assembly import EventSplitter, StreamAssembler, chunk_of, is_usage_only, reply_from_json

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
