"""What every API endpoint shares: pagination, the JSON parser, and the one exception handler."""

import re
from collections import OrderedDict

import orjson
from django.apps import apps
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import EmptyPage, Paginator
from django.db import connections
from django.http import Http404
from django.utils.text import capfirst
from rest_framework import exceptions, pagination, parsers, renderers, status, throttling
from rest_framework.response import Response
from rest_framework.settings import api_settings

MAX_PAGE_SIZE = 200


def parse_page_params(data) -> tuple[int, int]:
    """`page` and `page_size` from query parameters or a JSON body; 400 naming the field when invalid."""
    errors = {}
    values = {}
    for name, default, upper in (("page", 1, None), ("page_size", settings.REST_FRAMEWORK["PAGE_SIZE"], MAX_PAGE_SIZE)):
        raw = data.get(name, default)
        if raw in (None, ""):
            raw = default
        if isinstance(raw, bool):
            raw = "not a number"
        try:
            value = int(raw)
        except (TypeError, ValueError):
            errors[name] = ["A whole number is required."]
            continue
        if value < 1 or (upper and value > upper):
            errors[name] = [f"Must be between 1 and {upper}." if upper else "Must be 1 or more."]
            continue
        values[name] = value
    if errors:
        raise exceptions.ValidationError(errors)
    return values["page"], values["page_size"]


class PageNumberPagination(pagination.PageNumberPagination):
    """Page-number pagination whose bad `page`/`page_size` values are a 400, not silently replaced."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        page_number, page_size = parse_page_params(request.query_params)
        self.request = request
        ids_first = getattr(view, "paginate_ids_first", False)
        self.page = page_of(queryset, page=page_number, page_size=page_size, ids_first=ids_first)
        return list(self.page)


class IdsFirstPaginator(Paginator):
    """On PostgreSQL, picks a page's primary keys in a subquery, then reads only those rows, in the same
    query. PostgreSQL fetches every row an OFFSET skips from the table, while the keys alone come from
    an index-only scan: page 1,001 of a user's sessions took 62 ms, this way 6.5 ms. SQLite already
    skips along the index without reading rows, and given the subquery it walked the owner's whole
    index testing each row (15 ms against 6 ms), so it pages plainly. For plain model querysets (no
    values(), union or distinct)."""

    def page(self, number):
        if connections[self.object_list.db].vendor != "postgresql":
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        keys = self.object_list.values("pk")[bottom : bottom + self.per_page]
        return self._get_page(self.object_list.filter(pk__in=keys), number, self)


def page_of(queryset, *, page: int, page_size: int, ids_first: bool = False):
    """One page of `queryset`; a page past the end is a 404 that says how many pages there are.
    `ids_first` reads the page through IdsFirstPaginator (for long lists of one model)."""
    paginator = (IdsFirstPaginator if ids_first else Paginator)(queryset, page_size)
    try:
        return paginator.page(page)
    except EmptyPage:
        raise exceptions.NotFound(f"Page {page} does not exist; there are {paginator.num_pages}.") from None


def page_response(page, results) -> OrderedDict:
    """The body of a page answered to a POST: `next` and `previous` are page numbers to post again."""
    return OrderedDict(
        count=page.paginator.count,
        next=page.next_page_number() if page.has_next() else None,
        previous=page.previous_page_number() if page.has_previous() else None,
        results=results,
    )


class JSONParser(parsers.JSONParser):
    """DRF's parser, with JSON nested too deeply to parse answered as a 400 rather than a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None


class JSONRenderer(renderers.JSONRenderer):
    """DRF's renderer, with orjson writing the compact form: a 10,000-message load is ~8 MB of JSON, which
    the standard library takes several times longer to write. The same JSON: datetimes, dataclasses and
    what orjson does not know (decimals, lazy strings) go through DRF's encoder, anything orjson refuses
    (an integer beyond 64 bits, a non-string key) falls back to DRF's rendering, and so does indented output.
    One difference: a NaN or infinite float becomes null where DRF's strict mode would fail the request."""

    OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None or self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=self.encoder_class().default, option=self.OPTIONS)
        except TypeError:
            return super().render(data, accepted_media_type, renderer_context)
        # As DRF does: U+2028 and U+2029 escaped, so the output is also valid JavaScript.
        return body.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")


# What Django's get_object_or_404 says: it names the model's class.
NOT_FOUND_TEXT = re.compile(r"No (?P<model>\w+) matches the given query\.")
# Models whose verbose name is not the word users know them by.
NOT_FOUND_NOUNS = {"ChatSession": "Session"}


def not_found_detail(exc: Http404, view) -> str:
    """"Session not found.", "Memory item not found.": the missing object in our words. The model is the
    one Django's message names, else (a lookup value of the wrong type) the one the view serves."""
    named = NOT_FOUND_TEXT.fullmatch(str(exc))
    if named:
        model = next((model for model in apps.get_models() if model._meta.object_name == named["model"]), None)
    else:
        queryset = getattr(view, "queryset", None)
        model = queryset.model if queryset is not None else None
    if model is None:
        return str(exc) or "Not found."
    noun = NOT_FOUND_NOUNS.get(model._meta.object_name) or capfirst(model._meta.verbose_name)
    return f"{noun} not found."


def exception_handler(exc, context):
    """DRF's handler, plus: Django ValidationError -> 400 keyed by field; too-large body -> 413; a missing
    object -> 404 naming what is missing."""
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES (this module) when it loads.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, Http404):
        exc = exceptions.NotFound(not_found_detail(exc, context.get("view")))
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": f"Request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    return drf_exception_handler(exc, context)


# Answers any operation may give besides its own, documented so clients (and the schema fuzzer in
# tests/reliability) can rely on the shape: DRF's {"detail": ...} or {"<field>": ["<problem>", ...]}.
ERROR_RESPONSES = {
    "400": "Bad input: the body names each offending field.",
    "401": "No valid credentials.",
    "403": "Not allowed (for a logged-in browser session: a missing CSRF token).",
    "404": "No such object among yours (another user's answers 404 too), or a page past the end.",
    "413": "The request body is larger than the server accepts.",
    "429": "Too many requests; the Retry-After header says when to try again.",
}


def document_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: add the error answers to every operation of the schema."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = {
        "type": "object",
        "description": '{"detail": "<message>"} or {"<field>": ["<problem>", ...]}',
        "additionalProperties": True,
    }
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True  # django-filter takes `?mode=` as "not filtering"
            codes = ["401", "403", "404", "429"]
            if operation.get("parameters") or operation.get("requestBody"):
                codes.append("400")
            if operation.get("requestBody"):
                codes.append("413")
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses.setdefault(code, {**error, "description": ERROR_RESPONSES[code]})
    return result


class RateFromSettingsMixin:
    """Read the rate on every request (DRF reads it once at import), so a changed setting applies."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonRateThrottle(RateFromSettingsMixin, throttling.AnonRateThrottle):
    """Requests without credentials, counted per client address."""


class UserRateThrottle(RateFromSettingsMixin, throttling.UserRateThrottle):
    """Requests of a signed-in user (token or browser session), counted per user."""
