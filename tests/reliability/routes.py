"""The pages of the site, found through the URL resolver so pages added later are covered too."""

import re

from django.urls import URLResolver, get_resolver


def _as_route(pattern: str) -> str:
    """A regex route (`^memory/?`, `(?P<token>[^/]+)`) written like a path() route (`memory/`, `<token>`)."""
    route = pattern.lstrip("^").rstrip("$").replace("/?", "/")
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route)


def page_urls(session_id: str, other_ids: list) -> list[str]:
    """Every page route outside /api/, /admin/ and static files, its parameters filled with the given ids."""
    urls = []

    def walk(patterns, prefix):
        for entry in patterns:
            route = prefix + _as_route(str(entry.pattern))
            if route.startswith(("api/", "admin/", "static/")):
                continue
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
                continue
            names = re.findall(r"<(?:\w+:)?(\w+)>", route)
            if names == ["session_id"]:
                urls.append("/" + re.sub(r"<(?:\w+:)?session_id>", session_id, route))
            elif not names:
                urls.append("/" + route)
            elif set(names) <= {"pk", "id", "session_id"} or names[-1].endswith("_id"):
                for pk in other_ids:
                    urls.append("/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: session_id if m[1] == "session_id" else str(pk), route))

    walk(get_resolver().url_patterns, "")
    return sorted({url.replace("//", "/") for url in urls if "logout" not in url})
