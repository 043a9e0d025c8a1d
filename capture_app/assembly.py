"""The reply of a chat completion, put together from its server-sent events or its JSON body.

Pure: no Django, no I/O. Times are given by the caller (seconds from time.monotonic()).
"""


import orjson
from dataclasses import dataclass, field

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


def _event_end(data: bytes, start: int) -> int | None:
    """Index just past the blank line that ends the event starting at `start`, or None."""
    ends = [
        found + len(separator)
        for separator in (b"\n\n", b"\r\n\r\n", b"\r\r")
        if (found := data.find(separator, start)) != -1
    ]
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
    """Builds the Reply of a streamed completion from its chunks (first choice), as they arrive."""

    def __init__(self, *, started_at: float):
        self.started_at = started_at
        self.reply = Reply()
        self._tool_calls: dict[int, dict] = {}

    def add(self, chunk: dict, *, at: float) -> None:
        reply = self.reply
        reply.model = reply.model or chunk.get("model")
        if chunk.get("usage"):
            reply.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._add_choice(choice, at=at)

    def _add_choice(self, choice: dict, *, at: float) -> None:
        reply = self.reply
        if choice.get("finish_reason"):
            reply.finish_reason = choice["finish_reason"]
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return
        got_something = False
        if isinstance(delta.get("content"), str) and delta["content"]:
            reply.content += delta["content"]
            got_something = True
        for name in REASONING_FIELDS:
            if isinstance(delta.get(name), str) and delta[name]:
                reply.reasoning += delta[name]
                got_something = True
                break
        for fragment in delta.get("tool_calls") or []:
            if isinstance(fragment, dict):
                self._add_tool_call_fragment(fragment)
                got_something = True
        if got_something and reply.ttft_ms is None:
            reply.ttft_ms = _elapsed_ms(self.started_at, at)

    def _add_tool_call_fragment(self, fragment: dict) -> None:
        """Fragments of one call share an index: the first brings id and name, all bring argument text."""
        index = fragment.get("index", len(self._tool_calls))
        call = self._tool_calls.get(index)
        if call is None:
            call = self._tool_calls[index] = {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
        if fragment.get("id"):
            call["id"] = fragment["id"]
        if fragment.get("type"):
            call["type"] = fragment["type"]
        function = fragment.get("function") or {}
        if function.get("name") and not call["function"]["name"]:
            call["function"]["name"] = function["name"]
        if isinstance(function.get("arguments"), str):
            call["function"]["arguments"] += function["arguments"]

    def finish(self, *, at: float) -> Reply:
        """The reply as it stands; `at` is when the last byte arrived."""
        self.reply.tool_calls = [self._tool_calls[index] for index in sorted(self._tool_calls)]
        self.reply.latency_ms = _elapsed_ms(self.started_at, at)
        return self.reply
