import re

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render

from . import services
from .models import MONTH_PATTERN, Layer, MemoryItem

PAGE_ITEMS = 50
RECENT_LINES = 20


@login_required
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
    }
    return render(request, "memory/index.html", context)
