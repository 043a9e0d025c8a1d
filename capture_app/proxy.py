"""OpenAI-compatible endpoints that forward to the upstream model server and record each chat completion.

What the client receives is what the upstream sent, as it arrives; recording happens beside it, in a
process of its own (recorder.py), and never changes or holds up the answer. A stream costs one append
and one send per read from the upstream: its events are parsed by the recorder, once it has ended.
"""

import asyncio
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import aiohttp
import orjson
from django.db import close_old_connections

from . import tokens, upstream
from .connections import check_connection_now_and_then
from .asgi import Request, Response, application, encode_headers, openai_error
from .assembly import StreamCapture, UsageChunkFilter, reply_from_json
from .recorder import Job, recorder
from .recording import ROLES, SessionEnded, SessionNotFound, Target, choose_session

logger = logging.getLogger(__name__)

SESSION_HEADER = "X-NovaForge-Session-Id"
# Recordings still queued at shutdown are waited for this long.
SHUTDOWN_WAIT_SECONDS = 60

# The proxy's reads (token checks, choosing sessions) run here, off the event loop. Its own threads: each
# keeps a persistent connection, and they never wait behind page views.
_db_threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="capture-db")


def _with_fresh_connection(func, *args, **kwargs):
    check_connection_now_and_then()
    try:
        return func(*args, **kwargs)
    except Exception:
        close_old_connections()  # a connection left broken is replaced before the next call
        raise


async def run_in_db_thread(func, *args, **kwargs):
    call = functools.partial(_with_fresh_connection, func, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_db_threads, call)


# Authentication: the NovaForge token, and the client's own upstream key when it brings one.


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = (request.header("Authorization") or "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


async def _authenticate(request: Request):
    """(user, client's upstream key): the NovaForge token is X-NovaForge-Token if sent (Authorization
    then carries the client's key for the upstream), else the bearer token of Authorization."""
    own_token = request.header("X-NovaForge-Token")
    client_key = _bearer(request) if own_token else None
    key = own_token or _bearer(request)
    if not key:
        return None, client_key
    user = tokens.remembered_user(key) or await run_in_db_thread(tokens.look_up_user, key)
    return user, client_key


def _unauthorized() -> Response:
    return openai_error(
        401,
        "Give your NovaForge token as the API key (Authorization: Bearer <token>), or in X-NovaForge-Token.",
        error_type="invalid_request_error",
        code="invalid_api_key",
    )


def _bad_request(message: str, *, param: str | None = None) -> Response:
    return openai_error(400, message, error_type="invalid_request_error", code=param)


def _parse_request(body: bytes) -> tuple[dict | None, Response | None]:
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        # Says where it broke: bad syntax, or what JSON parsers refuse (NaN, integers past 64 bits).
        return None, _bad_request(f"The request body must be JSON: {error}.")
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


def _upstream_missing() -> Response:
    return openai_error(
        503, "The capture proxy has no upstream: set NOVAFORGE_UPSTREAM_URL.", error_type="server_error", code=None
    )


# Recording beside the answer: in the recorder process (see recorder.py).


@dataclass(frozen=True)
class _Call:
    """One proxied completion: who asked, what (the body as it came), and the session it is recorded in
    (None: it is not)."""

    user: object
    request_body: bytes
    target: Target | None
    started_at: float

    def record(self, **outcome) -> None:
        """Hand the call and its outcome (reply=, stream= with stream_ended_at=, error=, cut_off_by=) to
        the recorder; nothing here waits for it."""
        if self.target is not None:
            recorder.submit(Job(owner=self.user, target=self.target, request_body=self.request_body, **outcome))


def startup() -> None:
    recorder.start()


async def shutdown() -> None:
    """At the server's shutdown: let the recorder record what is queued, then close the upstream connections."""
    await asyncio.to_thread(recorder.stop, SHUTDOWN_WAIT_SECONDS)
    await upstream.close_sessions()


async def _named_session(user, body, session_id: str) -> tuple[Target | None, Response | None]:
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


async def _matching_session(user, body, upstream_answered: asyncio.Event) -> Target | None:
    """The session the request's conversation continues, else a new one; None if the lookup failed.
    A request that carries an earlier reply waits for the caller's earlier calls to be recorded (that
    reply may be one of them), but not past the upstream's answer, which must not wait for this."""
    if any(message.get("role") == "assistant" for message in body["messages"]):
        await recorder.caught_up(user, unless=upstream_answered)
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
    return orjson.dumps(asked), True


def openai_endpoint(method: str):
    """What every /v1/ endpoint checks first, answering in OpenAI's error shape: the method and the caller's
    NovaForge token. The handler gets the caller and their upstream key."""

    def decorate(handler):
        @functools.wraps(handler)
        async def checked(request: Request):
            if request.method != method:
                return openai_error(
                    405, f"Use {method}.", error_type="invalid_request_error", code="method_not_allowed"
                )
            user, client_key = await _authenticate(request)
            if user is None:
                return _unauthorized()
            return await handler(request, user=user, client_key=client_key)

        return checked

    return decorate


@openai_endpoint("POST")
async def chat_completions(request: Request, *, user, client_key: str | None):
    body, problem = _parse_request(request.body)
    if problem:
        return problem  # the client's mistake first, even when no upstream is set
    if not upstream.base_url():
        return _upstream_missing()
    return await _forward_completion(request, user=user, client_key=client_key, body=body)


async def _forward_completion(request: Request, *, user, client_key: str | None, body: dict):
    """Send the completion upstream and relay its answer, choosing the session it is recorded in."""
    session_id = request.header(SESSION_HEADER)
    if session_id is not None:
        target, problem = await _named_session(user, body, session_id)
        if problem:
            return problem
        choosing = None
    else:
        # Looked up while the upstream starts its answer, which the session's id must not hold up.
        upstream_answered = asyncio.Event()
        choosing = asyncio.ensure_future(_matching_session(user, body, upstream_answered))
    sent_body, drop_usage = _upstream_body(body, request.body)
    started_at = time.monotonic()
    try:
        response, failure = await upstream.post("/chat/completions", sent_body, client_key=client_key), None
    except upstream.FAILURES as exc:
        response, failure = None, exc
    if choosing is not None:
        upstream_answered.set()
        target = await choosing
    call = _Call(user=user, request_body=request.body, target=target, started_at=started_at)
    if failure is not None:
        answer = _failed_call(failure, call)
    elif response.content_type == "text/event-stream" and response.status < 400:
        answer = RelayedStream(response, call, drop_usage=drop_usage)
    else:
        answer = await _relay_whole(response, call)
    if target is not None:
        answer[SESSION_HEADER] = target.session_id
    return answer


def _upstream_failed(failure: BaseException) -> Response:
    """Our own 504 (no answer in time) or 502 (no answer at all)."""
    if upstream.is_timeout(failure):
        return openai_error(504, "The upstream model server did not answer in time.", error_type="server_error",
                            code="upstream_timeout")  # fmt: skip
    return openai_error(502, "The upstream model server could not be reached.", error_type="server_error",
                        code="upstream_unreachable")  # fmt: skip


def _failed_call(failure: BaseException, call: _Call) -> Response:
    answer = _upstream_failed(failure)
    call.record(error={"status": answer.status, "body": answer.body.decode()})
    return answer


def _content_type(response: aiohttp.ClientResponse) -> str:
    return response.headers.get("Content-Type", "application/json")


async def _relay_whole(response: aiohttp.ClientResponse, call: _Call) -> Response:
    """A JSON reply or an upstream error: read whole, passed on unchanged, then recorded."""
    try:
        content = await response.read()
    except upstream.FAILURES as failure:
        response.close()
        return _failed_call(failure, call)
    finished_at = time.monotonic()
    answer = Response(content, status=response.status, content_type=_content_type(response),
                      headers=upstream.forwarded_headers(response))  # fmt: skip
    if response.status >= 400:
        call.record(error={"status": response.status, "body": content.decode("utf-8", errors="replace")})
        return answer
    try:
        reply = reply_from_json(orjson.loads(content), started_at=call.started_at, finished_at=finished_at)
    except (orjson.JSONDecodeError, AttributeError, TypeError):
        reply = None  # not a completion we can read: the client still gets it as it came
    call.record(reply=reply)
    return answer


class RelayedStream:
    """A streamed answer: the upstream's bytes passed on as they arrive (whole events when the usage-only
    chunk must be dropped) and kept for the recording, which is made however the stream ends."""

    def __init__(self, response: aiohttp.ClientResponse, call: _Call, *, drop_usage: bool):
        self.response = response
        self.call = call
        self.drop_usage = drop_usage
        self.headers = [
            ("content-type", _content_type(response)),
            ("cache-control", "no-cache"),
            ("x-accel-buffering", "no"),  # a buffering proxy in front (nginx) passes each event on at once
            *upstream.forwarded_headers(response),
        ]

    def __setitem__(self, name: str, value: str) -> None:
        self.headers.append((name.lower(), value))

    async def send(self, send, receive) -> None:
        call = self.call
        capture = StreamCapture(started_at=call.started_at)
        last_byte_at = call.started_at
        cut_off_by = "client"  # unless the relay ends or the upstream fails
        relaying = asyncio.current_task()
        client_left = False

        async def notice_client_leaving():
            nonlocal client_left
            while (await receive())["type"] != "http.disconnect":
                pass
            if cut_off_by == "client":  # still relaying
                client_left = True
                relaying.cancel()

        watcher = asyncio.get_running_loop().create_task(notice_client_leaving())
        try:
            await send({"type": "http.response.start", "status": self.response.status,
                        "headers": encode_headers(self.headers)})  # fmt: skip
            usage_filter = UsageChunkFilter() if self.drop_usage else None
            try:
                async for data in self.response.content.iter_any():
                    last_byte_at = time.monotonic()
                    capture.add(data, at=last_byte_at)
                    if usage_filter is not None and not (data := usage_filter.feed(data)):
                        continue
                    await send({"type": "http.response.body", "body": data, "more_body": True})
                tail, cut_off_by = (usage_filter.remainder() if usage_filter else b""), None
            except upstream.FAILURES:
                tail, cut_off_by = b"", "upstream"
            await send({"type": "http.response.body", "body": tail, "more_body": False})
        except asyncio.CancelledError:
            if not client_left:
                raise  # the server is stopping: recorded below, then cancelled
            relaying.uncancel()
        finally:
            watcher.cancel()
            if cut_off_by is None:
                self.response.release()
            else:
                self.response.close()  # the rest of a cut-off stream must not reach the next request
            call.record(stream=capture, stream_ended_at=last_byte_at, cut_off_by=cut_off_by)


@openai_endpoint("GET")
async def list_models(request: Request, *, user, client_key: str | None):
    if not upstream.base_url():
        return _upstream_missing()
    try:
        async with upstream.get("/models", client_key=client_key) as response:
            content = await response.read()
    except upstream.FAILURES as failure:
        return _upstream_failed(failure)
    return Response(content, status=response.status, content_type=_content_type(response),
                    headers=upstream.forwarded_headers(response))  # fmt: skip


app = application({"/v1/chat/completions": chat_completions, "/v1/models": list_models})
