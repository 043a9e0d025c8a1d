"""The connection to the upstream model server: one pooled httpx client per event loop."""

import asyncio
import weakref

import httpx
from django.conf import settings

# Upstream answer headers a client may act on (rate limits, retries, request ids); others stay ours.
FORWARDED_HEADER_PREFIXES = ("retry-after", "x-ratelimit-", "x-request-id", "openai-")

_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]" = weakref.WeakKeyDictionary()


def client() -> httpx.AsyncClient:
    """The shared client of the running loop (a client's connections belong to the loop that made them)."""
    loop = asyncio.get_running_loop()
    shared = _clients.get(loop)
    if shared is None:
        timeout = settings.NOVAFORGE["UPSTREAM_TIMEOUT_SECONDS"]
        shared = _clients[loop] = httpx.AsyncClient(
            # The read timeout is per read: a stream may last long, but not stall that long between bytes.
            timeout=httpx.Timeout(timeout, pool=None),
            # Streams hold their connection for their whole length: no small cap on how many at once.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=128),
            follow_redirects=False,
        )
    return shared


def base_url() -> str:
    return settings.NOVAFORGE["UPSTREAM_URL"]


def headers(*, client_key: str | None) -> dict:
    """Headers of a request upstream: the server's key when set, else the client's own (if it sent one)."""
    key = settings.NOVAFORGE["UPSTREAM_API_KEY"] or client_key
    # identity: the bytes relayed to the client are the bytes the upstream sent, never re-encoded.
    sent = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
    if key:
        sent["Authorization"] = f"Bearer {key}"
    return sent


def forwarded_headers(response: httpx.Response) -> dict:
    return {
        name: value for name, value in response.headers.items() if name.lower().startswith(FORWARDED_HEADER_PREFIXES)
    }
