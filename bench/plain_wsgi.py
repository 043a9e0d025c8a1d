"""The limit for the HTTP lines: a bare WSGI function sending the same statements as our API, served by
the same gunicorn. It authenticates the token, finds the session, and appends, loads or lists with the
statements of bench.limit.Plain; JSON in and out with the standard library, as DRF does."""

import json
import os
import threading
from datetime import UTC, datetime

from bench.limit import MESSAGE_TABLE, SESSION_TABLE, Plain

SESSION_TAG_TABLE = "sessions_app_sessiontag"
TAG_TABLE = "sessions_app_tag"
DATABASE = json.loads(os.environ.get("BENCH_PLAIN_DATABASE", "{}"))
_local = threading.local()


def _database() -> Plain:
    if not hasattr(_local, "plain"):
        _local.plain = Plain(DATABASE)
    return _local.plain


def _answer(start_response, status: str, body) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def application(environ, start_response):
    db = _database()
    size = int(environ.get("CONTENT_LENGTH") or 0)
    data = json.loads(environ["wsgi.input"].read(size)) if size else {}
    key = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Token ")
    user = db.execute(
        "SELECT u.id FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id WHERE t.key = ?", (key,)
    ).fetchone()
    if user is None:
        return _answer(start_response, "401 Unauthorized", {"detail": "Invalid token."})
    path = environ["PATH_INFO"]
    if path == "/list":
        page, size = data.get("page", 1), data.get("page_size", 50)
        # The default list as ours sends it: unarchived sessions, pinned first, newest first, and the
        # page's tags in one more query.
        live = "owner_id = ? AND NOT is_archived"
        count = db.execute(f"SELECT COUNT(*) FROM {SESSION_TABLE} WHERE {live}", user).fetchone()[0]
        rows = db.execute(
            f"SELECT id, session_id, title, system_prompt, metadata, mode, started_at, updated_at, ended_at,"
            f" message_count, token_count, is_pinned, is_archived FROM {SESSION_TABLE} WHERE {live}"
            f" ORDER BY is_pinned DESC, started_at DESC, id DESC LIMIT ? OFFSET ?",
            (user[0], size, (page - 1) * size),
        ).fetchall()
        tags: dict[int, list[str]] = {}
        if rows:
            marks = ", ".join("?" * len(rows))
            for session_pk, name in db.execute(
                f"SELECT st.session_id, t.name FROM {SESSION_TAG_TABLE} st JOIN {TAG_TABLE} t ON t.id = st.tag_id"
                f" WHERE st.session_id IN ({marks})", [row[0] for row in rows]):
                tags.setdefault(session_pk, []).append(name)
        results = [
            {**_session(row[1:11]), "tags": sorted(tags.get(row[0], [])), "is_pinned": bool(row[11]),
             "is_archived": bool(row[12])}
            for row in rows
        ]
        return _answer(start_response, "200 OK", {"count": count, "results": results})
    session = db.execute(
        f"SELECT id, session_id, title, system_prompt, metadata, mode, started_at, updated_at, ended_at,"
        f" message_count, token_count FROM {SESSION_TABLE} WHERE owner_id = ? AND session_id = ?",
        (user[0], data.pop("session_id")),
    ).fetchone()
    if path == "/load":
        rows = db.execute(
            f"SELECT seq, role, content, metadata, message_id, token_count, created_at FROM {MESSAGE_TABLE}"
            f" WHERE session_id = ? ORDER BY seq LIMIT ?",
            (session[0], 10_001),
        ).fetchall()
        body = _session(session[1:])
        body["messages"] = [
            {"seq": seq, "role": role, "content": content, "metadata": json.loads(metadata)
             if isinstance(metadata, str) else metadata, "message_id": message_id, "token_count": tokens,
             "created_at": str(created_at)}
            for seq, role, content, metadata, message_id, tokens, created_at in rows
        ]
        return _answer(start_response, "200 OK", body)
    messages = data["messages"] if path == "/save" else [data]
    saved = db.append(session[0], messages, datetime.now(UTC))
    status = "200 OK" if path == "/save" else "201 Created"
    return _answer(start_response, status, {"saved": saved})


def _session(row) -> dict:
    session_id, title, system_prompt, metadata, mode, started_at, updated_at, ended_at, count, tokens = row
    return {
        "session_id": session_id, "title": title, "system_prompt": system_prompt,
        "metadata": json.loads(metadata) if isinstance(metadata, str) else metadata, "mode": mode,
        "started_at": str(started_at), "updated_at": str(updated_at), "ended_at": ended_at and str(ended_at),
        "message_count": count, "token_count": tokens,
    }
