"""HTML pages: the session list and one conversation. Writes go through services."""

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Substr
from django.http import HttpResponseBadRequest, HttpResponseNotFound
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from . import extensions, services
from .filters import ChatSessionFilter
from .forms import RenameSessionForm
from .models import ChatSession, Message, Role

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


# The list's one-line preview: the start of the first user message (the row shows it truncated).
PREVIEW_CHARS = 160
# Bulk actions take the ids the list's page shows, at most a page's worth several times over.
BULK_MAX_SESSIONS = 500


def _first_request_preview():
    """The start of each session's first user message, as one subquery of the list's query (no query per row)."""
    first = Message.objects.filter(session=OuterRef("pk"), role=Role.USER).order_by("seq")
    return Subquery(first.values(preview=Substr("content", 1, PREVIEW_CHARS))[:1])


@login_required
@require_GET
def session_list(request):
    owned = ChatSession.objects.owned_by(request.user)
    listed = owned.in_list_order().with_tags().annotate(preview=_first_request_preview())
    sessions = ChatSessionFilter(request.GET, queryset=listed)
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
            "folded_filters_set": any(request.GET.get(name) for name in sessions.form.fields if name != "q"),
            "export_formats": extensions.export_formats,
            "can_curate": _session_field("is_archived") is not None and _session_field("tags") is not None,
        },
    )


def _session_field(name: str) -> extensions.SessionFields | None:
    """The app (curation_app) that stores the session field `name`, through the registry it fills."""
    return next((extension for extension in extensions.session_fields if name in extension.fields()), None)


def _archive(session: ChatSession, _: str) -> None:
    _session_field("is_archived").apply(session=session, is_archived=True)


def _add_tag(session: ChatSession, tag: str) -> None:
    tags = _session_field("tags")
    tags.apply(session=session, tags=[*tags.read(session)["tags"], tag])


def _delete(session: ChatSession, _: str) -> None:
    services.delete_session(session=session)


BULK_ACTIONS = {
    "archive": (_archive, "Archived {count} session{plural}."),
    "tag": (_add_tag, "Tagged {count} session{plural} “{tag}”."),
    "delete": (_delete, "Deleted {count} session{plural}."),
}


def _list_url(request) -> str:
    """Where the list form was posted from (its filters and page kept), or the list."""
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return back
    return reverse("sessions:list")


@login_required
@require_POST
def bulk_action(request):
    """Archive, tag or delete the caller's selected sessions, all or none; deleting asks first."""
    action = request.POST.get("action", "")
    if action not in BULK_ACTIONS:
        return HttpResponseBadRequest(f"action must be one of {', '.join(BULK_ACTIONS)}.", content_type="text/plain")
    session_ids = list(dict.fromkeys(request.POST.getlist("session_ids")))
    if not session_ids:
        flash.error(request, "Select at least one session first.")
        return redirect(_list_url(request))
    if len(session_ids) > BULK_MAX_SESSIONS:
        return HttpResponseBadRequest(f"At most {BULK_MAX_SESSIONS} sessions at once.", content_type="text/plain")
    if action != "delete" and _session_field("is_archived" if action == "archive" else "tags") is None:
        return HttpResponseBadRequest(f"No installed app can {action} sessions.", content_type="text/plain")
    tag = request.POST.get("tag", "").strip()
    if action == "tag" and not tag:
        flash.error(request, "Type a tag to add to the selected sessions.")
        return redirect(_list_url(request))
    sessions = list(ChatSession.objects.owned_by(request.user).filter(session_id__in=session_ids).with_tags())
    missing = set(session_ids) - {session.session_id for session in sessions}
    if missing:
        # Another user's session is indistinguishable from a missing one.
        return HttpResponseNotFound(f"No session {', '.join(sorted(missing))}.", content_type="text/plain")
    if action == "delete" and request.POST.get("confirm") != "yes":
        return render(request, "sessions/bulk_delete.html", {"sessions": sessions, "next": _list_url(request)})
    apply, done = BULK_ACTIONS[action]
    try:
        with transaction.atomic():
            for session in sessions:
                apply(session, tag)
    except ValidationError as error:
        flash.error(request, "Nothing changed: " + " ".join(error.messages))
    else:
        flash.success(request, done.format(count=len(sessions), plural="" if len(sessions) == 1 else "s", tag=tag))
    return redirect(_list_url(request))


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
