from django import forms
from django.contrib import admin
from django.utils.text import Truncator

from . import services
from .models import DEFAULT_CATEGORY, Layer, MemoryItem


class MemoryItemForm(forms.ModelForm):
    class Meta:
        model = MemoryItem
        fields = ["owner", "session", "layer", "category", "title", "text", "status", "context"]

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and data.get("layer") == Layer.EPISODIC:
            raise forms.ValidationError({"layer": "Episodes are built from sessions: end the session or consolidate."})
        if self.instance.pk is None and data.get("layer") == Layer.SHORT_TERM and not data.get("session"):
            raise forms.ValidationError({"session": "Short-term memory belongs to a session."})
        return data


@admin.register(MemoryItem)
class MemoryItemAdmin(admin.ModelAdmin):
    """Memory items of every layer (filter by layer); writes go through memory_app.services."""

    form = MemoryItemForm

    list_display = ["id", "layer", "owner", "category", "short_text", "strength", "status", "month", "access_count", "created_at"]
    list_filter = ["layer", "category", "status"]
    list_select_related = ["owner", "session"]
    search_fields = ["=id", "owner__username", "=session__session_id"]
    raw_id_fields = ["owner", "session"]
    readonly_fields = [
        "fingerprint", "strength", "month", "digest", "access_count", "last_accessed_at", "promoted_from",
        "promoted_at", "created_at", "updated_at", "last_seen_at",
    ]  # fmt: skip
    show_full_result_count = False
    list_per_page = 100
    ordering = ["-id"]
    actions = ["delete_selected_items"]

    @admin.display(description="Text")
    def short_text(self, item):
        # Django escapes the returned text, so markup in a memory shows as text.
        return Truncator(item.text).chars(120)

    def get_readonly_fields(self, request, item=None):
        # An item stays in its layer, with its owner and session; what else may change is the service's rule.
        return [*self.readonly_fields, "owner", "session", "layer"] if item else self.readonly_fields

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # Django's bulk delete bypasses the services
        return actions

    @admin.action(description="Delete selected memory items", permissions=["delete"])
    def delete_selected_items(self, request, queryset):
        for item in queryset.iterator(chunk_size=500):
            services.delete_item(item=item)

    def save_model(self, request, item, form, change):
        data = form.cleaned_data
        if change:
            editable = services.EDITABLE_FIELDS[Layer(item.layer)]
            changes = {name: data[name] for name in form.changed_data if name in editable}
            if changes:
                saved = services.update_item(item=MemoryItem.objects.get(pk=item.pk), **changes)
                item.pk = saved.pk
            return
        layer = data["layer"]
        if layer == Layer.SHORT_TERM:
            saved = services.add_short_term(session=data["session"], text=data["text"])
        elif layer == Layer.LONG_TERM:
            saved, _ = services.remember_fact(
                owner=data["owner"], text=data["text"], category=data.get("category") or DEFAULT_CATEGORY, session=data["session"]
            )
        else:
            saved = services.add_task(
                owner=data["owner"], goal=data["text"], context=data.get("context") or {},
                category=data.get("category") or DEFAULT_CATEGORY, session=data["session"],
            )  # fmt: skip
        item.pk = saved.pk

    def delete_model(self, request, item):
        services.delete_item(item=item)
