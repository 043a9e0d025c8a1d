"""OpenAI-compatible endpoints that forward to the upstream model server and record each chat completion.

What the client receives is what the upstream sent, as it arrives; recording happens beside it on
threads of its own and never changes or holds up the answer.
"""

import asyncio
import functools
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

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
# Recordings and closings still running (see _keep_running).
_background: set[asyncio.Task] = set()


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


# Recording beside the answer.


@dataclass(frozen=True)
class _Call:
    """One proxied completion: who asked, what, and the session it is recorded in (None: it is not)."""

    user: object
    body: dict
    target: Target | None
    started_at: float

    def record(self, **outcome) -> None:
        """Record the call with its outcome (reply=, error=, cut_off_by=) on the capture threads; a
        failure is logged, never shown to the client."""
        if self.target is None:
            return
        exchange = Exchange(owner=self.user, target=self.target, request=self.body, **outcome)

        async def record():
            try:
                await run_in_db_thread(record_exchange, exchange)
            except Exception:
                # Names the session only: the request and its headers (with keys) stay out of logs.
                logger.exception("Recording a chat completion in session %s failed.", exchange.target.session_id)

        _keep_running(asyncio.get_running_loop().create_task(record()))


def _keep_running(task: asyncio.Task) -> None:
    """Hold `task` until it ends (the loop keeps only a weak reference to it)."""
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _named_session(user, body, session_id: str) -> tuple[Target | None, JsonResponse | None]:
    """The session X-NovaForge-Session-Id names, checked before anything is forwarded."""
    try:
        return await run_in_db_thread(
            choose_session, owner=user, messages=body["messages"], session_id=session_id
        ), None
    except SessionNotFound:
        return None, openai_error(404, f"You have no session {session_id}.", error_type="invalid_request_error",
                                  code="session_not_found")  # fmt: skip
    except SessionEnded:
        return None, openai_error(409, f"Session {session_id} has ended; start a new one.",
                                  error_type="invalid_request_error", code="session_ended")  # fmt: skip
    except Exception:
        logger.exception("Finding session %s failed; the call is forwarded unrecorded.", session_id)
        return None, None


async def _matching_session(user, body) -> Target | None:
    """The session the request's conversation continues, else a new one; None if the lookup failed."""
    try:
        return await run_in_db_thread(choose_session, owner=user, messages=body["messages"], session_id=None)
    except Exception:
        logger.exception("Choosing a session failed; the call is forwarded unrecorded.")
        return None


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


def openai_endpoint(method: str):
    """What every /v1/ endpoint checks first, answering in OpenAI's error shape: the method and the caller's
    NovaForge token. The view gets the caller and their upstream key."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        async def checked(request):
            if request.method != method:
                return openai_error(405, f"Use {method}.", error_type="invalid_request_error", code="method_not_allowed")
            user, client_key = await _authenticate(request)
            if user is None:
                return _unauthorized()
            return await view(request, user=user, client_key=client_key)

        return checked

    return decorate


@openai_endpoint("POST")
async def chat_completions(request, *, user, client_key: str | None):
    body, problem = _parse_request(request.body)
    if problem:
        return problem  # the client's mistake first, even when no upstream is set
    if not upstream.base_url():
        return _upstream_missing()
    return await _forward_completion(request, user=user, client_key=client_key, body=body)


async def _forward_completion(request, *, user, client_key: str | None, body: dict):
    """Send the completion upstream and relay its answer, choosing the session it is recorded in."""
    session_id = request.headers.get(SESSION_HEADER)
    if session_id is not None:
        target, problem = await _named_session(user, body, session_id)
        if problem:
            return problem
        choosing = None
    else:
        # Looked up while the upstream starts its answer, which the session's id must not hold up.
        choosing = asyncio.ensure_future(_matching_session(user, body))
    sent_body, drop_usage = _upstream_body(body, request.body)
    started_at = time.monotonic()
    http = upstream.client()
    outgoing = http.build_request(
        "POST",
        upstream.base_url() + "/chat/completions",
        content=sent_body,
        headers=upstream.headers(client_key=client_key),
    )
    try:
        response, failure = await http.send(outgoing, stream=True), None
    except httpx.HTTPError as exc:
        response, failure = None, exc
    if choosing is not None:
        target = await choosing
    call = _Call(user=user, body=body, target=target, started_at=started_at)
    if failure is not None:
        answer = _failed_call(failure, call)
    elif _is_event_stream(response) and response.status_code < 400:
        answer = _relay_stream_response(response, call, drop_usage=drop_usage)
    else:
        answer = await _relay_whole(response, call)
    if target is not None:
        answer[SESSION_HEADER] = target.session_id
    return answer


def _is_event_stream(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/event-stream")


def _upstream_failed(failure: httpx.HTTPError) -> JsonResponse:
    """Our own 504 (no answer in time) or 502 (no answer at all)."""
    if isinstance(failure, httpx.TimeoutException):
        return openai_error(504, "The upstream model server did not answer in time.", error_type="server_error",
                            code="upstream_timeout")  # fmt: skip
    return openai_error(502, "The upstream model server could not be reached.", error_type="server_error",
                        code="upstream_unreachable")  # fmt: skip


def _failed_call(failure: httpx.HTTPError, call: _Call) -> JsonResponse:
    answer = _upstream_failed(failure)
    call.record(error={"status": answer.status_code, "body": answer.content.decode()})
    return answer


def _with_upstream_headers(answer: HttpResponse, response: httpx.Response) -> HttpResponse:
    for name, value in upstream.forwarded_headers(response).items():
        answer[name] = value
    return answer


async def _relay_whole(response: httpx.Response, call: _Call) -> HttpResponse:
    """A JSON reply or an upstream error: read whole, passed on unchanged, then recorded."""
    try:
        content = await response.aread()
    except httpx.HTTPError as failure:
        return _failed_call(failure, call)
    finally:
        await response.aclose()
    finished_at = time.monotonic()
    content_type = response.headers.get("content-type", "application/json")
    answer = _with_upstream_headers(
        HttpResponse(content, status=response.status_code, content_type=content_type), response
    )
    if response.status_code >= 400:
        call.record(error={"status": response.status_code, "body": content.decode("utf-8", errors="replace")})
        return answer
    try:
        reply = reply_from_json(json.loads(content), started_at=call.started_at, finished_at=finished_at)
    except (ValueError, AttributeError, TypeError):
        reply = None  # not a completion we can read: the client still gets it as it came
    call.record(reply=reply)
    return answer


def _relay_stream_response(response: httpx.Response, call: _Call, *, drop_usage: bool) -> StreamingHttpResponse:
    content_type = response.headers.get("content-type")
    answer = StreamingHttpResponse(
        _relay_stream(response, call, drop_usage=drop_usage), status=response.status_code, content_type=content_type
    )
    answer["Cache-Control"] = "no-cache"
    answer["X-Accel-Buffering"] = "no"  # a buffering proxy in front (nginx) passes each event on at once
    return _with_upstream_headers(answer, response)


async def _relay_stream(response: httpx.Response, call: _Call, *, drop_usage: bool):
    """Yield the upstream's bytes as they arrive (whole events when the usage-only chunk must be dropped),
    assembling the reply from a parse of the same bytes; record it however the stream ends."""
    splitter = EventSplitter()
    assembler = StreamAssembler(started_at=call.started_at)
    last_byte_at = call.started_at
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
        _keep_running(asyncio.get_running_loop().create_task(response.aclose()))
        call.record(reply=assembler.finish(at=last_byte_at), cut_off_by=cut_off_by)


@openai_endpoint("GET")
async def list_models(request, *, user, client_key: str | None):
    if not upstream.base_url():
        return _upstream_missing()
    try:
        response = await upstream.client().get(
            upstream.base_url() + "/models", headers=upstream.headers(client_key=client_key)
        )
    except httpx.HTTPError as failure:
        return _upstream_failed(failure)
    content_type = response.headers.get("content-type", "application/json")
    return _with_upstream_headers(
        HttpResponse(response.content, status=response.status_code, content_type=content_type), response
    )
