"""The reply of a chat completion, put together from its server-sent events or its JSON body.

Pure: no Django, no I/O. Times are given by the caller (seconds from time.monotonic()).
"""

import re
from bisect import bisect_left
from dataclasses import dataclass, field

import orjson

# Delta fields that carry the model's reasoning, by upstream (DeepSeek, vLLM: reasoning_content;
# Ollama, OpenRouter: reasoning).
REASONING_FIELDS = ("reasoning_content", "reasoning")


@dataclass
class Reply:
    """The assistant message of one completion and what is known about how it was made."""

    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict] = field(default_factory=list)
    finish_reason: str | None = None
    model: str | None = None
    usage: dict | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None

    def as_message(self) -> dict:
        """The reply as an OpenAI message dict, as a client sends it back in its next request."""
        message = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        if self.reasoning:
            message["reasoning"] = self.reasoning
        return message


def _elapsed_ms(started_at: float, at: float) -> float:
    return round((at - started_at) * 1000, 3)


def reply_from_json(body: dict, *, started_at: float, finished_at: float) -> Reply:
    """The reply of a non-streamed completion (its first choice)."""
    choices = body.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    reasoning = next((message[name] for name in REASONING_FIELDS if isinstance(message.get(name), str)), "")
    tool_calls = message.get("tool_calls")
    return Reply(
        content=message.get("content") if isinstance(message.get("content"), str) else "",
        reasoning=reasoning,
        tool_calls=tool_calls if isinstance(tool_calls, list) else [],
        finish_reason=choice.get("finish_reason"),
        model=body.get("model"),
        usage=body.get("usage"),
        latency_ms=_elapsed_ms(started_at, finished_at),
    )


class EventSplitter:
    """Cuts a byte stream of server-sent events into whole events, however its chunks fall.

    feed() returns the complete events that arrived, each as its exact bytes including the blank line
    that ends it; what is left waits for the next chunk (or remainder() at the end).
    """

    def __init__(self):
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self._pending + chunk
        if b"\r" not in data:  # the usual case: cut on blank lines in C
            *whole, self._pending = data.split(b"\n\n")
            return [event + b"\n\n" for event in whole]
        events, start = [], 0
        while True:
            end = _event_end(data, start)
            if end is None:
                break
            events.append(data[start:end])
            start = end
        self._pending = data[start:]
        return events

    def remainder(self) -> bytes:
        pending, self._pending = self._pending, b""
        return pending

    @property
    def pending_size(self) -> int:
        return len(self._pending)


# What ends a server-sent event: a blank line, after any of the three line endings.
_BLANK_LINES = (b"\n\n", b"\r\n\r\n", b"\r\r")


def _event_end(data: bytes, start: int) -> int | None:
    """Index just past the blank line that ends the event starting at `start`, or None."""
    ends = [found + len(separator) for separator in _BLANK_LINES if (found := data.find(separator, start)) != -1]
    return min(ends) if ends else None


def event_data(event: bytes) -> str | None:
    """The data of one server-sent event (its data: lines joined), or None if it has none."""
    lines = event.decode("utf-8", errors="replace").splitlines()
    data = [line[5:].removeprefix(" ") for line in lines if line.startswith("data:")]
    return "\n".join(data) if data else None


def chunk_of(event: bytes) -> dict | None:
    """The JSON chunk an event carries; None for [DONE], comments, and anything not a JSON object."""
    # Nearly every event is one `data: {...}` line: read it without decoding and splitting the text.
    single = event.startswith(b"data: ") and event.count(b"\n") <= 2 and b"\r" not in event
    data = event[6:].strip() if single else event_data(event)
    if data is None or data.strip() in ("[DONE]", b"[DONE]"):
        return None
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return chunk if isinstance(chunk, dict) else None


def is_usage_only(chunk: dict) -> bool:
    """The chunk that stream_options.include_usage adds: usage and no choices."""
    return not chunk.get("choices") and bool(chunk.get("usage"))


class StreamAssembler:
    """Builds the Reply of a streamed completion from its chunks (first choice), as they arrive.

    Text comes in thousands of pieces: they are kept in lists and joined once, at finish()."""

    def __init__(self, *, started_at: float):
        self.started_at = started_at
        self.reply = Reply()
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._tool_calls: dict[int, dict] = {}
        self._arguments: dict[int, list[str]] = {}

    @property
    def waiting_for_first_token(self) -> bool:
        return self.reply.ttft_ms is None

    def add(self, chunk: dict, *, at: float | None) -> None:
        """Add a chunk that arrived `at` (needed only while waiting_for_first_token)."""
        reply = self.reply
        reply.model = reply.model or chunk.get("model")
        if chunk.get("usage"):
            reply.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._add_choice(choice, at=at)

    def _add_choice(self, choice: dict, *, at: float | None) -> None:
        if choice.get("finish_reason"):
            self.reply.finish_reason = choice["finish_reason"]
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return
        got_something = False
        content = delta.get("content")
        if content and isinstance(content, str):
            self._content.append(content)
            got_something = True
        for name in REASONING_FIELDS:
            if isinstance(delta.get(name), str) and delta[name]:
                self._reasoning.append(delta[name])
                got_something = True
                break
        for fragment in delta.get("tool_calls") or ():
            if isinstance(fragment, dict):
                self._add_tool_call_fragment(fragment)
                got_something = True
        if got_something and self.reply.ttft_ms is None:
            self.reply.ttft_ms = _elapsed_ms(self.started_at, at)

    def _add_tool_call_fragment(self, fragment: dict) -> None:
        """Fragments of one call share an index: the first brings id and name, all bring argument text."""
        index = fragment.get("index", len(self._tool_calls))
        call = self._tool_calls.get(index)
        if call is None:
            call = self._tool_calls[index] = {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
            self._arguments[index] = []
        if fragment.get("id"):
            call["id"] = fragment["id"]
        if fragment.get("type"):
            call["type"] = fragment["type"]
        function = fragment.get("function") or {}
        if function.get("name") and not call["function"]["name"]:
            call["function"]["name"] = function["name"]
        if isinstance(function.get("arguments"), str):
            self._arguments[index].append(function["arguments"])

    def finish(self, *, at: float) -> Reply:
        """The reply as it stands; `at` is when the last byte arrived."""
        reply = self.reply
        reply.content = "".join(self._content)
        reply.reasoning = "".join(self._reasoning)
        for index, call in self._tool_calls.items():
            call["function"]["arguments"] = "".join(self._arguments[index])
        reply.tool_calls = [self._tool_calls[index] for index in sorted(self._tool_calls)]
        reply.latency_ms = _elapsed_ms(self.started_at, at)
        return reply


# A usage object (not null) somewhere in the bytes: the usage-only chunk has one, and most chunks do not.
_USAGE_OBJECT = re.compile(rb'"usage"\s*:\s*\{')


class UsageChunkFilter:
    """Passes a stream on minus the usage-only chunk that was asked for on the client's behalf.

    Whole events only (a partial event waits for its end, which a client could not use anyway); the
    bytes are searched for a usage object in C and parsed only where one is found, so the filter costs
    next to nothing per event.
    """

    def __init__(self):
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._pending + chunk if self._pending else chunk
        # The end of its last whole event; the usual read holds whole events only.
        end = len(data) if data.endswith(b"\n\n") else _event_start_before(data, len(data))
        if end == 0:
            self._pending = data
            return b""
        whole, self._pending = data[:end], data[end:]
        return _without_usage_only_events(whole)

    def remainder(self) -> bytes:
        pending, self._pending = self._pending, b""
        return pending


def _without_usage_only_events(whole: bytes) -> bytes:
    """`whole` (whole events) minus its usage-only events; only the events around a usage object are
    looked at (the last read of a busy stream can hold hundreds of events)."""
    kept, start = [], 0
    found = _USAGE_OBJECT.search(whole)
    while found is not None:
        event_start = _event_start_before(whole, found.start())
        event_end = _event_end(whole, found.end()) or len(whole)
        chunk = chunk_of(whole[event_start:event_end])
        if chunk is not None and is_usage_only(chunk):
            kept.append(whole[start:event_start])
            start = event_end
        found = _USAGE_OBJECT.search(whole, event_end)
    if start == 0:
        return whole
    kept.append(whole[start:])
    return b"".join(kept)


def _event_start_before(data: bytes, position: int) -> int:
    """Index of the start of the event that holds `position` (just past the blank line before it)."""
    starts = [0]
    for separator in _BLANK_LINES:
        if (found := data.rfind(separator, 0, position)) != -1:
            starts.append(found + len(separator))
    return max(starts)


class StreamCapture:
    """A stream's bytes as they arrive, read into its Reply later (off the relay's path): relaying costs
    one append per read, and the events are parsed in one go when the stream has ended, or every
    DIGEST_BYTES to bound the memory a long stream holds."""

    DIGEST_BYTES = 1 << 20

    def __init__(self, *, started_at: float):
        self._assembler = StreamAssembler(started_at=started_at)
        self._splitter = EventSplitter()
        self._reads: list[bytes] = []
        self._read_ends: list[int] = []  # offset just past each read, from the first unread byte
        self._read_times: list[float] = []
        self._size = 0

    def add(self, data: bytes, *, at: float) -> None:
        self._reads.append(data)
        self._size += len(data)
        self._read_ends.append(self._size)
        self._read_times.append(at)
        if self._size >= self.DIGEST_BYTES:
            self._digest()

    def _digest(self) -> None:
        """Parse what has arrived: each event's time, while the first token is awaited, is that of the
        read that brought its last byte."""
        assembler, read_ends, read_times = self._assembler, self._read_ends, self._read_times
        offset = -self._splitter.pending_size  # bytes held from an earlier digest came before these reads
        for event in self._splitter.feed(b"".join(self._reads)):
            offset += len(event)
            parsed = chunk_of(event)
            if parsed is None:
                continue
            at = None
            if assembler.waiting_for_first_token:
                at = read_times[min(bisect_left(read_ends, offset), len(read_times) - 1)]
            assembler.add(parsed, at=at)
        self._reads, self._read_ends, self._read_times, self._size = [], [], [], 0

    def __getstate__(self) -> dict:
        """Pickled (for the recorder) with its reads in one piece: one copy instead of an object per read."""
        state = dict(self.__dict__)
        state["_reads"] = [b"".join(self._reads)] if self._reads else []
        state["_read_ends"], state["_read_times"] = list(self._read_ends), list(self._read_times)
        return state

    def finish(self, *, at: float) -> Reply:
        """The reply as it stands; `at` is when the last byte arrived."""
        if self._reads:
            self._digest()
        return self._assembler.finish(at=at)
