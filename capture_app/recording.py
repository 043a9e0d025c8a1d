"""Recording a proxied chat completion as a NovaForge session, through the sessions services.

Sync code (the ORM): the proxy chooses sessions on its own threads (proxy.run_in_db_thread), and the
recorder process writes the calls down (recorder.py).
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from sessions_app import serializers, services
from sessions_app.models import ChatSession, Message, new_session_id
from sessions_app.services import NewMessage

from .assembly import REASONING_FIELDS, Reply
from .models import CapturedPrefix

TITLE_MAX_CHARS = 200  # ChatSession.title's length
ERROR_BODY_MAX_CHARS = 2000
ERRORS_KEPT = 20  # the newest upstream errors listed in a session's metadata
TOOL_CALL_ID_MAX_CHARS = Message._meta.get_field("tool_call_id").max_length
NAME_MAX_CHARS = Message._meta.get_field("name").max_length
# OpenAI roles NovaForge stores under another name; the original is kept in the message's metadata.
STORED_ROLE = {"developer": "system", "function": "tool"}
ROLES = {"system", "user", "assistant", "tool", *STORED_ROLE}
# Request fields recorded elsewhere than in the reply's `params`.
NOT_PARAMS = {"messages", "tools", "stream_options"}


class SessionNotFound(Exception):
    """The X-NovaForge-Session-Id names no session of the caller."""


class SessionEnded(Exception):
    """The X-NovaForge-Session-Id names a session that has ended."""


# The conversation: what identifies a message when a client sends it back in its next request.


def text_of(content) -> str:
    """The text of an OpenAI message content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    parts = _parts_of(content)
    return serializers.text_of(parts) if parts else ""


def _canonical(message: dict) -> bytes:
    """What a client echoes of a message: role, content, tool calls (id, name, arguments), tool_call_id,
    name. Not reasoning (clients drop it) nor a call's `type` or a null content (clients vary)."""
    content = message.get("content")
    tool_calls = [
        [call.get("id"), (call.get("function") or {}).get("name"), (call.get("function") or {}).get("arguments")]
        for call in message.get("tool_calls") or []
        if isinstance(call, dict)
    ]
    canonical = [
        message.get("role"),
        content if isinstance(content, list) else (content or ""),
        tool_calls,
        message.get("tool_call_id"),
        message.get("name"),
    ]
    return json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def chain_hashes(messages: Sequence[dict], *, after: str = "") -> list[str]:
    """The hash of every prefix of `messages` (of the conversation `after` ends, if given)."""
    hashes, previous = [], after.encode()
    for message in messages:
        previous = hashlib.sha256(previous + b"\n" + _canonical(message)).hexdigest().encode()
        hashes.append(previous.decode())
    return hashes


def _parts_of(content) -> list | None:
    """`content` as content parts to store as given, when it is a list the sessions store as parts."""
    if (
        isinstance(content, list)
        and not serializers.content_parts_problem(content)
        and not serializers.unstorable_json(content)
    ):
        return content
    return None


def _tool_calls_of(message: dict) -> list | None:
    """An assistant message's tool calls, when the sessions store them as they are."""
    calls = message.get("tool_calls")
    if message.get("role") != "assistant" or not isinstance(calls, list) or not calls:
        return None
    if serializers.tool_calls_problem(calls) or serializers.unstorable_json(calls):
        return None
    return calls


def _short_string(value, limit: int) -> str:
    return value if isinstance(value, str) and len(value) <= limit else ""


def to_new_message(message: dict, *, metadata: dict | None = None) -> NewMessage:
    """An OpenAI message dict as a NewMessage: content parts, tool calls, tool_call_id, name and reasoning
    in their fields; an OpenAI role stored under another name keeps its own in the metadata, and what a
    field cannot hold as sent (a malformed call, an overlong name) is kept there too."""
    role = message["role"]
    extra = dict(metadata or {})
    if role in STORED_ROLE:
        extra["role"] = role
    content = message.get("content")
    parts = _parts_of(content)
    if isinstance(content, list) and parts is None:
        extra["content"] = content
    tool_calls = _tool_calls_of(message)
    if message.get("tool_calls") and tool_calls is None:
        extra["tool_calls"] = message["tool_calls"]
    if message.get("function_call"):  # the call of OpenAI's older functions API, answered by a "function"
        extra["function_call"] = message["function_call"]
    stored_role = STORED_ROLE.get(role, role)
    tool_call_id = _short_string(message.get("tool_call_id"), TOOL_CALL_ID_MAX_CHARS) if stored_role == "tool" else ""
    if message.get("tool_call_id") and not tool_call_id:
        extra["tool_call_id"] = message["tool_call_id"]
    name = _short_string(message.get("name"), NAME_MAX_CHARS)
    if message.get("name") and not name:
        extra["name"] = message["name"]
    reasoning = next((message[field] for field in REASONING_FIELDS if isinstance(message.get(field), str)), None)
    return NewMessage(
        role=stored_role,
        content=text_of(content),
        parts=parts,
        tool_calls=tool_calls,
        tool_call_id=tool_call_id,
        name=name,
        reasoning=reasoning or None,
        metadata=extra,
    )


def title_of(messages: Sequence[dict]) -> str:
    first_user = next((text_of(m.get("content")) for m in messages if m.get("role") == "user"), "")
    return " ".join(first_user.split())[:TITLE_MAX_CHARS]


# Which session a call goes to.


@dataclass(frozen=True)
class Target:
    session_id: str
    is_new: bool


def choose_session(*, owner, messages: Sequence[dict], session_id: str | None) -> Target:
    """The session a call is recorded in: the one named, else the caller's open session whose recorded
    conversation the request continues (longest shared prefix), else a new one (its id chosen now, so
    the answer can name it before anything is written)."""
    if session_id is not None:
        session = ChatSession.objects.owned_by(owner).filter(session_id=session_id).first()
        if session is None:
            raise SessionNotFound(session_id)
        if session.is_ended:
            raise SessionEnded(session_id)
        return Target(session_id=session_id, is_new=False)
    hashes = chain_hashes(messages)
    # A shared system prompt alone does not make two conversations one.
    first_counted = next(
        (n for n, m in enumerate(messages) if m.get("role") not in ("system", "developer")), len(hashes)
    )
    found = _open_sessions_holding(owner.pk, hashes[first_counted:])
    for chain_hash in reversed(hashes[first_counted:]):
        if chain_hash in found:
            return Target(session_id=found[chain_hash], is_new=False)
    return Target(session_id=new_session_id(), is_new=True)


def _open_sessions_holding(owner_id: int, hashes: list[str]) -> dict[str, str]:
    """{chain hash: session id} for the owner's open sessions holding those prefixes. In SQL: this runs
    before every forwarded call, and building the query through the ORM took longer than running it."""
    if not hashes:
        return {}
    placeholders = ", ".join(["%s"] * len(hashes))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.chain_hash, s.session_id FROM {CapturedPrefix._meta.db_table} p"
            f" JOIN {ChatSession._meta.db_table} s ON s.id = p.session_id"
            f" WHERE p.owner_id = %s AND p.chain_hash IN ({placeholders}) AND s.ended_at IS NULL",
            [owner_id, *hashes],
        )
        return dict(cursor.fetchall())


# Writing the call down.


@dataclass(frozen=True)
class Exchange:
    """One proxied call: its request, and its reply or the upstream's error."""

    owner: object
    target: Target
    request: dict  # the client's request body
    reply: Reply | None = None
    error: dict | None = None  # {"status", "body"} of an upstream error
    cut_off_by: str | None = None  # "client" or "upstream" when a stream ended early


def record_exchange(exchange: Exchange) -> ChatSession:
    """Store the request's messages the session lacks, then the reply (or note the error), and index them.

    1. Open the target session (creating it when new) and keep the request's tools on it.
    2. Find how much of the request's conversation it holds already (the longest recorded prefix).
    3. Append the rest and the reply: after the active branch's leaf when the match is that leaf, else
       after the matched message (an edit or a regeneration: a branch, which becomes the active one).
    4. Index the stored messages' prefixes, so the next request of this conversation finds them.
    """
    messages = exchange.request["messages"]
    hashes = chain_hashes(messages)
    reply_message = _reply_message(exchange)
    with transaction.atomic():
        session = _open_session(exchange)
        matched = _NOTHING_MATCHED if exchange.target.is_new else _longest_recorded_prefix(session, hashes)
        fresh = [to_new_message(m) for m in messages[matched.length :]]
        fresh_hashes = hashes[matched.length :]
        if reply_message is not None:
            fresh.append(reply_message)
            fresh_hashes += chain_hashes([exchange.reply.as_message()], after=hashes[-1] if hashes else "")
        if fresh and matched.seq is not None and matched.seq != session.current_seq:
            fresh[0] = replace(fresh[0], parent_seq=matched.seq)
        stored = _append(session, fresh) if fresh else []
        CapturedPrefix.objects.bulk_create(
            [CapturedPrefix(owner=exchange.owner, session=session, chain_hash=chain_hash, seq=row.seq)
             for chain_hash, row in zip(fresh_hashes, stored)],
            ignore_conflicts=True,  # a prefix already recorded (in another session) keeps its first home
        )  # fmt: skip
        if exchange.error is not None:
            _note_error(session, exchange.error, after_seq=stored[-1].seq if stored else matched.seq or 0)
    return session


def _append(session: ChatSession, messages: list[NewMessage]) -> list[Message]:
    """Append `messages`; a tool result answering no call the session holds on its branch (a client that
    trimmed its history, a session named by header) is still recorded, its tool_call_id in metadata."""
    try:  # append_messages's own transaction is a savepoint here: a refusal leaves nothing behind
        return services.append_messages(session=session, messages=messages).messages
    except ValidationError as error:
        if "tool_call_id" not in getattr(error, "error_dict", {}):
            raise
    unlinked = [
        replace(m, tool_call_id="", metadata={**m.metadata, "tool_call_id": m.tool_call_id}) if m.tool_call_id else m
        for m in messages
    ]
    return services.append_messages(session=session, messages=unlinked).messages


@dataclass(frozen=True)
class _Match:
    length: int  # how many of the request's messages the session holds
    seq: int | None  # the seq of the last of them


_NOTHING_MATCHED = _Match(length=0, seq=None)


def _longest_recorded_prefix(session: ChatSession, hashes: list[str]) -> _Match:
    seqs = dict(
        CapturedPrefix.objects.filter(owner_id=session.owner_id, session=session, chain_hash__in=hashes).values_list(
            "chain_hash", "seq"
        )
    )
    for length in range(len(hashes), 0, -1):
        if hashes[length - 1] in seqs:
            return _Match(length=length, seq=seqs[hashes[length - 1]])
    return _NOTHING_MATCHED


def _open_session(exchange: Exchange) -> ChatSession:
    target, request = exchange.target, exchange.request
    tools = _tools_of(request)
    if target.is_new:
        return services.start_session(
            owner=exchange.owner, title=title_of(request["messages"]), metadata={"source": "capture"}, tools=tools,
            session_id=target.session_id,
        )  # fmt: skip
    session = ChatSession.objects.select_for_update().get(session_id=target.session_id, owner=exchange.owner)
    if tools is not None and tools != session.tools:
        session = services.update_session(session=session, tools=tools)
    return session


def _tools_of(request: dict) -> list | None:
    """The request's tools list, when it is one (of objects); what the upstream refused is not kept."""
    tools = request.get("tools")
    if isinstance(tools, list) and tools and all(isinstance(tool, dict) for tool in tools):
        return tools
    return None


def _reply_message(exchange: Exchange) -> NewMessage | None:
    reply = exchange.reply
    if reply is None:
        return None
    if exchange.cut_off_by and not (reply.content or reply.tool_calls or reply.reasoning):
        return None  # a stream cut off before any of the reply arrived leaves no message
    metadata = {
        "model": reply.model,
        "usage": reply.usage,
        "latency_ms": reply.latency_ms,
        "finish_reason": reply.finish_reason,
        "params": {name: value for name, value in exchange.request.items() if name not in NOT_PARAMS},
    }
    if reply.ttft_ms is not None:
        metadata["ttft_ms"] = reply.ttft_ms
    if exchange.cut_off_by:
        metadata["cut_off"] = True
        metadata["cut_off_by"] = exchange.cut_off_by
    return to_new_message(reply.as_message(), metadata=metadata)


def _note_error(session: ChatSession, error: dict, *, after_seq: int) -> None:
    """An upstream error is listed in the session's metadata under capture_errors (never a message, so
    it is never exported as an example), with the seq of the request's last message."""
    noted = {
        "status": error["status"],
        "body": error["body"][:ERROR_BODY_MAX_CHARS],
        "after_seq": after_seq,
        "at": timezone.now().isoformat(),
    }
    errors = [*session.metadata.get("capture_errors", []), noted][-ERRORS_KEPT:]
    services.update_session(session=session, metadata={**session.metadata, "capture_errors": errors})
