"""Template filters for the pages: message content as safe HTML, and small number formatting."""

import math
import threading

import markdown
import nh3
from django import template
from django.template.defaultfilters import floatformat
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()

# Past this size a message is shown as plain text: Markdown parsing is slow on megabyte inputs.
MARKDOWN_MAX_CHARS = 100_000
# No images: a message's ![](https://...) would make the page load something from outside the server.
ALLOWED_TAGS = nh3.ALLOWED_TAGS - {"img"}
ALLOWED_ATTRIBUTES = {**nh3.ALLOWED_ATTRIBUTES, "code": {"class"}, "a": {"href", "title"}}
_renderers = threading.local()


def _markdown() -> markdown.Markdown:
    """One Markdown parser per thread (they keep state between calls), with raw HTML turned off."""
    if not hasattr(_renderers, "markdown"):
        renderer = markdown.Markdown(extensions=["fenced_code", "tables", "sane_lists"])
        # Message content is untrusted: HTML in it is shown as text, never passed through.
        renderer.preprocessors.deregister("html_block")
        renderer.inlinePatterns.deregister("html")
        _renderers.markdown = renderer
    return _renderers.markdown


@register.filter
def render_markdown(text: str) -> str:
    """Markdown to HTML with raw HTML escaped, then sanitised by nh3 (links keep only safe schemes)."""
    if len(text) > MARKDOWN_MAX_CHARS:
        return mark_safe(f'<pre class="plain">{escape(text)}</pre>')
    html = _markdown().reset().convert(text)
    return mark_safe(
        nh3.clean(
            html,
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
        )
    )


@register.filter
def change(current: int, previous: int) -> str:
    """'+25%' / '-10%' / 'new' / '±0%' comparing two counts."""
    if previous == 0:
        return "new" if current else "±0%"
    percent = round((current - previous) * 100 / previous)
    return f"{percent:+d}%" if percent else "±0%"


@register.filter
def tool_names(tools) -> list[str]:
    """Names from metadata `tools`: a list of strings or of objects with a `name`."""
    if not isinstance(tools, list):
        return []
    names = (tool.get("name") if isinstance(tool, dict) else tool for tool in tools)
    return [name for name in names if isinstance(name, str) and name]


@register.filter
def milliseconds(value) -> str:
    """'840 ms' / '12.5 ms' for a non-negative number; '' for anything else (metadata is free-form)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return ""
    return f"{floatformat(value, -1)} ms"
