from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from . import services
from .models import ChatSession, Message


@admin.register(ChatSession)
class ChatSessionAdmin(admin.ModelAdmin):
    list_display = ["session_id", "title", "owner", "mode", "message_count", "started_at", "updated_at", "ended_at", "messages_link", "is_pinned", "is_archived"]
    list_filter = ["mode", "started_at", ("ended_at", admin.EmptyFieldListFilter), "is_pinned", "is_archived"]
    list_select_related = ["owner"]
    search_fields = ["=session_id", "title", "owner__username"]
    raw_id_fields = ["owner"]
    readonly_fields = ["session_id", "mode", "message_count", "token_count", "started_at", "updated_at", "ended_at", "messages_link", "is_pinned", "is_archived"]
    fields = ["session_id", "owner", "title", "system_prompt", "metadata", *readonly_fields[1:]]
    date_hierarchy = "started_at"
    show_full_result_count = False
    # Other apps add theirs (pin, archive, export) to the registered instance in their admin modules.
    actions = ["end_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_tags()

    @admin.display(description="Messages")
    def messages_link(self, session):
        # A link to the filtered, paged message list: never thousands of inline rows.
        url = reverse("admin:sessions_app_message_changelist") + f"?session__id__exact={session.pk}"
        return format_html('<a href="{}">{} messages</a>', url, session.message_count)

    @admin.action(description="End selected sessions")
    def end_selected(self, request, queryset):
        for session in queryset.open():
            services.end_session(session=session)

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
