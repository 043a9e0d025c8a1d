"""The connection to the upstream model server: one pooled aiohttp session per event loop.

aiohttp parses responses in C (llhttp) and hands a stream's bytes over as they arrive; its pool finds a
free connection without polling every idle one (httpx/httpcore did both in Python, per chunk and per
request, and that was most of the proxy's cost per streamed event).
"""

import asyncio
import weakref

import aiohttp
from django.conf import settings

# Upstream answer headers a client may act on (rate limits, retries, request ids); others stay ours.
FORWARDED_HEADER_PREFIXES = ("retry-after", "x-ratelimit-", "x-request-id", "openai-")

# What a call to the upstream can fail with before or while its answer arrives.
FAILURES = (aiohttp.ClientError, asyncio.TimeoutError)

_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession]" = weakref.WeakKeyDictionary()


def session() -> aiohttp.ClientSession:
    """The shared session of the running loop (a session's connections belong to the loop that made them)."""
    loop = asyncio.get_running_loop()
    shared = _sessions.get(loop)
    if shared is None or shared.closed:
        timeout = settings.NOVAFORGE["UPSTREAM_TIMEOUT_SECONDS"]
        shared = _sessions[loop] = aiohttp.ClientSession(
            # Per connect and per read: a stream may last long, but not stall that long between bytes.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
            # Streams hold their connection for their whole length: no cap on how many at once.
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60),
            # The bytes relayed to the client are the bytes the upstream sent, never decoded.
            auto_decompress=False,
            skip_auto_headers=("User-Agent",),
        )
    return shared


async def close_sessions() -> None:
    """Close the running loop's session (at the server's shutdown)."""
    shared = _sessions.pop(asyncio.get_running_loop(), None)
    if shared is not None:
        await shared.close()


def is_timeout(failure: BaseException) -> bool:
    return isinstance(failure, asyncio.TimeoutError)


def base_url() -> str:
    return settings.NOVAFORGE["UPSTREAM_URL"]


def post(path: str, body: bytes, *, client_key: str | None):
    """POST `body` to the upstream's `path` (awaited: the response, its body still to be read)."""
    return session().post(base_url() + path, data=body, headers=headers(client_key=client_key), allow_redirects=False)


def get(path: str, *, client_key: str | None):
    return session().get(base_url() + path, headers=headers(client_key=client_key), allow_redirects=False)


def headers(*, client_key: str | None) -> dict:
    """Headers of a request upstream: the server's key when set, else the client's own (if it sent one)."""
    key = settings.NOVAFORGE["UPSTREAM_API_KEY"] or client_key
    sent = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
    if key:
        sent["Authorization"] = f"Bearer {key}"
    return sent


def forwarded_headers(response: aiohttp.ClientResponse) -> list[tuple[str, str]]:
    return [
        (name, value) for name, value in response.headers.items() if name.lower().startswith(FORWARDED_HEADER_PREFIXES)
    ]
