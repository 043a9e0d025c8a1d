"""HTML pages: the session list and one conversation. Writes go through services."""

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from . import extensions, services
from .filters import ChatSessionFilter
from .forms import RenameSessionForm
from .models import ChatSession

SESSIONS_PER_PAGE = 25
MESSAGES_PER_PAGE = 100
NEW_MESSAGES_LIMIT = 200
SORTS = [
    ("", "Pinned, then newest"),
    ("-started_at", "Newest first"),
    ("started_at", "Oldest first"),
    ("-updated_at", "Recently active"),
    ("-message_count", "Most messages"),
    ("-token_count", "Most tokens"),
    ("title", "Title A–Z"),
]


def _owned_session(request, session_id: str) -> ChatSession:
    """The caller's session, or 404 (another user's session is indistinguishable from a missing one)."""
    return get_object_or_404(ChatSession.objects.owned_by(request.user), session_id=session_id)


@login_required
@require_GET
def session_list(request):
    owned = ChatSession.objects.owned_by(request.user)
    sessions = ChatSessionFilter(request.GET, queryset=owned.in_list_order().with_tags())
    page = Paginator(sessions.qs if sessions.is_valid() else owned.none(), SESSIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    modes = owned.exclude(mode="").order_by("mode").values_list("mode", flat=True).distinct()
    return render(
        request,
        "sessions/list.html",
        {
            "filter": sessions,
            "page": page,
            "modes": modes,
            "sorts": SORTS,
            "stats": extensions.list_overview(user=request.user, now=timezone.now()),
            "is_filtered": any(request.GET.get(name) for name in sessions.form.fields),
        },
    )


@login_required
@require_GET
def session_detail(request, session_id):
    session = _owned_session(request, session_id)
    rows = session.messages.with_feedback().select_related("session").order_by("seq")
    page = Paginator(rows, MESSAGES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "sessions/detail.html",
        {
            "session": session,
            "page": page,
            # New messages are appended live only when the reader is at the end of the conversation.
            "follows_new_messages": not page.has_next(),
            "last_seq": page.object_list[len(page.object_list) - 1].seq if page.object_list else 0,
            "export_formats": extensions.export_formats,
            "rename_form": RenameSessionForm(initial={"title": session.title}),
        },
    )


@login_required
@require_GET
def new_messages(request, session_id):
    """Rendered messages after `after_seq`, for the page's live updates (the same markup as the page)."""
    session = _owned_session(request, session_id)
    try:
        after_seq = max(int(request.GET.get("after_seq", "0")), 0)
    except ValueError:
        after_seq = 0
    rows = session.messages.with_feedback().select_related("session").filter(seq__gt=after_seq).order_by("seq")
    rows = rows[:NEW_MESSAGES_LIMIT]
    return render(request, "sessions/_messages.html", {"messages_page": rows})


@login_required
@require_POST
def rename_session(request, session_id):
    session = _owned_session(request, session_id)
    form = RenameSessionForm(request.POST)
    if form.is_valid():
        services.update_session(session=session, title=form.cleaned_data["title"])
        flash.success(request, "Session renamed.")
    else:
        flash.error(request, "Title: " + " ".join(form.errors["title"]))
    return redirect("sessions:detail", session_id=session.session_id)


@login_required
@require_POST
def end_session(request, session_id):
    session = services.end_session(session=_owned_session(request, session_id))
    flash.success(request, "Session ended.")
    return redirect("sessions:detail", session_id=session.session_id)


@login_required
@require_POST
def delete_session(request, session_id):
    session = _owned_session(request, session_id)
    title = session.title or session.session_id
    services.delete_session(session=session)
    flash.success(request, f"Deleted “{title}”.")
    return redirect("sessions:list")
