"""ChatGPT's conversations.json: a list of conversations, each a tree of nodes under `mapping`.

Every node is kept with its parent (all branches); the active branch ends at `current_node`.
- An assistant message addressed to a tool (`recipient` is not "all") is a tool call: its id is the
  message's, its name the recipient (`browser`, `python`, `dalle.text2im`), its arguments the message's
  text or code as the exact string. The tool's answer (`author.role` "tool") is a tool message that
  answers the nearest call above it on its branch.
- `thoughts` and `reasoning_recap` are the `reasoning` of the assistant message that follows them; when
  no assistant message follows, they are an assistant message of their own with empty content.
- Images, audio and video (asset pointers) and `metadata.attachments` are content parts that keep the
  raw part as `raw`; a part of a type we do not know is {"type": "unknown", "raw": ...}.
- Citations stay in the message's metadata. Hidden scaffolding (system messages, custom instructions,
  the empty root) stays out: its children follow the nearest message kept above it.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import orjson

from sessions_app.services import NewMessage

from ..formats.markdown import fenced
from .base import (
    MAX_TITLE,
    IncomingConversation,
    InvalidConversation,
    each_conversation,
    from_timestamp,
    short_id,
    text_part,
    tree_order,
    unknown_part,
)

ROLES = ("user", "assistant", "tool")
# Custom instructions and memory: context ChatGPT adds, not part of the conversation.
CONTEXT_CONTENT = {"user_editable_context", "model_editable_context"}
REASONING_CONTENT = {"thoughts", "reasoning_recap"}
FILE_POINTERS = {"audio_asset_pointer", "real_time_user_audio_video_asset_pointer", "video_container_asset_pointer"}
# Metadata that says where an answer came from.
CITATION_KEYS = ("citations", "content_references")


@dataclass(frozen=True)
class Above:
    """What a node takes from the nodes above it on its branch."""

    parent: str | None = None  # message_id of the nearest message kept
    time: datetime | None = None  # the latest time seen: a message without one takes it
    reasoning: tuple[str, ...] = ()  # thoughts waiting for the next assistant message
    call: tuple[str, str] | None = None  # (id, name) of the tool call a tool message would answer


def parse_chatgpt(path: Path, on_progress=None):
    return each_conversation(path, chatgpt_conversation, ("conversation_id", "id"), on_progress)


def chatgpt_conversation(raw: dict, external_id: str) -> IncomingConversation:
    """One conversation: its nodes in tree order, then each node's message."""
    mapping = raw.get("mapping")
    if not isinstance(mapping, dict):
        raise InvalidConversation("no 'mapping' of messages")
    if raw.get("current_node") not in mapping:
        raise InvalidConversation(f"current_node {raw.get('current_node')!r} is not in its mapping")
    started_at = from_timestamp(raw.get("create_time"))
    conversation = IncomingConversation(
        external_id=external_id,
        title=(raw.get("title") or "")[:MAX_TITLE],
        metadata={"source": "chatgpt", "conversation_id": external_id},
        started_at=started_at,
        parents={},
    )
    kept_at = chatgpt_messages(mapping, conversation, Above(time=started_at or from_timestamp(raw.get("update_time"))))
    conversation.current = kept_at[raw["current_node"]]
    if conversation.started_at is None and conversation.messages:
        conversation.started_at = conversation.messages[0].created_at
    return conversation


def chatgpt_messages(mapping: dict, conversation: IncomingConversation, top: Above) -> dict[str, str | None]:
    """Append each node's message to `conversation`, parents first; return node id -> the message_id of
    the nearest message kept at or above it."""
    parents, children = {}, {}
    for node_id, node in mapping.items():
        if not isinstance(node, dict):
            raise InvalidConversation(f"node {node_id!r} is not an object")
        parents[node_id] = node.get("parent")
        children.setdefault(node.get("parent"), []).append(node)
    below, kept_at = {}, {}
    for node_id in tree_order(parents):
        above = below.get(parents[node_id], top)
        next_roles = {_role(child) for child in children.get(node_id, [])}
        message, unknown = chatgpt_node(node_id, mapping[node_id], above, next_roles)
        conversation.unknown_blocks += unknown
        if isinstance(message, NewMessage):
            conversation.messages.append(message)
            conversation.parents[message.message_id] = above.parent
            below[node_id] = _after(message, above)
        else:
            below[node_id] = message or above
        kept_at[node_id] = below[node_id].parent
    return kept_at


def _role(node) -> str | None:
    message = node.get("message") if isinstance(node, dict) else None
    author = message.get("author") if isinstance(message, dict) else None
    return author.get("role") if isinstance(author, dict) else None


def _after(message: NewMessage, above: Above) -> Above:
    """What the children of a kept message take from it."""
    call = above.call
    if message.tool_calls:
        call = (message.tool_calls[0]["id"], message.tool_calls[0]["function"]["name"])
    elif message.role != "tool":
        call = None  # a user turn or a plain answer ends the tool exchange
    return Above(parent=message.message_id, time=message.created_at, call=call)


def chatgpt_node(node_id: str, node: dict, above: Above, next_roles: set) -> tuple[NewMessage | Above | None, int]:
    """The message a node holds, or what its children take instead (None: the same as from above),
    and the number of unknown blocks in it."""
    message = node.get("message")
    if message is None:
        return None, 0  # the root holds no message
    if not isinstance(message, dict) or not isinstance(message.get("content"), dict):
        raise InvalidConversation(f"message {node_id!r} has no content object")
    author = message.get("author") if isinstance(message.get("author"), dict) else {}
    metadata = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
    content = message["content"]
    kind = content.get("content_type")
    if author.get("role") not in ROLES or metadata.get("is_visually_hidden_from_conversation") or kind in CONTEXT_CONTENT:
        return None, 0
    time = from_timestamp(message.get("create_time")) or above.time
    if kind in REASONING_CONTENT:
        reasoning = above.reasoning + tuple(reasoning_texts(content))
        if next_roles and next_roles <= {"assistant"}:
            return replace(above, time=time, reasoning=reasoning), 0
        # Nothing to attach it to: the thinking is a message of its own.
        return _new_message(node_id, "assistant", "", None, replace(above, reasoning=reasoning), time, metadata), 0
    text, parts, unknown = chatgpt_content(content)
    attached = attachment_parts(metadata)
    if parts is None and attached:
        parts = [text_part(text)] if text else []
    parts = (parts or []) + attached
    return _kept(node_id, author, message.get("recipient"), content, text, parts, above, time, metadata), unknown


def _kept(node_id, author, recipient, content, text, parts, above: Above, time, metadata) -> NewMessage | None:
    role = author["role"]
    if role == "assistant" and recipient not in (None, "all"):
        call = {"id": short_id(node_id), "type": "function", "function": {"name": recipient, "arguments": call_arguments(content)}}
        return _new_message(node_id, role, "", None, above, time, metadata, tool_calls=[call])
    if not text.strip() and not any(part.get("type") != "text" for part in parts):
        return None  # an empty turn: nothing to keep
    name = (author.get("name") or (above.call[1] if above.call else "")) if role == "tool" else ""
    tool_call_id = above.call[0] if role == "tool" and above.call else ""
    return _new_message(node_id, role, text, parts or None, above, time, metadata, name=name, tool_call_id=tool_call_id)


def _new_message(node_id, role, text, parts, above: Above, time, metadata, **fields) -> NewMessage:
    kept = {"source": "chatgpt"}
    if metadata.get("model_slug"):
        kept["model"] = metadata["model_slug"]
    if fields.get("name"):
        kept["tools"] = [fields["name"]]
    kept.update({key: metadata[key] for key in CITATION_KEYS if metadata.get(key)})
    reasoning = "\n\n".join(above.reasoning) if role == "assistant" and above.reasoning else None
    return NewMessage(
        role=role,
        content=text if parts is None else "\n".join(part["text"] for part in parts if part.get("type") == "text"),
        parts=parts,
        reasoning=reasoning,
        metadata=kept,
        message_id=short_id(node_id),
        created_at=time,
        **fields,
    )


def reasoning_texts(content: dict) -> list[str]:
    if content.get("content_type") == "reasoning_recap":
        return [content["content"]] if isinstance(content.get("content"), str) and content["content"] else []
    texts = []
    for thought in content.get("thoughts") or []:
        if isinstance(thought, dict):
            texts.append("\n\n".join(text for text in (thought.get("summary"), thought.get("content")) if isinstance(text, str) and text))
    return [text for text in texts if text]


def call_arguments(content: dict) -> str:
    """A tool call's arguments as ChatGPT wrote them: the code or text, or the content's JSON when it has neither."""
    if isinstance(content.get("text"), str):
        return content["text"]
    parts = content.get("parts")
    if isinstance(parts, list) and all(isinstance(part, str) for part in parts):
        return "\n".join(parts)
    return orjson.dumps(content).decode()


def chatgpt_content(content: dict) -> tuple[str, list | None, int]:
    """(text, content parts or None when the text says it all, unknown blocks) of one message."""
    kind = content.get("content_type")
    if kind == "code":
        code, language = content.get("text") or "", content.get("language") or ""
        return (fenced(code, "" if language == "unknown" else language) if code else ""), None, 0
    if kind == "tether_browsing_display":
        return content.get("result") or content.get("summary") or "", None, 0
    if kind == "tether_quote":
        return "\n\n".join(text for text in (content.get("title"), content.get("text")) if isinstance(text, str) and text), None, 0
    parts = content.get("parts")
    if isinstance(parts, list):
        if all(isinstance(part, str) for part in parts):
            return "\n".join(part for part in parts if part), None, 0
        converted = [chatgpt_part(part) for part in parts]
        return "", converted, sum(part["type"] == "unknown" for part in converted)
    if isinstance(content.get("text"), str):  # execution_output, system_error, ...
        return content["text"], None, 0
    return "", [unknown_part(content)], 1


def chatgpt_part(part) -> dict:
    if isinstance(part, str):
        return text_part(part)
    kind = part.get("content_type") if isinstance(part, dict) else None
    if kind == "image_asset_pointer":
        return {"type": "image_url", "image_url": {"url": str(part.get("asset_pointer") or "")}, "raw": part}
    if kind in FILE_POINTERS:
        return {"type": "file", "file": {"file_id": str(part.get("asset_pointer") or "")}, "raw": part}
    if kind == "audio_transcription" and isinstance(part.get("text"), str):
        return {"type": "text", "text": part["text"], "raw": part}
    return unknown_part(part)


def attachment_parts(metadata: dict) -> list[dict]:
    """The files attached to a message (their metadata: the export does not hold their data)."""
    parts = []
    for attachment in metadata.get("attachments") or []:
        if isinstance(attachment, dict):
            file = {key: str(attachment[field]) for key, field in (("file_id", "id"), ("filename", "name")) if attachment.get(field)}
            parts.append({"type": "file", "file": file, "raw": attachment})
    return parts
