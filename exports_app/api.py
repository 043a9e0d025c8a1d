from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.views import APIView

from sessions_app.filters import ChatSessionFilter
from sessions_app.ids import SESSION_ID_LENGTH, SESSION_ID_PATTERN
from sessions_app.models import ChatSession

from . import services
from .formats import FORMATS


class ExportInputSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=list(FORMATS))
    session_ids = serializers.ListField(
        child=serializers.RegexField(SESSION_ID_PATTERN, max_length=SESSION_ID_LENGTH), required=False, max_length=10_000,
        help_text="Only these sessions (all must be yours); without it, every session the filters select.",
    )
    redact_pii = serializers.BooleanField(default=False)
    dedupe = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text="Write duplicate conversations once; by default jsonl, sharegpt, hf and dpo do, csv and markdown keep every session.",
    )
    reasoning = serializers.BooleanField(
        default=False, help_text="Include the model's thinking where the format has a place for it (hf, markdown).",
    )
    max_tokens = serializers.IntegerField(min_value=1, required=False)
    rating = serializers.ChoiceField(choices=services.RATING_FILTERS, default="any")


class NothingToExportError(APIException):
    # 422: the request is well formed, but the sessions it selects make no example of this format.
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "nothing_to_export"


class SessionExportView(APIView):
    """POST /api/sessions/export: your sessions as a training-data file, streamed as an attachment.

    Takes JSON or a form post (a page's <form> with its CSRF token), with the list filters
    (q, started_after, started_before, mode, min_messages, ended) beside the fields below.
    An export that would hold no example answers 422 with {"detail": why}, not an empty file.
    """

    @extend_schema(request=ExportInputSerializer, responses={
            (200, "application/jsonl"): OpenApiTypes.BINARY,
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "text/markdown"): OpenApiTypes.BINARY,
            422: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description='Nothing to export: {"detail": "<why, with counts of what was read and skipped>"}.',
            ),
        })
    def post(self, request):
        incoming = ExportInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        options = dict(incoming.validated_data)
        fmt = options.pop("format")
        session_ids = options.pop("session_ids", None)
        sessions = ChatSession.objects.owned_by(request.user)
        if session_ids is not None:
            sessions = sessions.filter(session_id__in=session_ids)
            missing = set(session_ids) - set(sessions.values_list("session_id", flat=True))
            if missing:
                raise NotFound(f"No session {', '.join(sorted(missing))}.")
        filters = {key: request.data.get(key) for key in ChatSessionFilter.base_filters if key in request.data}
        # Sessions named by id are exported even when archived; the list filters alone hide archived ones.
        selected = ChatSessionFilter(filters, queryset=sessions, include_archived=session_ids is not None)
        if not selected.is_valid():
            raise ValidationError(selected.errors)
        try:
            export_format, chunks = services.stream_export(sessions=selected.qs, fmt=fmt, **options)
        except services.NothingToExport as error:
            raise NothingToExportError(str(error)) from None
        response = StreamingHttpResponse(chunks, content_type=export_format.content_type)
        response["Content-Disposition"] = f'attachment; filename="{services.export_filename(export_format)}"'
        return response
