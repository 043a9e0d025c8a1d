"""Template filters for the pages: message content as safe HTML (Markdown, highlighted code, content
parts, tool calls), inline SVG icons, and small number formatting."""

import json
import math
import threading

import markdown
import nh3
from django import template
from django.template.defaultfilters import filesizeformat, floatformat
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer
from pygments.token import STANDARD_TYPES

from sessions_app.blobs import DATA_URL

register = template.Library()

# Past this size a message is shown as plain text: Markdown parsing is slow on megabyte inputs.
MARKDOWN_MAX_CHARS = 100_000
# No images: a message's ![](https://...) would make the page load something from outside the server.
ALLOWED_TAGS = nh3.ALLOWED_TAGS - {"img"}
ALLOWED_ATTRIBUTES = {**nh3.ALLOWED_ATTRIBUTES, "a": {"href", "title"}}
# Code blocks keep Pygments' token classes (styled by static/css/pygments.css) and nothing else.
CODE_CSS_CLASS = "codehilite"
ALLOWED_CLASSES = {"div": {CODE_CSS_CLASS}, "span": {name for name in STANDARD_TYPES.values() if name}}
_renderers = threading.local()


def _markdown() -> markdown.Markdown:
    """One Markdown parser per thread (they keep state between calls), with raw HTML turned off."""
    if not hasattr(_renderers, "markdown"):
        renderer = markdown.Markdown(
            extensions=["fenced_code", "codehilite", "tables", "sane_lists"],
            # Only a fence's named language is highlighted: guessing colours prose as code.
            extension_configs={"codehilite": {"css_class": CODE_CSS_CLASS, "guess_lang": False}},
        )
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
            allowed_classes=ALLOWED_CLASSES,
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


@register.filter
def tool_payload(arguments) -> str:
    """Tool call arguments or a tool result: pretty-printed and highlighted when they parse as JSON, else
    exactly as sent."""
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    try:
        pretty = json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except ValueError:
        return format_html('<pre class="plain tool-arguments">{}</pre>', arguments)
    # Pygments escapes its input: the output needs no sanitising.
    return mark_safe(highlight(pretty, JsonLexer(), HtmlFormatter(cssclass=CODE_CSS_CLASS)))


# Served inline as <img>; anything else (SVG can hold scripts) is offered as a download.
INLINE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"}


def _part_media_type(message, index: int, field: str, value) -> str | None:
    """The media type of the data at `field` of part `index`: from its blob reference, else its data URL."""
    for reference in message.part_blobs or []:
        if reference.get("part") == index and reference.get("path", [None])[0] == field:
            return reference.get("media_type")
    if isinstance(value, str):
        match = DATA_URL.match(value)
        if match:
            return match["media_type"] or "text/plain"
    return None


def _is_stored_here(message, index: int, field: str, value) -> bool:
    """True when the part carries its data (a data: URL or raw base64), not a link to somewhere else."""
    if any(ref.get("part") == index and ref.get("path", [None])[0] == field for ref in message.part_blobs or []):
        return True
    return isinstance(value, str) and value.startswith("data:")


@register.filter
def message_parts(message) -> list[dict]:
    """A message's content parts ready to show: text, images and files served by us, remote links.
    Nothing here makes the page load anything from another server."""
    shown = []
    for index, part in enumerate(message.parts or []):
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        local_url = reverse("sessions:part", args=[message.session.session_id, message.seq, index])
        holder = part.get(kind) if isinstance(part.get(kind), dict) else {}
        if kind == "text":
            shown.append({"kind": "text", "text": part.get("text") or ""})
        elif kind == "refusal":
            shown.append({"kind": "refusal", "text": part.get("refusal") or ""})
        elif kind == "image_url":
            url = holder.get("url") if holder else part.get("image_url")
            if _is_stored_here(message, index, "image_url", url):
                media_type = _part_media_type(message, index, "image_url", url)
                shown.append({"kind": "image" if media_type in INLINE_IMAGE_TYPES else "file", "url": local_url,
                              "name": f"Image {index + 1}", "media_type": media_type})
            else:
                shown.append({"kind": "link", "url": url if isinstance(url, str) else "", "name": "Image"})
        elif kind == "input_audio":
            audio_format = holder.get("format") if isinstance(holder.get("format"), str) else "audio"
            shown.append({"kind": "audio", "url": local_url, "name": f"Audio ({audio_format})",
                          "media_type": f"audio/{audio_format}"})
        elif kind == "file":
            data = holder.get("file_data")
            name = holder.get("filename") or holder.get("file_id") or f"File {index + 1}"
            if _is_stored_here(message, index, "file", data):
                media_type = _part_media_type(message, index, "file", data)
                shown.append({"kind": "file", "url": local_url, "name": name, "media_type": media_type,
                              "size": _part_size(message, index)})
            else:
                shown.append({"kind": "file", "url": "", "name": name, "media_type": None})
        else:
            shown.append({"kind": "other", "type": str(kind), "json": json.dumps(part, indent=2, ensure_ascii=False)})
    return shown


def _part_size(message, index: int) -> str:
    for reference in message.part_blobs or []:
        if reference.get("part") == index and isinstance(reference.get("size"), int):
            return filesizeformat(reference["size"])
    return ""


# Inline SVG icons (24×24, stroked in the text colour): they need no emoji or icon font.
ICONS = {
    "thumbs-up": '<path d="M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3"/>',
    "thumbs-down": '<path d="M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17"/>',
    "copy": '<rect x="9" y="9" width="13" height="13" rx="2"/><path d="M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1"/>',
    "check": '<polyline points="20 6 9 17 4 12"/>',
    "share": '<circle cx="18" cy="5" r="3"/><circle cx="6" cy="12" r="3"/><circle cx="18" cy="19" r="3"/><path d="M8.6 13.5l6.8 4M15.4 6.5l-6.8 4"/>',
    "pin": '<path d="M12 17v5M5 17h14v-1.8a2 2 0 0 0-1.1-1.8l-1.8-.9A2 2 0 0 1 15 10.8V6h1a2 2 0 0 0 0-4H8a2 2 0 0 0 0 4h1v4.8a2 2 0 0 1-1.1 1.8l-1.8.9A2 2 0 0 0 5 15.2z"/>',
    "archive": '<path d="M21 8v13H3V8M1 3h22v5H1zM10 12h4"/>',
    "more": '<circle cx="5" cy="12" r="1"/><circle cx="12" cy="12" r="1"/><circle cx="19" cy="12" r="1"/>',
    "download": '<path d="M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M7 10l5 5 5-5M12 15V3"/>',
    "chevron-left": '<polyline points="15 18 9 12 15 6"/>',
    "chevron-right": '<polyline points="9 18 15 12 9 6"/>',
    "trash": '<path d="M3 6h18M19 6v14a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V6m3 0V4a2 2 0 0 1 2-2h4a2 2 0 0 1 2 2v2"/>',
    "external": '<path d="M18 13v6a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h6M15 3h6v6M10 14L21 3"/>',
    "tool": '<path d="M14.7 6.3a1 1 0 0 0 0 1.4l1.6 1.6a1 1 0 0 0 1.4 0l3.8-3.8a6 6 0 0 1-7.9 7.9l-6.9 6.9a2.1 2.1 0 0 1-3-3l6.9-6.9a6 6 0 0 1 7.9-7.9z"/>',
    "edit": '<path d="M12 20h9M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z"/>',
    "tag": '<path d="M20.6 13.4l-7.2 7.2a2 2 0 0 1-2.8 0L2 12V2h10l8.6 8.6a2 2 0 0 1 0 2.8zM7 7h.01"/>',
    "attachment": '<path d="M21.4 11l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5"/>',
    "image": '<rect x="3" y="3" width="18" height="18" rx="2"/><circle cx="8.5" cy="8.5" r="1.5"/><path d="M21 15l-5-5L5 21"/>',
    "thinking": '<path d="M9 18h6M10 22h4M12 2a7 7 0 0 0-4 12.7V17h8v-2.3A7 7 0 0 0 12 2z"/>',
    "stop": '<rect x="5" y="5" width="14" height="14" rx="2"/>',
    "list": '<path d="M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01"/>',
}


@register.simple_tag
def icon(name: str) -> str:
    """An inline SVG icon, hidden from screen readers: the control around it carries the name."""
    return mark_safe(
        '<svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false" '
        'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">'
        f"{ICONS[name]}</svg>"
    )
