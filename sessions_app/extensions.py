"""What the apps built on sessions add to its pages and API. Each fills these in its AppConfig.ready(),
so sessions_app never imports the apps above it (the import-linter contract in setup.cfg)."""

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from dataclasses import dataclass
from datetime import datetime

# The session list's statistics panel: (user, now) -> dict, or nothing to show.
_list_overview: Callable[..., dict] | None = None


def register_list_overview(provider: Callable[..., dict]) -> None:
    global _list_overview
    _list_overview = provider


def list_overview(*, user, now: datetime) -> dict | None:
    return _list_overview(user=user, now=now) if _list_overview else None


@dataclass(frozen=True)
class ExportFormat:
    name: str  # the `format` value of POST /api/sessions/export
    label: str


# The conversation page's export buttons, in the order they are registered.
export_formats: list[ExportFormat] = []


def register_export_format(name: str, label: str) -> None:
    if all(known.name != name for known in export_formats):
        export_formats.append(ExportFormat(name=name, label=label))


@dataclass(frozen=True)
class SessionFields:
    """Fields another app adds to the API's session object: their serializer fields (input and schema),
    how a session's values are read, and the service that applies a PATCH of them."""

    fields: Callable[[], dict]  # name -> a fresh DRF serializer field
    read: Callable[..., dict]  # (session) -> {name: value}, from what the session's queryset loaded
    apply: Callable[..., object]  # (session=, **values) -> the session, inside the caller's transaction


session_fields: list[SessionFields] = []


def register_session_fields(extension: SessionFields) -> None:
    session_fields.append(extension)


# What the Python API (LoggingSystem) does through other apps, by name: "rate_message" (curation_app)
# and "export_sessions" (exports_app).
_python_api: dict[str, Callable] = {}


def register_python_api(name: str, function: Callable) -> None:
    _python_api[name] = function


def python_api(name: str) -> Callable:
    try:
        return _python_api[name]
    except KeyError:
        raise ImproperlyConfigured(f"No installed app provides {name!r} to the Python API.") from None
