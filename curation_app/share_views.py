"""The public page behind a share link: no login, read-only, the conversation as it was when shared."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .models import ShareLink


@never_cache  # revoking must take effect at once, also behind caches
def shared_session(request, token: str):
    link = ShareLink.objects.live().with_token(token).select_related("session").first()
    if link is None:
        # Unknown, revoked and expired tokens get the same answer, so links cannot be probed.
        raise Http404("No such link.")
    messages = link.session.messages
    shown = (
        messages.ending_at(link.session, link.leaf_seq)
        if link.leaf_seq
        else messages.filter(seq__lte=link.message_count)
    )
    conversation = shown.order_by("seq").only("seq", "role", "content")
    response = render(request, "curation/shared.html", {"link": link, "conversation": conversation})
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL: never pass it on to other sites
    return response
