"""The capture proxy as a bare ASGI application: /v1/ needs no cookies, sessions, CSRF, templates or
middleware, and Django's request handling (request objects, signals run on threads, a response wrapper
around every streamed chunk) cost more than the proxying itself. Database work still goes through the
ORM and the sessions services, on capture threads (see proxy.run_in_db_thread)."""

import logging
from dataclasses import dataclass

import orjson
from django.conf import settings

logger = logging.getLogger(__name__)


class ClientGone(Exception):
    """The client closed its connection before its request arrived whole."""


class BodyTooLarge(Exception):
    """The request body is larger than NOVAFORGE_MAX_REQUEST_BYTES."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


async def read_request(scope, receive) -> Request:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    return Request(method=scope["method"], path=scope["path"], headers=headers, body=b"".join(chunks))


class Response:
    """A whole answer: status, body and headers, sent in two ASGI messages."""

    def __init__(self, body: bytes, *, status: int = 200, content_type: str = "application/json",
                 headers: list[tuple[str, str]] = ()):  # fmt: skip
        self.status = status
        self.body = body
        self.headers = [("content-type", content_type), *headers]

    def __setitem__(self, name: str, value: str) -> None:
        self.headers.append((name.lower(), value))

    async def send(self, send, receive) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": encode_headers(self.headers)})
        await send({"type": "http.response.body", "body": self.body})


def encode_headers(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


def openai_error(status: int, message: str, *, error_type: str, code: str | None = None) -> Response:
    """An error in the shape OpenAI's clients parse: {"error": {"message", "type", "code"}}."""
    return Response(orjson.dumps({"error": {"message": message, "type": error_type, "code": code}}), status=status)


def not_found(path: str) -> Response:
    return openai_error(404, f"No endpoint {path}: the capture proxy serves POST /v1/chat/completions and "
                        "GET /v1/models.", error_type="invalid_request_error", code="unknown_url")  # fmt: skip


def server_error() -> Response:
    return openai_error(500, "The capture proxy failed; the error is in its log.", error_type="server_error")


def application(routes: dict):
    """The ASGI app serving `routes` ({path: handler}). A handler takes the Request and returns its answer
    (anything with `async send(send, receive)`); a handler that raises is logged and answered with a 500
    in OpenAI's shape."""

    async def app(scope, receive, send):
        try:
            request = await read_request(scope, receive)
        except ClientGone:
            return
        except BodyTooLarge:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            answer = openai_error(413, f"The request body is larger than {limit} bytes (NOVAFORGE_MAX_REQUEST_BYTES).",
                                  error_type="invalid_request_error", code="request_too_large")  # fmt: skip
            return await answer.send(send, receive)
        handler = routes.get(request.path.rstrip("/"))
        if handler is None:
            return await not_found(request.path).send(send, receive)
        try:
            answer = await handler(request)
        except Exception:
            logger.exception("%s %s failed.", request.method, request.path)
            answer = server_error()
        await answer.send(send, receive)

    return app
