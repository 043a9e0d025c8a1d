"""The server's entry point (`make run`: gunicorn with uvicorn's worker): one event loop per process.

/v1/ (the capture proxy, capture_app) runs as async Django on the loop, so one process holds many
streams at once. Everything else stays the WSGI app it always was, on a bounded pool of threads
(NOVAFORGE_THREADS): Django under ASGI would run each sync view in a new thread of its own, with a new
database connection per request, where this pool keeps each thread's persistent connection.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novaforge.settings")

from a2wsgi import WSGIMiddleware  # noqa: E402  (after the settings module is chosen)
from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

PROXY_PREFIX = "/v1/"

async_django = get_asgi_application()
threaded_django = WSGIMiddleware(get_wsgi_application(), workers=settings.NOVAFORGE["SERVER_THREADS"])


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"].startswith(PROXY_PREFIX):
        await async_django(scope, receive, send)
    else:  # pages, the API, static files, and the server's lifespan events
        await threaded_django(scope, receive, send)
