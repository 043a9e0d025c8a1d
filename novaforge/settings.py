"""NovaForge settings: one file, read top to bottom; production differs only by environment variables."""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true"}:
        return True
    if value in {"0", "false"}:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 0, 1, true, false; got {raw!r}.")


def env_list(name: str, *, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, *, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be {minimum} or more; got {value}.")
    return value


DATA_DIR = Path(os.environ.get("NOVAFORGE_DATA_DIR", BASE_DIR / "memory")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", default=False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])


def _secret_key() -> str:
    """The environment's SECRET_KEY, else one generated once into the data directory and reused."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "sessions_app",
    "curation_app",
    "analytics_app",
    "memory_app",
    "exports_app",
    "capture_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "novaforge.urls"
WSGI_APPLICATION = "novaforge.wsgi.application"
APPEND_SLASH = False  # every path answers with and without its slash; no redirects that drop POST bodies

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Persistent connections: the PRAGMAs (SQLite) or the TCP handshake (PostgreSQL) are paid once per thread.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'novaforge.sqlite3'}"),
        conn_max_age=600,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend plus an in-process queue for the write lock (see novaforge/db/sqlite3/base.py).
    DATABASES["default"]["ENGINE"] = "novaforge.db.sqlite3"
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",  # take the write lock at BEGIN: writers queue, never "locked"
        "timeout": 20,
        # FULL, not NORMAL: a message must survive a power cut once its request has returned.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
    }
    # A file, not Django's shared-cache memory database: threads in concurrency tests need real locking.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test_novaforge.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with timestamps parsed by psycopg's C loader (see novaforge/db/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "novaforge.db.postgresql"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the apps' static folders when collectstatic has not run (tests, a fresh checkout).
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/sessions/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Request bodies: a save of 1,000 messages of realistic size fits; anything larger is refused with 413/400.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("NOVAFORGE_MAX_REQUEST_BYTES", default=32 * 1024 * 1024)

# Production hardening: on whenever DEBUG is off.
SESSION_COOKIE_SECURE = not DEBUG and env_bool("SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
BEHIND_PROXY = env_bool("BEHIND_PROXY", default=False)  # a TLS-terminating proxy sets X-Forwarded-Proto
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
# Behind a TLS proxy every plain-HTTP request is redirected; without one gunicorn speaks only HTTP.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=BEHIND_PROXY)
# Sent only on HTTPS responses, so `make run` on plain HTTP is unaffected; a year once DEBUG is off.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "novaforge.drf.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "novaforge.drf.exceptions.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "novaforge.drf.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "novaforge.drf.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}

# Throttling, per user (token or login) and per anonymous address, counted in the default cache (per
# process: point CACHES at Redis or memcached to share counts between gunicorn workers). Rates are
# "<n>/second|minute|hour|day"; the defaults sit far above what an assistant logging its conversations
# sends (bulk loads use save, 1,000 messages a request).
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["novaforge.drf.throttling.AnonRateThrottle", "novaforge.drf.throttling.UserRateThrottle"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "anon": os.environ.get("NOVAFORGE_THROTTLE_ANON", "120/minute"),
    "user": os.environ.get("NOVAFORGE_THROTTLE_USER", "3000/minute"),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "NovaForge API",
    "DESCRIPTION": "Chat sessions, messages, memory and exports of your AI assistant.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The API speaks JSON (CONTRACT.md); the form parsers stay for the browsable API but are not advertised.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    # One name per choice set (memory layers appear whole and as subsets); check --deploy warned otherwise.
    "ENUM_NAME_OVERRIDES": {
        "LayerEnum": "memory_app.models.Layer",
        "SearchableLayerEnum": "memory_app.models.SEARCHABLE_LAYERS",
        "WritableLayerEnum": ["short_term", "long_term", "working"],
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "novaforge.drf.schema.document_error_responses"],
}

NOVAFORGE = {
    # Largest message content accepted, in characters.
    "MAX_CONTENT_CHARS": env_int("NOVAFORGE_MAX_CONTENT_CHARS", default=1_000_000),
    # Most messages one save may carry.
    "MAX_BATCH_MESSAGES": 1000,
    # The user the Python API writes as when none is given.
    "DEFAULT_USER": os.environ.get("NOVAFORGE_USER", "admin"),
    # Memory: lines of short-term memory kept per session (the newest).
    "SHORT_TERM_LIMIT": env_int("NOVAFORGE_SHORT_TERM_LIMIT", default=50, minimum=1),
    # Memory: reads after which consolidation copies an item into long-term memory.
    "PROMOTE_AFTER_ACCESSES": env_int("NOVAFORGE_PROMOTE_AFTER_ACCESSES", default=3),
    # Memory: a session idle this long gets its episode at the next consolidation.
    "EPISODE_IDLE_MINUTES": env_int("NOVAFORGE_EPISODE_IDLE_MINUTES", default=120),
    # Memory: token budget of /api/memory/context when the request names none, and the most it may ask.
    "CONTEXT_BUDGET_TOKENS": 2000,
    "CONTEXT_MAX_BUDGET_TOKENS": 32000,
    # Administrators' cap on how long sessions are kept after their last activity, in days (unset or 0: none).
    # apply_retention deletes older unpinned sessions of every user, whatever their own policy says.
    "RETENTION_MAX_DAYS": env_int("NOVAFORGE_RETENTION_MAX_DAYS", default=0) or None,
    # Threads serving pages and the API (novaforge/asgi.py); the /v1/ proxy's streams need none.
    "SERVER_THREADS": env_int("NOVAFORGE_THREADS", default=8, minimum=1),
    # The capture proxy (/v1/): the OpenAI-compatible server it forwards to, e.g. http://127.0.0.1:11434/v1,
    # and that server's key (unset: clients send their own, see README "Capture proxy").
    "UPSTREAM_URL": os.environ.get("NOVAFORGE_UPSTREAM_URL", "").rstrip("/"),
    "UPSTREAM_API_KEY": os.environ.get("NOVAFORGE_UPSTREAM_API_KEY", ""),
    # Longest wait for the upstream to connect, or to send the next bytes of a reply (then 504).
    "UPSTREAM_TIMEOUT_SECONDS": env_int("NOVAFORGE_UPSTREAM_TIMEOUT", default=600, minimum=1),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
