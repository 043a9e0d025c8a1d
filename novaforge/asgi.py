"""The server's entry point (`make run`: gunicorn with uvicorn's worker): one event loop per process.

/v1/ (the capture proxy, capture_app) runs as async Django on the loop, so one process holds many
streams at once. Everything else stays the WSGI app it always was, on a bounded pool of threads
(NOVAFORGE_THREADS): Django under ASGI would run each sync view in a new thread of its own, with a new
database connection per request, where this pool keeps each thread's persistent connection.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novaforge.settings")

import django  # noqa: E402  (after the settings module is chosen)
from a2wsgi import WSGIMiddleware  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.core.handlers.exception import convert_exception_to_response  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

PROXY_PREFIX = "/v1/"


class ProxyHandler(ASGIHandler):
    """Async Django without the site's middleware, for /v1/ alone: its views need no cookies, sessions,
    CSRF or static files, and a sync middleware (WhiteNoise) would send every call through a thread.
    Nor a thread per request: Django's handler gives each request a context whose sync work (the
    request signals' receivers) runs on a thread started for it; here that work shares one thread (the
    proxy's own database work runs on capture_app's threads)."""

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"The capture proxy serves HTTP only, not {scope['type']}.")
        await self.handle(scope, receive, send)

    def load_middleware(self, is_async=False):
        if not is_async:
            raise ImproperlyConfigured("ProxyHandler serves async views only.")
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response_async)


django.setup(set_prefix=False)
async_django = ProxyHandler()
threaded_django = WSGIMiddleware(get_wsgi_application(), workers=settings.NOVAFORGE["SERVER_THREADS"])


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"].startswith(PROXY_PREFIX):
        await async_django(scope, receive, send)
    else:  # pages, the API, static files, and the server's lifespan events
        await threaded_django(scope, receive, send)
