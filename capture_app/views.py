"""OpenAI-compatible endpoints that forward to the upstream model server and record each chat completion.

What the client receives is what the upstream sent, as it arrives; recording happens beside it on
threads of its own and never changes or holds up the answer.
"""

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authtoken.models import Token

from . import upstream
from .assembly import EventSplitter, StreamAssembler, chunk_of, is_usage_only, reply_from_json
from .recording import ROLES, Exchange, SessionEnded, SessionNotFound, Target, choose_session, record_exchange

logger = logging.getLogger(__name__)

SESSION_HEADER = "X-NovaForge-Session-Id"

# The proxy's database work (token checks, choosing and recording sessions) runs here, off the event
# loop. Its own threads: each keeps a persistent connection, and recordings never wait behind page views.
_db_threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="capture-db")
# Recordings still running: the loop holds only weak references to tasks.
_recordings: set[asyncio.Task] = set()


def _with_fresh_connection(func, *args, **kwargs):
    close_old_connections()  # as Django does around each request: drop a connection too old or broken
    try:
        return func(*args, **kwargs)
    finally:
        close_old_connections()


async def run_in_db_thread(func, *args, **kwargs):
    return await sync_to_async(_with_fresh_connection, thread_sensitive=False, executor=_db_threads)(
        func, *args, **kwargs
    )


def openai_error(status: int, message: str, *, error_type: str, code: str | None = None) -> JsonResponse:
    """An error in the shape OpenAI's clients parse: {"error": {"message", "type", "code"}}."""
    return JsonResponse({"error": {"message": message, "type": error_type, "code": code}}, status=status)


# Authentication: the NovaForge token, and the client's own upstream key when it brings one.


def _bearer(request) -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


def _user_with_token(key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token and token.user.is_active else None


async def _authenticate(request):
    """(user, client's upstream key): the NovaForge token is X-NovaForge-Token if sent (Authorization
    then carries the client's key for the upstream), else the bearer token of Authorization."""
    own_token = request.headers.get("X-NovaForge-Token")
    client_key = _bearer(request) if own_token else None
    key = own_token or _bearer(request)
    user = await run_in_db_thread(_user_with_token, key) if key else None
    return user, client_key


def _unauthorized() -> JsonResponse:
    return openai_error(
        401,
        "Give your NovaForge token as the API key (Authorization: Bearer <token>), or in X-NovaForge-Token.",
        error_type="invalid_request_error",
        code="invalid_api_key",
    )


def _bad_request(message: str, *, param: str | None = None) -> JsonResponse:
    return openai_error(400, message, error_type="invalid_request_error", code=param)


def _parse_request(body: bytes) -> tuple[dict | None, JsonResponse | None]:
    try:
        request = json.loads(body)
    except ValueError:
        return None, _bad_request("The request body must be JSON.")
    if not isinstance(request, dict):
        return None, _bad_request("The request body must be a JSON object.")
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return None, _bad_request("messages must be a non-empty list.", param="messages")
    for number, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return None, _bad_request(
                f"messages[{number}] must be an object whose role is one of {', '.join(sorted(ROLES))}.",
                param="messages",
            )
    return request, None


def _upstream_missing() -> JsonResponse:
    return openai_error(
        503, "The capture proxy has no upstream: set NOVAFORGE_UPSTREAM_URL.", error_type="server_error", code=None
    )


def _upstream_failed(exc: httpx.HTTPError) -> JsonResponse:
    if isinstance(exc, httpx.TimeoutException):
        return openai_error(504, "The upstream model server did not answer in time.", error_type="server_error",
                            code="upstream_timeout")  # fmt: skip
    return openai_error(502, "The upstream model server could not be reached.", error_type="server_error",
                        code="upstream_unreachable")  # fmt: skip


# Recording beside the answer.


def _record_later(exchange: Exchange) -> None:
    """Record `exchange` on the capture threads; a failure is logged, never shown to the client."""

    async def record():
        try:
            await run_in_db_thread(record_exchange, exchange)
        except Exception:
            # Names the session only: the request and its headers (with keys) stay out of logs.
            logger.exception("Recording a chat completion in session %s failed.", exchange.target.session_id)

    task = asyncio.get_running_loop().create_task(record())
    _recordings.add(task)
    task.add_done_callback(_recordings.discard)


async def _choose_session(request, user, body) -> tuple[Target | None, JsonResponse | None]:
    session_id = request.headers.get(SESSION_HEADER)
    try:
        target = await run_in_db_thread(choose_session, owner=user, messages=body["messages"], session_id=session_id)
    except SessionNotFound:
        return None, openai_error(404, f"You have no session {session_id}.", error_type="invalid_request_error",
                                  code="session_not_found")  # fmt: skip
    except SessionEnded:
        return None, openai_error(409, f"Session {session_id} has ended; start a new one.",
                                  error_type="invalid_request_error", code="session_ended")  # fmt: skip
    return target, None


def _upstream_body(body: dict, raw: bytes) -> tuple[bytes, bool]:
    """The bytes to send upstream, and whether usage was asked for on the client's behalf (a stream
    whose client did not ask: the usage-only chunk is then dropped from what it receives)."""
    if not body.get("stream"):
        return raw, False
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        return raw, False
    asked = {**body, "stream_options": {**(options if isinstance(options, dict) else {}), "include_usage": True}}
    return json.dumps(asked).encode(), True


@csrf_exempt
async def chat_completions(request):
    if request.method != "POST":
        return openai_error(405, "Use POST.", error_type="invalid_request_error", code="method_not_allowed")
    user, client_key = await _authenticate(request)
    if user is None:
        return _unauthorized()
    body, problem = _parse_request(request.body)
    if problem:
        return problem
    if not upstream.base_url():
        return _upstream_missing()
    target, problem = await _choose_session(request, user, body)
    if problem:
        return problem
    answer = await _forward_completion(user=user, client_key=client_key, target=target, body=body, raw=request.body)
    answer[SESSION_HEADER] = target.session_id
    return answer


async def _forward_completion(*, user, client_key, target: Target, body: dict, raw: bytes):
    sent_body, drop_usage = _upstream_body(body, raw)
    started_at = time.monotonic()
    http = upstream.client()
    outgoing = http.build_request(
        "POST",
        upstream.base_url() + "/chat/completions",
        content=sent_body,
        headers=upstream.headers(client_key=client_key),
    )
    try:
        response = await http.send(outgoing, stream=True)
    except httpx.HTTPError as exc:
        failed = _upstream_failed(exc)
        _record_later(Exchange(owner=user, target=target, request=body,
                               error={"status": failed.status_code, "body": failed.content.decode()}))  # fmt: skip
        return failed
    if response.status_code >= 400 or not body.get("stream"):
        return await _relay_whole(response, user=user, target=target, body=body, started_at=started_at)
    relay = _relay_stream(response, user=user, target=target, body=body, started_at=started_at, drop_usage=drop_usage)
    answer = StreamingHttpResponse(
        relay, status=response.status_code, content_type=response.headers.get("content-type", "text/event-stream")
    )
    answer["Cache-Control"] = "no-cache"
    answer["X-Accel-Buffering"] = "no"  # a buffering proxy in front (nginx) passes each event on at once
    for name, value in upstream.forwarded_headers(response).items():
        answer[name] = value
    return answer


async def _relay_whole(response: httpx.Response, *, user, target, body, started_at) -> HttpResponse:
    """A JSON reply or an upstream error: read whole, passed on unchanged, then recorded."""
    try:
        content = await response.aread()
    except httpx.HTTPError as exc:
        failed = _upstream_failed(exc)
        _record_later(Exchange(owner=user, target=target, request=body,
                               error={"status": failed.status_code, "body": failed.content.decode()}))  # fmt: skip
        return failed
    finally:
        await response.aclose()
    finished_at = time.monotonic()
    answer = HttpResponse(
        content, status=response.status_code, content_type=response.headers.get("content-type", "application/json")
    )
    for name, value in upstream.forwarded_headers(response).items():
        answer[name] = value
    if response.status_code >= 400:
        error = {"status": response.status_code, "body": content.decode("utf-8", errors="replace")}
        _record_later(Exchange(owner=user, target=target, request=body, error=error))
        return answer
    try:
        reply = reply_from_json(json.loads(content), started_at=started_at, finished_at=finished_at)
    except (ValueError, AttributeError):
        reply = None  # not a completion we can read: the client still gets it as it came
    _record_later(Exchange(owner=user, target=target, request=body, reply=reply))
    return answer


async def _relay_stream(response: httpx.Response, *, user, target, body, started_at, drop_usage: bool):
    """Yield the upstream's bytes as they arrive (whole events when the usage-only chunk must be dropped),
    assembling the reply from a parse of the same bytes; record it however the stream ends."""
    splitter = EventSplitter()
    assembler = StreamAssembler(started_at=started_at)
    last_byte_at = started_at
    cut_off_by = "client"  # unless the loop below ends or the upstream fails
    try:
        try:
            async for chunk in response.aiter_raw():
                last_byte_at = time.monotonic()
                events = splitter.feed(chunk)
                kept = []
                for event in events:
                    parsed = chunk_of(event)
                    if parsed is not None:
                        assembler.add(parsed, at=last_byte_at)
                    if not (drop_usage and parsed is not None and is_usage_only(parsed)):
                        kept.append(event)
                if not drop_usage:
                    yield chunk
                elif kept:
                    yield b"".join(kept)
            if drop_usage and (tail := splitter.remainder()):
                yield tail
            cut_off_by = None
        except httpx.HTTPError:
            cut_off_by = "upstream"
    finally:
        # Runs on a client's disconnect too (the task is being cancelled): nothing here may wait.
        loop = asyncio.get_running_loop()
        closing = loop.create_task(response.aclose())
        _recordings.add(closing)
        closing.add_done_callback(_recordings.discard)
        reply = assembler.finish(at=last_byte_at)
        _record_later(Exchange(owner=user, target=target, request=body, reply=reply, cut_off_by=cut_off_by))


@csrf_exempt
async def list_models(request):
    if request.method != "GET":
        return openai_error(405, "Use GET.", error_type="invalid_request_error", code="method_not_allowed")
    user, client_key = await _authenticate(request)
    if user is None:
        return _unauthorized()
    if not upstream.base_url():
        return _upstream_missing()
    try:
        response = await upstream.client().get(
            upstream.base_url() + "/models", headers=upstream.headers(client_key=client_key)
        )
    except httpx.HTTPError as exc:
        return _upstream_failed(exc)
    answer = HttpResponse(
        response.content,
        status=response.status_code,
        content_type=response.headers.get("content-type", "application/json"),
    )
    for name, value in upstream.forwarded_headers(response).items():
        answer[name] = value
    return answer
