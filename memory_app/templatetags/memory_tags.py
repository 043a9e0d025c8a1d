"""Filters for the memory page: a task's context as pairs, and search results with the matched words marked."""

import json
import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from sessions_app.ids import is_session_id

from ..search import query_terms

register = template.Library()

SNIPPET_CHARS = 300
# How much text a snippet keeps before the first match, so the match reads in its sentence.
SNIPPET_LEAD_CHARS = 80


@register.filter
def context_pairs(context) -> list[dict]:
    """A task's context object as [{key, value, session_id}] by key (PostgreSQL's jsonb keeps no order):
    strings as they are, anything else as JSON; `session_id` is set when the value is a session id."""
    if not isinstance(context, dict):
        return []
    return [
        {
            "key": key,
            "value": value if isinstance(value, str) else json.dumps(value, ensure_ascii=False),
            "session_id": value if is_session_id(value) else None,
        }
        for key, value in sorted(context.items())
    ]


def _matcher(query: str) -> re.Pattern | None:
    # Both search engines stem ("tuning" finds "tune"), so a word is marked when it starts with a term.
    terms = query_terms(query)
    if not terms:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(term) for term in terms) + r")\w*", re.IGNORECASE)


@register.filter
def highlight(text: str, query: str) -> str:
    """A snippet of `text` around its first match of `query`'s words, escaped, each match in <mark>."""
    text = text if isinstance(text, str) else str(text)
    matcher = _matcher(query)
    first = matcher.search(text) if matcher else None
    start = max(first.start() - SNIPPET_LEAD_CHARS, 0) if first else 0
    snippet = text[start:start + SNIPPET_CHARS]
    pieces, cursor = [], 0
    for match in matcher.finditer(snippet) if matcher else ():
        pieces.append(escape(snippet[cursor:match.start()]))
        pieces.append(f"<mark>{escape(match.group())}</mark>")
        cursor = match.end()
    pieces.append(escape(snippet[cursor:]))
    prefix = "…" if start else ""
    suffix = "…" if start + SNIPPET_CHARS < len(text) else ""
    return mark_safe(prefix + "".join(pieces) + suffix)
