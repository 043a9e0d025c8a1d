"""The server's entry point (`make run`: gunicorn with uvicorn's worker): one event loop per process.

/v1/ (the capture proxy, capture_app) is a bare ASGI app on the loop, so one process holds many streams
at once. Everything else stays the WSGI app it always was, on a bounded pool of threads
(NOVAFORGE_THREADS): Django under ASGI would run each sync view in a new thread of its own, with a new
database connection per request, where this pool keeps each thread's persistent connection.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novaforge.settings")

import django  # noqa: E402  (after the settings module is chosen)
from a2wsgi import WSGIMiddleware  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

PROXY_PREFIX = "/v1/"

django.setup(set_prefix=False)
threaded_django = WSGIMiddleware(get_wsgi_application(), workers=settings.NOVAFORGE["SERVER_THREADS"])

from capture_app import proxy  # noqa: E402  (its models need the apps loaded)


async def lifespan(receive, send):
    """The proxy's recorder starts with the server; at shutdown what it has queued is recorded first."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            proxy.startup()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await proxy.shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"].startswith(PROXY_PREFIX):
        await proxy.app(scope, receive, send)
    elif scope["type"] == "lifespan":
        await lifespan(receive, send)
    else:  # pages, the API, static files
        await threaded_django(scope, receive, send)
