"""What the conversation page shows of a session's share links."""

from django import template
from django.utils import timezone

from ..views import NEW_SHARE_KEY

register = template.Library()


@register.simple_tag(takes_context=True)
def share_panel(context, session) -> dict:
    """This session's links, and the URL of a link made just now, which is shown this once (afterwards
    only its hash exists)."""
    request = context["request"]
    new_links = request.session.get(NEW_SHARE_KEY, {})
    new = new_links.pop(session.session_id, None)
    if new is not None:
        request.session[NEW_SHARE_KEY] = new_links
    links = list(session.share_links.order_by("-created_at", "-id"))
    return {"links": links, "new": new, "now": timezone.now()}
