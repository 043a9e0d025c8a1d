from django.contrib import admin

from sessions_app.models import ChatSession

from . import services
from .models import MessageFeedback, ShareLink


def _flag_action(description: str, **flags):
    @admin.action(description=description)
    def set_flags(modeladmin, request, queryset):
        for session in queryset:
            services.curate_session(session=session, **flags)

    set_flags.__name__ = "_".join(description.lower().split()[:1]) + "_selected"
    return set_flags


pin_selected = _flag_action("Pin selected sessions", is_pinned=True)
unpin_selected = _flag_action("Unpin selected sessions", is_pinned=False)
archive_selected = _flag_action("Archive selected sessions", is_archived=True)
unarchive_selected = _flag_action("Unarchive selected sessions", is_archived=False)


@admin.display(description="Tags")
def tag_list(session):
    return ", ".join(tag.name for tag in session.tags.all())


def add_curation_to_session_admin() -> None:
    """The session admin (sessions_app) gains the tags column and the pin and archive actions."""
    session_admin = admin.site.get_model_admin(ChatSession)
    session_admin.tag_list = tag_list  # named, so the change form's `fields` can list it
    session_admin.list_display = [*session_admin.list_display, "tag_list"]
    session_admin.readonly_fields = [*session_admin.readonly_fields, "tag_list"]
    session_admin.fields = [*session_admin.fields, "tag_list"]
    session_admin.actions = [*session_admin.actions, pin_selected, unpin_selected, archive_selected, unarchive_selected]


add_curation_to_session_admin()


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
