"""The month archive: <data dir>/sessions/YYYY-MM/<session_id>.json, one self-contained file per session.

A file holds the owner's username, every session field, and every message with every field and its
feedback, so `import_sessions --format archive` restores the session exactly. Content parts carry their
data inline (blobs put back), so a file needs nothing else to be restored.
"""

import re
from pathlib import Path

import orjson

from sessions_app import blobs
from sessions_app.ids import SESSION_ID_REGEX
from sessions_app.models import Role
from sessions_app.services import NewMessage

from .conversations import Conversation, turn_type
from .importers import ImportFileError, IncomingConversation, from_iso, load_json

ARCHIVE_FORMAT = "novaforge-session-archive"
# Version 2 added branches, content parts, tool calls, reasoning and the session's tools; version 1
# files (every message after the one before it, text only) are still read.
ARCHIVE_VERSION = 2
SESSION_ID = re.compile(SESSION_ID_REGEX)

ARCHIVE_TURN = turn_type(
    "ArchivedTurn",
    {
        "seq": "seq",
        "parent_seq": "parent_seq",
        "role": "role",
        "content": "content",
        "parts": "parts",
        "part_blobs": "part_blobs",
        "tool_calls": "tool_calls",
        "tool_call_id": "tool_call_id",
        "name": "name",
        "reasoning": "reasoning",
        "metadata": "metadata",
        "message_id": "message_id",
        "token_count": "token_count",
        "created_at": "created_at",
        "rating": "feedback__rating",
        "feedback_reason": "feedback__reason",
        "feedback_comment": "feedback__comment",
        "feedback_created_at": "feedback__created_at",
        "feedback_updated_at": "feedback__updated_at",
    },
)


def when(moment) -> str | None:
    return moment.isoformat() if moment else None


def archive_path(directory: Path, conversation: Conversation) -> Path:
    return directory / conversation.started_at.strftime("%Y-%m") / f"{conversation.session_id}.json"


def inline_parts(turns: list) -> dict[int, list]:
    """seq -> content parts with their blob data put back, for the turns whose parts hold blobs."""
    rows = [{"seq": turn.seq, "parts": turn.parts, "part_blobs": turn.part_blobs} for turn in turns if turn.part_blobs]
    blobs.restore(rows)
    return {row["seq"]: row["parts"] for row in rows}


def archive_document(conversation: Conversation) -> bytes:
    """The archive file's bytes: sorted keys and fixed indentation, so equal sessions give equal files."""
    inlined = inline_parts(conversation.turns)
    document = {
        "format": ARCHIVE_FORMAT,
        "version": ARCHIVE_VERSION,
        "owner": conversation.owner,
        "session": {
            "session_id": conversation.session_id,
            "title": conversation.title,
            "system_prompt": conversation.system_prompt,
            "metadata": conversation.metadata,
            "mode": conversation.mode,
            "message_count": conversation.message_count,
            "token_count": conversation.token_count,
            "started_at": when(conversation.started_at),
            "updated_at": when(conversation.updated_at),
            "ended_at": when(conversation.ended_at),
            "current_seq": conversation.current_seq,
            "tools": conversation.tools,
        },
        "messages": [
            {
                "seq": turn.seq,
                "parent_seq": turn.parent_seq,
                "role": turn.role,
                "content": turn.content,
                "parts": inlined.get(turn.seq, turn.parts),
                "tool_calls": turn.tool_calls,
                "tool_call_id": turn.tool_call_id,
                "name": turn.name,
                "reasoning": turn.reasoning,
                "metadata": turn.metadata,
                "message_id": turn.message_id,
                "token_count": turn.token_count,
                "created_at": when(turn.created_at),
                "feedback": None
                if turn.rating is None
                else {
                    "rating": turn.rating,
                    "reason": turn.feedback_reason,
                    "comment": turn.feedback_comment,
                    "created_at": when(turn.feedback_created_at),
                    "updated_at": when(turn.feedback_updated_at),
                },
            }
            for turn in conversation.turns
        ],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def archived_message(message: dict, where: str, *, version) -> NewMessage:
    """One archived message as it is to be appended (a version 1 file has none of the newer fields)."""
    parent_seq = message["parent_seq"] if version != 1 else (message["seq"] - 1 or None)
    if parent_seq is not None and not (isinstance(parent_seq, int) and 1 <= parent_seq < message["seq"]):
        raise ImportFileError(f"{where}: parent_seq {parent_seq!r} is not an earlier message")
    newer = {}
    if version != 1:
        newer = {field: message[field] for field in ("parts", "tool_calls", "tool_call_id", "name", "reasoning")}
    return NewMessage(
        role=message["role"],
        content=message["content"],
        metadata=message["metadata"],
        message_id=message["message_id"],
        created_at=_required_time(message["created_at"], where),
        parent_seq=parent_seq,
        **newer,
    )


def _required_time(value, where: str):
    moment = from_iso(value)
    if moment is None:
        raise ImportFileError(f"{where}: expected an ISO 8601 date-time, got {value!r}")
    return moment


def parse_archive_file(path: Path) -> IncomingConversation:
    document = load_json(path)
    if not isinstance(document, dict) or document.get("format") != ARCHIVE_FORMAT:
        raise ImportFileError(f"{path}: not a NovaForge session archive (no \"format\": \"{ARCHIVE_FORMAT}\")")
    try:
        session = document["session"]
        if not isinstance(session["session_id"], str) or not SESSION_ID.fullmatch(session["session_id"]):
            raise ImportFileError(f"{path}: session_id must be 12 lowercase hex characters")
        messages = []
        feedback = {}
        for position, message in enumerate(document["messages"]):
            where = f"{path}: message {position}"
            if message["role"] not in Role.values or not isinstance(message["content"], str):
                raise ImportFileError(f"{where}: role must be one of {', '.join(Role.values)} and content text")
            if message["seq"] != position + 1:
                raise ImportFileError(f"{where}: seq {message['seq']} out of order")
            messages.append(archived_message(message, where, version=document.get("version")))
            if message["feedback"]:
                feedback[message["seq"]] = {
                    "rating": message["feedback"]["rating"],
                    "reason": message["feedback"]["reason"],
                    "comment": message["feedback"]["comment"],
                    "created_at": _required_time(message["feedback"]["created_at"], where),
                    "updated_at": _required_time(message["feedback"]["updated_at"], where),
                }
        return IncomingConversation(
            external_id=session["session_id"],
            session_id=session["session_id"],
            owner=document["owner"],
            title=session["title"],
            system_prompt=session["system_prompt"],
            metadata=session["metadata"],
            mode=session["mode"],
            started_at=_required_time(session["started_at"], f"{path}: session"),
            updated_at=_required_time(session["updated_at"], f"{path}: session"),
            ended_at=from_iso(session["ended_at"]),
            current_seq=session.get("current_seq"),
            tools=session.get("tools"),
            messages=messages,
            feedback=feedback,
        )
    except (KeyError, TypeError) as error:
        raise ImportFileError(f"{path}: missing or malformed field {error}") from None


def archive_files(path: Path) -> list[Path]:
    """One archive file, or every *.json under a directory (the month folders), in name order."""
    return sorted(path.rglob("*.json")) if path.is_dir() else [path]


def parse_archive(path: Path, on_progress=None):
    """The session of each archive file. A malformed file stops the import: a restore is all or nothing."""
    for file in archive_files(path):
        conversation = parse_archive_file(file)
        if on_progress:
            on_progress(file.stat().st_size)
        yield conversation
