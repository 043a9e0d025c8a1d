from django.contrib import admin, messages
from django.http import StreamingHttpResponse

from sessions_app.models import ChatSession

from .services import NothingToExport, export_filename, stream_export


@admin.action(description="Export selected sessions")
def export_selected(modeladmin, request, queryset):
    """The selected sessions as an OpenAI fine-tuning JSONL download."""
    try:
        export_format, chunks = stream_export(sessions=queryset, fmt="jsonl")
    except NothingToExport as error:
        modeladmin.message_user(request, str(error), level=messages.WARNING)
        return None
    response = StreamingHttpResponse(chunks, content_type=export_format.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export_filename(export_format)}"'
    return response


session_admin = admin.site.get_model_admin(ChatSession)
session_admin.actions = [*session_admin.actions, export_selected]
