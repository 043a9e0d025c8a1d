"""Claude.ai's conversations.json: a list of conversations with `uuid`, `name`, `model` and `chat_messages`.

- The tree comes from `parent_message_uuid` (array order only when no message has one); the active
  branch ends at `current_leaf_message_uuid`, or at the last message of the array.
- One Claude message can hold text, `thinking`, `tool_use` and `tool_result` blocks in turn: it becomes
  an assistant message (text, reasoning, tool calls), then a tool message per result, then the next
  assistant message, and so on. The first keeps the message's uuid, the next ones `<uuid>#1`, `<uuid>#2`...
- A tool call's arguments are its `input` serialised once, compactly, and kept as that string.
- An attachment's extracted text is a `file` part, {"type": "file", "file": {"filename", "file_data":
  "data:text/plain;base64,..."}, "raw": <the attachment's other fields>}, so it is kept whole but is not
  part of `content`. Files without data keep their metadata in a `file` part the same way.
- A block of a type we do not know (or a text that is not a string) is {"type": "unknown", "raw": ...}.
"""

import base64
from dataclasses import replace
from pathlib import Path

import orjson

from sessions_app.services import NewMessage

from .base import (
    MAX_TITLE,
    IncomingConversation,
    InvalidConversation,
    each_conversation,
    from_iso,
    short_id,
    text_part,
    tree_order,
    unknown_part,
)

SENDERS = {"human": "user", "assistant": "assistant"}


def parse_claude(path: Path, on_progress=None):
    return each_conversation(path, claude_conversation, ("uuid",), on_progress)


def claude_conversation(raw: dict, external_id: str) -> IncomingConversation:
    """One conversation: its messages in tree order, each split into the messages it holds."""
    chat_messages = raw.get("chat_messages")
    if not isinstance(chat_messages, list):
        raise InvalidConversation("no 'chat_messages' list")
    metadata = {"source": "claude", "conversation_id": external_id}
    if isinstance(raw.get("model"), str) and raw["model"]:
        metadata["model"] = raw["model"]
    started_at = from_iso(raw.get("created_at"))
    conversation = IncomingConversation(
        external_id=external_id,
        title=(raw.get("name") or "")[:MAX_TITLE],
        metadata=metadata,
        started_at=started_at,
        parents={},
    )
    by_uuid, parents = claude_tree(chat_messages)
    last_kept, last_time = {None: None}, {None: started_at}
    for uuid in tree_order(parents):
        message, parent = by_uuid[uuid], parents[uuid]
        parent = parent if parent in by_uuid else None
        time = from_iso(message.get("created_at")) or last_time[parent]
        pieces, unknown = claude_messages(uuid, message, time)
        conversation.unknown_blocks += unknown
        above = last_kept[parent]
        for piece in pieces:
            conversation.messages.append(piece)
            conversation.parents[piece.message_id] = above
            above = piece.message_id
        last_kept[uuid], last_time[uuid] = above, time
    leaf = raw.get("current_leaf_message_uuid")
    conversation.current = last_kept[leaf if leaf in by_uuid else (next(reversed(by_uuid), None))]
    if conversation.started_at is None and conversation.messages:
        conversation.started_at = conversation.messages[0].created_at
    return conversation


def claude_tree(chat_messages: list) -> tuple[dict[str, dict], dict[str, str | None]]:
    """uuid -> message (in array order) and uuid -> parent uuid; array order makes the parents when
    no message names one."""
    by_uuid = {}
    for position, message in enumerate(chat_messages):
        if not isinstance(message, dict) or message.get("sender") not in SENDERS:
            raise InvalidConversation(f"message {position}: sender must be 'human' or 'assistant'")
        uuid = message.get("uuid") if isinstance(message.get("uuid"), str) and message["uuid"] else f"#{position}"
        if uuid in by_uuid:
            raise InvalidConversation(f"message {position}: uuid {uuid!r} appears twice")
        by_uuid[uuid] = message
    linked = any(isinstance(message.get("parent_message_uuid"), str) for message in chat_messages)
    order = list(by_uuid)
    parents = {
        uuid: (message.get("parent_message_uuid") if linked else (order[index - 1] if index else None))
        for index, (uuid, message) in enumerate(by_uuid.items())
    }
    return by_uuid, parents


class _Turn:
    """The assistant (or user) message being gathered from a Claude message's blocks."""

    def __init__(self):
        self.parts, self.reasoning, self.tool_calls, self.citations = [], [], [], []

    def is_empty(self) -> bool:
        has_text = any(part["type"] != "text" or part["text"].strip() for part in self.parts)
        return not (has_text or self.reasoning or self.tool_calls)


def claude_messages(uuid: str, message: dict, time) -> tuple[list[NewMessage], int]:
    """The messages one Claude message holds, in order, and the number of unknown blocks in it."""
    role = SENDERS[message["sender"]]
    blocks = message.get("content")
    if not isinstance(blocks, list) or not blocks:
        blocks = [{"type": "text", "text": message["text"]}] if isinstance(message.get("text"), str) else []
    pieces, turn, unknown, calls = [], _Turn(), 0, {}
    for index, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text" and isinstance(block.get("text"), str):
            turn.parts.append(text_part(block["text"]))
            turn.citations += block.get("citations") or []
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            turn.reasoning.append(block["thinking"])
        elif kind == "tool_use" and role == "assistant":
            call_id = str(block.get("id") or f"{short_id(uuid)}:{index}")
            calls[call_id] = str(block.get("name") or "")
            arguments = orjson.dumps(block.get("input", {})).decode()
            turn.tool_calls.append({"id": call_id, "type": "function", "function": {"name": calls[call_id], "arguments": arguments}})
        elif kind == "tool_result" and role == "assistant":
            pieces.append(turn)
            pieces.append(_tool_result(block, calls))
            turn = _Turn()
        elif kind == "image":
            turn.parts.append({"type": "image_url", "image_url": {"url": _image_url(block)}, "raw": block})
        else:
            turn.parts.append(unknown_part(block))
            unknown += 1
    turn.parts += attachment_parts(message)
    pieces.append(turn)
    kept = [piece for piece in pieces if not (isinstance(piece, _Turn) and piece.is_empty())]
    return [_new_message(piece, role, uuid, number, time) for number, piece in enumerate(kept)], unknown


def _tool_result(block: dict, calls: dict[str, str]) -> NewMessage:
    """The answer to a tool call: to the call it names, else the latest call of the same name."""
    call_id = block.get("tool_use_id")
    if call_id not in calls:
        named = [known for known, name in calls.items() if name == block.get("name")]
        call_id = named[-1] if named else (list(calls)[-1] if calls else "")
    content = block.get("content")
    if isinstance(content, str):
        content = [text_part(content)]
    parts = [part if isinstance(part, dict) and isinstance(part.get("type"), str) else unknown_part(part) for part in content or []]
    metadata = {"source": "claude", "is_error": True} if block.get("is_error") else {"source": "claude"}
    return NewMessage(
        role="tool",
        content="\n".join(part["text"] for part in parts if part["type"] == "text" and isinstance(part.get("text"), str)),
        parts=parts if any(part["type"] != "text" for part in parts) else None,
        tool_call_id=call_id,
        name=str(block.get("name") or calls.get(call_id, "")),
        metadata=metadata,
    )


def _new_message(piece, role: str, uuid: str, number: int, time) -> NewMessage:
    message_id = short_id(uuid if number == 0 else f"{uuid}#{number}")
    if isinstance(piece, NewMessage):  # a tool result
        return replace(piece, message_id=message_id, created_at=time)
    text = "\n".join(part["text"] for part in piece.parts if part["type"] == "text")
    metadata = {"source": "claude"}
    if piece.citations:
        metadata["citations"] = piece.citations
    return NewMessage(
        role=role,
        content=text,
        parts=piece.parts if any(part["type"] != "text" for part in piece.parts) else None,
        reasoning="\n\n".join(piece.reasoning) if piece.reasoning else None,
        tool_calls=piece.tool_calls or None,
        metadata=metadata,
        message_id=message_id,
        created_at=time,
    )


def _image_url(block: dict) -> str:
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    if source.get("type") == "base64" and isinstance(source.get("data"), str):
        return f"data:{source.get('media_type') or 'image/png'};base64,{source['data']}"
    return str(source.get("url") or block.get("file_uuid") or "")


def attachment_parts(message: dict) -> list[dict]:
    """Attachments (with their extracted text as the file's data) and files (metadata only)."""
    parts = []
    for attachment in message.get("attachments") or []:
        if not isinstance(attachment, dict):
            continue
        raw = {key: value for key, value in attachment.items() if key != "extracted_content"}
        file = {"filename": str(attachment.get("file_name") or "attachment")}
        if isinstance(attachment.get("extracted_content"), str):
            data = base64.b64encode(attachment["extracted_content"].encode()).decode()
            file["file_data"] = f"data:text/plain;base64,{data}"
        parts.append({"type": "file", "file": file, "raw": raw})
    for attached in message.get("files") or []:
        if isinstance(attached, dict):
            file = {key: str(attached[field]) for key, field in (("file_id", "file_uuid"), ("filename", "file_name")) if attached.get(field)}
            parts.append({"type": "file", "file": file, "raw": attached})
    return parts
