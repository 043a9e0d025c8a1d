"""The one exception handler of the API: every error answers JSON that names the problem."""

import re

from django.apps import apps
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.text import capfirst
from rest_framework import exceptions, status
from rest_framework.response import Response

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
