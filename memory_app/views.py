"""The memory page: the four layers, search, and editing or deleting an item. Writes go through services."""

import re
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from . import services
from .forms import MemoryItemForm
from .models import MONTH_PATTERN, Layer, MemoryItem

PAGE_ITEMS = 50
RECENT_LINES = 20


@login_required
@require_GET
def index(request):
    """The four layers of the user's memory on one page, with a search over memory and messages."""
    items = MemoryItem.objects.owned_by(request.user).select_related("session")
    query = request.GET.get("q", "").strip()[:1000]
    months = list(
        items.filter(layer=Layer.EPISODIC).values("month").annotate(episodes=Count("id")).order_by("-month")[:36]
    )
    month = request.GET.get("month", "")
    if not re.fullmatch(MONTH_PATTERN, month):
        month = months[0]["month"] if months else ""
    context = {
        "query": query,
        "hits": services.recall(owner=request.user, query=query, scope="all", limit=20) if query else [],
        "tasks": items.open_tasks().order_by("-id")[:PAGE_ITEMS],
        "recent": items.filter(layer=Layer.SHORT_TERM).order_by("-id")[:RECENT_LINES],
        "facts": items.filter(layer=Layer.LONG_TERM).order_by("-strength", "-last_seen_at")[:PAGE_ITEMS],
        "months": months,
        "month": month,
        "episodes": items.filter(layer=Layer.EPISODIC, month=month).order_by("-id")[:PAGE_ITEMS] if month else [],
        "statuses": MemoryItemForm.base_fields["status"].choices,
    }
    return render(request, "memory/index.html", context)


def _owned_item(request, item_id: int) -> MemoryItem:
    # Another user's item is a 404, like a missing one.
    return get_object_or_404(MemoryItem.objects.owned_by(request.user), pk=item_id)


def _back_to(request, anchor: str) -> str:
    """The memory page the form was posted from (its month and search kept), at `anchor`."""
    params = {name: request.POST[name] for name in ("q", "month") if request.POST.get(name)}
    return reverse("memory:index") + (f"?{urlencode(params)}" if params else "") + f"#{anchor}"


@login_required
@require_POST
def edit_item(request, item_id):
    item = _owned_item(request, item_id)
    form = MemoryItemForm(request.POST)
    form.is_valid()  # every field is optional: what fails is left out of cleaned_data and reported below
    editable = services.EDITABLE_FIELDS[Layer(item.layer)]
    changes = {name: value for name, value in form.cleaned_data.items() if name in editable and name in request.POST}
    errors = [f"{name}: {' '.join(problems)}" for name, problems in form.errors.items()]
    if not errors:
        try:
            services.update_item(item=item, **changes)
        except ValidationError as error:
            errors = [f"{name}: {' '.join(problems)}" for name, problems in error.message_dict.items()]
    if errors:
        flash.error(request, "Not saved. " + " ".join(errors))
    else:
        flash.success(request, "Saved.")
    return redirect(_back_to(request, f"item-{item.pk}"))


@login_required
@require_POST
def delete_item(request, item_id):
    item = _owned_item(request, item_id)
    services.delete_item(item=item)
    flash.success(request, "Deleted from memory.")
    return redirect(_back_to(request, f"{item.layer.replace('_', '-')}-heading"))
