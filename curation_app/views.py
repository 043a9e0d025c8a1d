"""The conversation page's curation controls (thumbs, pin, archive, tags, share) and the page of share
links. Writes go through services."""

from datetime import timedelta

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from sessions_app.models import ChatSession

from . import services
from .models import ShareLink

# How long a new share link opens, as offered on the page ("" = until revoked).
SHARE_EXPIRY_DAYS = {"": None, "1": 1, "7": 7, "30": 30}
# The one URL of a new link, kept in the visitor's server-side session until the page has shown it once.
NEW_SHARE_KEY = "new_share_links"

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
    expiry = request.POST.get("expires_in_days", "")
    if expiry not in SHARE_EXPIRY_DAYS:
        return HttpResponseBadRequest("expires_in_days: choose 1, 7, 30 or none.")
    days = SHARE_EXPIRY_DAYS[expiry]
    link, token = services.share_session(
        session=session, expires_at=timezone.now() + timedelta(days=days) if days else None
    )
    url = request.build_absolute_uri(reverse("shared-session", args=[token]))
    # Only the token's hash is stored: this is the one time the URL can be shown.
    new_links = request.session.get(NEW_SHARE_KEY, {})
    new_links[session.session_id] = {"url": url, "link": link.pk}
    request.session[NEW_SHARE_KEY] = new_links
    return redirect(reverse("sessions:detail", args=[session.session_id]) + "#share-panel")


@login_required
@require_POST
def revoke_share_link(request, link_id):
    link = get_object_or_404(ShareLink.objects.owned_by(request.user).select_related("session"), pk=link_id)
    services.revoke_share_link(link=link)
    flash.success(request, f"Revoked the link to “{link.title or link.session.session_id}”: it no longer opens.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("curation:shares")
    return redirect(back)


@login_required
@require_GET
def share_links(request):
    """Every share link of the caller's sessions, live and expired."""
    links = ShareLink.objects.owned_by(request.user).select_related("session").order_by("-created_at", "-id")
    return render(request, "curation/shares.html", {"links": links, "now": timezone.now()})
