"""A small OpenAI-compatible model server on 127.0.0.1, scripted by the request's `model`.

- any model: a JSON reply, or with stream true an SSE stream ("Echo: <last user text>" in pieces)
- "tools": a content chunk, then two tool calls whose fragments interleave
- "reasoning": reasoning_content deltas before the content
- "slow": a pause of PAUSE_SECONDS after the first chunk (which already carries text)
- "hang": no answer for HANG_SECONDS
- "late": no answer for PAUSE_SECONDS, then as any model
- "long": a stream of LONG_CHUNKS text chunks (the benchmark's streams)
- "rate-limited": 429; "broken": 500
A usage chunk ends a stream when stream_options.include_usage is set. Every request is kept in `requests`.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAUSE_SECONDS = 1.0
LONG_CHUNKS = 200
HANG_SECONDS = 5.0
USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
RATE_LIMITED_BODY = {
    "error": {"message": "Rate limit reached, slow down.", "type": "requests", "code": "rate_limit_exceeded"}
}
BROKEN_BODY = {"error": {"message": "The model crashed.", "type": "server_error", "code": None}}
TOOL_CALLS = [
    {"id": "call_weather", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
    {"id": "call_time", "type": "function", "function": {"name": "get_time", "arguments": '{"tz": "Europe/Paris"}'}},
]


def reply_text(request: dict) -> str:
    last_user = next((m.get("content") for m in reversed(request["messages"]) if m.get("role") == "user"), "")
    return f"Echo: {last_user}"


def _chunk(request: dict, delta: dict, finish_reason=None) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": request.get("model"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def stream_chunks(request: dict) -> list[dict]:
    """The chunks of a streamed reply, before the usage chunk and [DONE]."""
    model = request.get("model")
    # "slow" opens with text, so what reached the client before the pause is part of the reply.
    opening = {"role": "assistant", "content": "Echo" if model == "slow" else ""}
    chunks = [_chunk(request, opening)]
    if model == "reasoning":
        chunks += [_chunk(request, {"reasoning_content": part}) for part in ("Think", "ing ", "hard.")]
    if model == "tools":
        chunks.append(_chunk(request, {"content": "Let me check."}))
        first, second = TOOL_CALLS
        fragments = [
            {"index": 0, "id": first["id"], "type": "function", "function": {"name": "get_weather", "arguments": ""}},
            {"index": 1, "id": second["id"], "type": "function", "function": {"name": "get_time", "arguments": ""}},
            {"index": 0, "function": {"arguments": '{"city": '}},
            {"index": 1, "function": {"arguments": '{"tz": '}},
            {"index": 0, "function": {"arguments": '"Paris"}'}},
            {"index": 1, "function": {"arguments": '"Europe/Paris"}'}},
        ]
        chunks += [_chunk(request, {"tool_calls": [fragment]}) for fragment in fragments]
        chunks.append(_chunk(request, {}, finish_reason="tool_calls"))
        return chunks
    if model == "long":
        chunks += [_chunk(request, {"content": f"word{number} "}) for number in range(LONG_CHUNKS)]
        chunks.append(_chunk(request, {}, finish_reason="length"))
        return chunks
    text = reply_text(request)
    start = 4 if model == "slow" else 0
    chunks += [_chunk(request, {"content": text[at : at + 4]}) for at in range(start, len(text), 4)]
    chunks.append(_chunk(request, {}, finish_reason="stop"))
    return chunks


def stream_events(request: dict) -> list[bytes]:
    """The exact bytes of each event of a streamed reply: its chunks, usage when asked, [DONE]."""
    chunks = stream_chunks(request)
    if (request.get("stream_options") or {}).get("include_usage"):
        chunks.append({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1,
                       "model": request.get("model"), "choices": [], "usage": USAGE})  # fmt: skip
    return [f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks] + [b"data: [DONE]\n\n"]


def json_reply(request: dict) -> dict:
    message = {"role": "assistant", "content": reply_text(request)}
    if request.get("model") == "tools":
        message = {"role": "assistant", "content": None, "tool_calls": TOOL_CALLS}
    if request.get("model") == "reasoning":
        message["reasoning_content"] = "Thinking hard."
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1,
        "model": request.get("model"),
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if "tool_calls" in message else "stop"}
        ],
        "usage": USAGE,
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each event leaves at once, as from a real model server

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": None})
        self._send_json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "tests"}]})

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": request})
        model = request.get("model")
        if model == "rate-limited":
            return self._send_json(429, RATE_LIMITED_BODY, extra={"Retry-After": "7"})
        if model == "broken":
            return self._send_json(500, BROKEN_BODY)
        if model == "hang":
            time.sleep(HANG_SECONDS)
        if model == "late":
            time.sleep(PAUSE_SECONDS)
        if not request.get("stream"):
            return self._send_json(200, json_reply(request))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            self._stream(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the proxy hung up: its client went away

    def _stream(self, request: dict):
        for number, event in enumerate(stream_events(request)):
            self._write_chunk(event)
            if number == 0 and request.get("model") == "slow":
                time.sleep(PAUSE_SECONDS)
        self._write_chunk(b"")

    def _write_chunk(self, data: bytes):
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_json(self, status: int, body: dict, extra: dict | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog: 64 streams open their connections at once


class FakeUpstream:
    """The server, serving from a thread until stop(); `url` ends in /v1 as NOVAFORGE_UPSTREAM_URL does."""

    def __init__(self):
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.requests = []
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def requests(self) -> list[dict]:
        return self.server.requests

    def start(self) -> "FakeUpstream":
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    # `python -m tests.capture.fake_upstream`: serve until killed, in a process of its own (the benchmark's
    # upstream), the URL on the first line of stdout.
    upstream = FakeUpstream()
    print(upstream.url, flush=True)
    upstream.server.serve_forever()
