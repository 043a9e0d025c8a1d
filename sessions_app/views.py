"""HTML pages: the session list and one conversation. Writes go through services."""

import base64
import binascii
from collections import defaultdict
from urllib.parse import unquote_to_bytes

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Substr
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from . import blobs, extensions, services
from .filters import ChatSessionFilter
from .forms import RenameSessionForm
from .models import ChatSession, Message, Role
from .templatetags.novaforge_tags import INLINE_IMAGE_TYPES

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
    rows = session.messages.on_branch(session).with_feedback().select_related("session").order_by("seq")
    paginator = Paginator(rows, MESSAGES_PER_PAGE)
    if not session.is_branched:
        paginator.count = session.current_seq  # an unbranched session is seqs 1..current_seq, without gaps
    page = paginator.get_page(request.GET.get("page"))
    shown = _with_calls_and_branches(session, list(page.object_list))
    return render(
        request,
        "sessions/detail.html",
        {
            "session": session,
            "page": page,
            "shown_messages": shown,
            # New messages are appended live only when the reader is at the end of the conversation.
            "follows_new_messages": not page.has_next(),
            "last_seq": page.object_list[len(page.object_list) - 1].seq if page.object_list else 0,
            "export_formats": extensions.export_formats,
            "rename_form": RenameSessionForm(initial={"title": session.title}),
        },
    )


def _with_calls_and_branches(session: ChatSession, page: list[Message]) -> list[Message]:
    """The messages to show, each assistant message with `calls` (its tool calls and the tool messages
    answering them, which are then not shown on their own) and each message that has siblings with
    `branch` (its place among them and the siblings before and after it)."""
    results = {message.tool_call_id: message for message in page if message.role == "tool" and message.tool_call_id}
    answered = set()
    for message in page:
        message.calls = []
        for call in message.tool_calls or []:
            if not isinstance(call, dict):
                continue
            function = call.get("function") if isinstance(call.get("function"), dict) else {}
            result = results.get(call.get("id")) if call.get("id") else None
            if result is not None and result.seq > message.seq:
                answered.add(result.seq)
            message.calls.append(
                {"id": call.get("id") or "", "name": function.get("name") or "", "arguments": function.get("arguments", ""),
                 "result": result}
            )
        message.branch = None
    if session.is_branched and page:
        parents = {message.parent_seq for message in page}
        siblings = defaultdict(list)
        family = session.messages.filter(parent_seq__in=parents - {None})
        if None in parents:
            family = family | session.messages.filter(parent_seq__isnull=True)
        for parent_seq, seq in family.order_by("seq").values_list("parent_seq", "seq"):
            siblings[parent_seq].append(seq)
        for message in page:
            seqs = siblings.get(message.parent_seq, [])
            if len(seqs) > 1:
                index = seqs.index(message.seq)
                message.branch = {
                    "number": index + 1,
                    "count": len(seqs),
                    "previous": seqs[index - 1] if index else None,
                    "next": seqs[index + 1] if index + 1 < len(seqs) else None,
                }
    return [message for message in page if message.seq not in answered]


@login_required
@require_POST
def switch_branch(request, session_id):
    """Make the branch through message `seq` the active one, down to its newest leaf."""
    session = _owned_session(request, session_id)
    try:
        seq = int(request.POST.get("seq", ""))
    except ValueError:
        return HttpResponseBadRequest("seq: a message number is required.")
    children = defaultdict(list)
    known = set()
    for parent_seq, child in session.messages.order_by("seq").values_list("parent_seq", "seq"):
        children[parent_seq].append(child)
        known.add(child)
    if seq not in known:
        return HttpResponseBadRequest(f"seq: session {session.session_id} has no message {seq}.")
    leaf = seq
    while children.get(leaf):
        leaf = children[leaf][-1]  # the newest reply: the conversation as it was last continued
    services.update_session(session=session, current_seq=leaf)
    before = session.messages.on_branch(session).filter(seq__lt=seq).count()
    page_number = before // MESSAGES_PER_PAGE + 1
    url = reverse("sessions:detail", args=[session.session_id])
    return redirect(url + (f"?page={page_number}" if page_number > 1 else "") + f"#m{seq}")


@login_required
@require_GET
def message_part(request, session_id, seq, index):
    """The data of a message's image, audio or file part, for its owner: pages show inline images from
    here instead of from data: URLs or other servers."""
    session = _owned_session(request, session_id)
    rows = list(session.messages.filter(seq=seq).values("parts", "part_blobs"))
    if not rows or not isinstance(rows[0]["parts"], list) or not 0 <= index < len(rows[0]["parts"]):
        raise Http404("No such message part.")
    blobs.restore(rows)
    part = rows[0]["parts"][index]
    payload = _part_payload(part) if isinstance(part, dict) else None
    if payload is None:
        raise Http404("This part holds no data stored here.")
    media_type, data, filename = payload
    inline = media_type in INLINE_IMAGE_TYPES or media_type.startswith("audio/")
    response = HttpResponse(data, content_type=media_type if inline else "application/octet-stream")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    # Whatever the bytes are, they never run as a page of this site.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _part_payload(part: dict) -> tuple[str, bytes, str] | None:
    """(media type, bytes, file name) of a part's inline data, or None for a link or a malformed part."""
    kind = part.get("type")
    holder = part.get(kind) if isinstance(part.get(kind), dict) else {}
    if kind == "input_audio":
        audio_format = str(holder.get("format") or "octet-stream")
        data = _decoded(holder.get("data"), is_base64=True)
        return None if data is None else (f"audio/{audio_format}", data, f"audio.{audio_format}")
    value = holder.get("url") if kind == "image_url" else holder.get("file_data") if kind == "file" else None
    if kind == "image_url" and isinstance(part.get("image_url"), str):
        value = part["image_url"]
    match = blobs.DATA_URL.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    data = _decoded(value[match.end() :], is_base64=bool(match["base64"]))
    name = holder.get("filename") if isinstance(holder.get("filename"), str) else f"part.{kind}"
    safe_name = "".join(char for char in name if char.isalnum() or char in "._- ")[:100] or "part"
    return None if data is None else (match["media_type"] or "text/plain", data, safe_name)


def _decoded(text, *, is_base64: bool) -> bytes | None:
    if not isinstance(text, str):
        return None
    if not is_base64:
        return unquote_to_bytes(text)
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return None


@login_required
@require_GET
def new_messages(request, session_id):
    """Rendered messages after `after_seq`, for the page's live updates (the same markup as the page)."""
    session = _owned_session(request, session_id)
    try:
        after_seq = max(int(request.GET.get("after_seq", "0")), 0)
    except ValueError:
        after_seq = 0
    rows = session.messages.on_branch(session).with_feedback().select_related("session")
    rows = list(rows.filter(seq__gt=after_seq).order_by("seq")[:NEW_MESSAGES_LIMIT])
    return render(request, "sessions/_messages.html", {"messages_page": _with_calls_and_branches(session, rows)})


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
