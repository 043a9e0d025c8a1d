"""The conversation page's curation controls: thumbs, pin, archive, tags, share. Writes go through services."""

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from sessions_app.models import ChatSession

from . import services

CURATION_ACTIONS = {
    "pin": {"is_pinned": True},
    "unpin": {"is_pinned": False},
    "archive": {"is_archived": True},
    "unarchive": {"is_archived": False},
}


def _owned_session(request, session_id: str) -> ChatSession:
    return get_object_or_404(ChatSession.objects.owned_by(request.user), session_id=session_id)


@login_required
@require_POST
def rate_message(request, session_id, seq):
    session = _owned_session(request, session_id)
    message = get_object_or_404(session.messages, seq=seq)
    try:
        services.rate_message(message=message, rating=int(request.POST.get("rating", "")))
    except (ValueError, ValidationError) as error:
        flash.error(request, f"Not rated: {' '.join(getattr(error, 'messages', ['rating must be 1 or -1.']))}")
    return redirect(reverse("sessions:detail", args=[session.session_id]) + f"#m{message.seq}")


@login_required
@require_POST
def curate_session(request, session_id):
    session = _owned_session(request, session_id)
    changes = dict(CURATION_ACTIONS.get(request.POST.get("action"), {}))
    if "tags" in request.POST:
        changes["tags"] = [tag for tag in request.POST["tags"].split(",") if tag.strip()]
    try:
        services.curate_session(session=session, **changes)
    except ValidationError as error:
        flash.error(request, " ".join(error.messages))
    return redirect("sessions:detail", session_id=session.session_id)


@login_required
@require_POST
def share_session(request, session_id):
    session = _owned_session(request, session_id)
    _, token = services.share_session(session=session)
    url = request.build_absolute_uri(reverse("shared-session", args=[token]))
    flash.success(request, f"Read-only link (shown only now; revoke it with DELETE /api/shares/): {url}")
    return redirect("sessions:detail", session_id=session.session_id)
