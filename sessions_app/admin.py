from django.contrib import admin, messages
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from . import services
from .models import ChatSession, Message, MessageFeedback, ShareLink


@admin.register(ChatSession)
class ChatSessionAdmin(admin.ModelAdmin):
    list_display = ["session_id", "title", "owner", "mode", "message_count", "started_at", "updated_at", "ended_at", "messages_link", "is_pinned", "is_archived", "tag_list"]
    list_filter = ["mode", "started_at", ("ended_at", admin.EmptyFieldListFilter), "is_pinned", "is_archived"]
    list_select_related = ["owner"]
    search_fields = ["=session_id", "title", "owner__username"]
    raw_id_fields = ["owner"]
    readonly_fields = ["session_id", "mode", "message_count", "token_count", "started_at", "updated_at", "ended_at", "messages_link", "is_pinned", "is_archived", "tag_list"]
    fields = ["session_id", "owner", "title", "system_prompt", "metadata", *readonly_fields[1:]]
    date_hierarchy = "started_at"
    show_full_result_count = False
    actions = ["end_selected", "export_selected", "pin_selected", "unpin_selected", "archive_selected", "unarchive_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_tags()

    @admin.display(description="Tags")
    def tag_list(self, session):
        return ", ".join(tag.name for tag in session.tags.all())

    @admin.display(description="Messages")
    def messages_link(self, session):
        # A link to the filtered, paged message list: never thousands of inline rows.
        url = reverse("admin:sessions_app_message_changelist") + f"?session__id__exact={session.pk}"
        return format_html('<a href="{}">{} messages</a>', url, session.message_count)

    @admin.action(description="End selected sessions")
    def end_selected(self, request, queryset):
        for session in queryset.open():
            services.end_session(session=session)

    @admin.action(description="Export selected sessions")
    def export_selected(self, request, queryset):
        """The selected sessions as an OpenAI fine-tuning JSONL download."""
        # Imported here: apps import one way, exports_app -> memory_app -> sessions_app.
        from exports_app.services import NothingToExport, export_filename, stream_export

        try:
            export_format, chunks = stream_export(sessions=queryset, fmt="jsonl")
        except NothingToExport as error:
            self.message_user(request, str(error), level=messages.WARNING)
            return None
        response = StreamingHttpResponse(chunks, content_type=export_format.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export_filename(export_format)}"'
        return response

    @admin.action(description="Pin selected sessions")
    def pin_selected(self, request, queryset):
        for session in queryset:
            services.curate_session(session=session, is_pinned=True)

    @admin.action(description="Unpin selected sessions")
    def unpin_selected(self, request, queryset):
        for session in queryset:
            services.curate_session(session=session, is_pinned=False)

    @admin.action(description="Archive selected sessions")
    def archive_selected(self, request, queryset):
        for session in queryset:
            services.curate_session(session=session, is_archived=True)

    @admin.action(description="Unarchive selected sessions")
    def unarchive_selected(self, request, queryset):
        for session in queryset:
            services.curate_session(session=session, is_archived=False)

    def save_model(self, request, session, form, change):
        if change:
            changes = {name: form.cleaned_data[name] for name in ("title", "system_prompt", "metadata") if name in form.changed_data}
            if changes:
                services.update_session(session=session, **changes)
        else:
            created = services.start_session(
                owner=form.cleaned_data["owner"],
                title=form.cleaned_data.get("title", ""),
                system_prompt=form.cleaned_data.get("system_prompt", ""),
                metadata=form.cleaned_data.get("metadata") or {},
            )
            session.pk = created.pk
            session.session_id = created.session_id

    def delete_model(self, request, session):
        services.delete_session(session=session)

    def delete_queryset(self, request, queryset):
        for session in queryset:
            services.delete_session(session=session)

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Messages go with their session. MessageAdmin refuses to delete one alone (a gap in seq), and
        # the admin took that refusal as "no permission to delete the session" (403).
        perms_needed.discard(Message._meta.verbose_name)
        return deleted, model_count, perms_needed, protected


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["session", "seq", "role", "short_content", "token_count", "created_at"]
    list_filter = ["role", "created_at"]
    list_select_related = ["session"]
    search_fields = ["=session__session_id", "=message_id"]
    raw_id_fields = ["session"]
    show_full_result_count = False
    list_per_page = 100
    ordering = ["session", "seq"]

    @admin.display(description="Content")
    def short_content(self, message):
        # Django escapes the returned text, so a <script> in a message shows as text.
        return Truncator(message.content).chars(120)

    def has_add_permission(self, request):
        # Messages are appended through the write path (seq, counters, memory), not typed into a form.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting one message would leave a gap in seq; delete the session instead.
        return False


@admin.register(MessageFeedback)
class MessageFeedbackAdmin(admin.ModelAdmin):
    """Ratings are given by the session's owner (API, pages, Python API); staff browse them."""

    list_display = ["message", "rating", "reason", "updated_at"]
    list_filter = ["rating", "updated_at"]
    list_select_related = ["message__session"]
    raw_id_fields = ["message"]
    search_fields = ["=message__session__session_id"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, feedback):
        services.remove_feedback(message=feedback.message)

    def delete_queryset(self, request, queryset):
        for feedback in queryset.select_related("message"):
            services.remove_feedback(message=feedback.message)


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    """Staff see which sessions are shared and can revoke links; tokens are stored only as hashes."""

    list_display = ["session", "title", "message_count", "created_at", "expires_at"]
    list_select_related = ["session"]
    raw_id_fields = ["session"]
    search_fields = ["=session__session_id"]
    exclude = ["token_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, link):
        services.revoke_share_link(link=link)

    def delete_queryset(self, request, queryset):
        for link in queryset:
            services.revoke_share_link(link=link)
