"""Reading other tools' chat exports (and our own archive and JSONL) into conversations to store.

Parsers only read: they check the whole file and raise ImportFileError naming where it broke before
anything is written. services.import_sessions stores what they return.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from sessions_app.models import Role
from sessions_app.services import NewMessage

from .formats.base import digest
from .formats.markdown import fenced

MAX_TITLE = 200
MAX_MESSAGE_ID = 64


class ImportFileError(ValueError):
    """The input file is malformed; the message says where."""


@dataclass
class IncomingConversation:
    external_id: str
    title: str = ""
    system_prompt: str = ""
    metadata: dict = field(default_factory=dict)
    started_at: datetime | None = None
    messages: list[NewMessage] = field(default_factory=list)
    # Only an archive restores these exactly.
    session_id: str | None = None
    owner: str | None = None
    mode: str | None = None
    updated_at: datetime | None = None
    ended_at: datetime | None = None
    feedback: dict[int, dict] = field(default_factory=dict)  # seq -> MessageFeedback fields


def load_json(path: Path):
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise ImportFileError(
            f"{path}: not valid JSON at line {error.lineno}, column {error.colno} (character {error.pos}): {error.msg}"
        ) from None


def title_from(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return first_line[:80]


def from_timestamp(value) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def from_iso(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def short_id(value: str) -> str:
    return value if len(value) <= MAX_MESSAGE_ID else digest(value).hex()


# ChatGPT ------------------------------------------------------------------------------------------

# Content ChatGPT keeps out of the visible conversation: custom instructions, memory, hidden reasoning.
CHATGPT_HIDDEN_CONTENT = {"user_editable_context", "model_editable_context", "thoughts", "reasoning_recap"}
ASSET_PLACEHOLDERS = {
    "image_asset_pointer": "[image]",
    "audio_asset_pointer": "[audio]",
    "real_time_user_audio_video_asset_pointer": "[audio/video]",
    "audio_transcription": None,  # carries its own text
    "video_container_asset_pointer": "[video]",
}


def chatgpt_part(part) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, dict):
        kind = part.get("content_type", "")
        if kind == "audio_transcription" and isinstance(part.get("text"), str):
            return part["text"]
        return ASSET_PLACEHOLDERS.get(kind) or f"[{kind or 'attachment'}]"
    return ""


def chatgpt_text(content: dict) -> str:
    """The visible text of one ChatGPT message's content ('' when there is none to keep)."""
    kind = content.get("content_type")
    if kind in CHATGPT_HIDDEN_CONTENT:
        return ""
    if kind == "code":
        code = content.get("text") or ""
        language = content.get("language") or ""
        return fenced(code, "" if language == "unknown" else language) if code else ""
    if kind == "tether_browsing_display":
        return content.get("result") or content.get("summary") or ""
    if kind == "tether_quote":
        return "\n\n".join(text for text in (content.get("title"), content.get("text")) if isinstance(text, str) and text)
    parts = content.get("parts")
    if isinstance(parts, list):
        return "\n".join(text for text in (chatgpt_part(part) for part in parts) if text)
    if isinstance(content.get("text"), str):
        return content["text"]
    return f"[{kind} content]" if kind else ""


def chatgpt_branch(conversation: dict, where: str) -> list[dict]:
    """The nodes from the root to `current_node`: the branch the user last saw, without edited-away ones."""
    mapping = conversation.get("mapping")
    if not isinstance(mapping, dict):
        raise ImportFileError(f"{where}: no 'mapping' of messages")
    node_id = conversation.get("current_node")
    if node_id not in mapping:
        raise ImportFileError(f"{where}: current_node {node_id!r} is not in its mapping")
    branch, seen = [], set()
    while node_id is not None:
        if node_id in seen:
            raise ImportFileError(f"{where}: the parents of node {node_id!r} loop")
        seen.add(node_id)
        node = mapping.get(node_id)
        if not isinstance(node, dict):
            raise ImportFileError(f"{where}: node {node_id!r} is missing from its mapping")
        branch.append(node)
        node_id = node.get("parent")
    return branch[::-1]


def conversations_in(path: Path):
    """(where, conversation) for each entry of an export's top-level list, `where` naming it in errors."""
    data = load_json(path)
    if not isinstance(data, list):
        raise ImportFileError(f"{path}: expected a list of conversations at the top level")
    for index, conversation in enumerate(data):
        yield f"{path}: conversation {index}", conversation


def parse_chatgpt(path: Path) -> list[IncomingConversation]:
    """ChatGPT's conversations.json: a list of conversations, each a tree of nodes under `mapping`."""
    conversations = []
    for where, conversation in conversations_in(path):
        if not isinstance(conversation, dict):
            raise ImportFileError(f"{where}: not an object")
        external_id = conversation.get("conversation_id") or conversation.get("id")
        if not isinstance(external_id, str) or not external_id:
            raise ImportFileError(f"{where}: no conversation id")
        started_at = from_timestamp(conversation.get("create_time"))
        # A message without a time takes the one before it: order is kept and no time is invented.
        last_time = started_at or from_timestamp(conversation.get("update_time"))
        messages = []
        for node in chatgpt_branch(conversation, where):
            message = node.get("message")
            if not isinstance(message, dict):
                continue  # the root holds no message
            role = (message.get("author") or {}).get("role")
            metadata = message.get("metadata") or {}
            content = message.get("content") or {}
            if role not in ("user", "assistant", "tool") or metadata.get("is_visually_hidden_from_conversation"):
                continue  # system scaffolding
            if not isinstance(content, dict):
                raise ImportFileError(f"{where}: message {message.get('id')!r} has no content object")
            text = chatgpt_text(content)
            if not text.strip():
                continue
            last_time = from_timestamp(message.get("create_time")) or last_time
            kept = {"source": "chatgpt"}
            if metadata.get("model_slug"):
                kept["model"] = metadata["model_slug"]
            if role == "tool" and (message.get("author") or {}).get("name"):
                kept["tools"] = [message["author"]["name"]]
            messages.append(
                NewMessage(role=role, content=text, metadata=kept, message_id=short_id(str(message.get("id") or node.get("id"))), created_at=last_time)
            )
        conversations.append(
            IncomingConversation(
                external_id=external_id,
                title=(conversation.get("title") or "")[:MAX_TITLE],
                metadata={"source": "chatgpt", "conversation_id": external_id},
                started_at=started_at or (messages[0].created_at if messages else None),
                messages=messages,
            )
        )
    return conversations


# Claude -------------------------------------------------------------------------------------------

CLAUDE_SENDERS = {"human": "user", "assistant": "assistant"}


def claude_text(message: dict) -> str:
    blocks = message.get("content")
    pieces = []
    if isinstance(blocks, list) and blocks:
        for block in blocks:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and isinstance(block.get("text"), str):
                pieces.append(block["text"])
            elif kind == "tool_use":
                pieces.append(f"[tool use: {block.get('name', 'tool')}]")
            elif kind == "image":
                pieces.append("[image]")
            # thinking, tool_result and other blocks are not part of the visible conversation
    elif isinstance(message.get("text"), str):
        pieces.append(message["text"])
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict):
            pieces.append(f"[attachment: {attachment.get('file_name', 'file')}]")
    for attached in message.get("files") or []:
        if isinstance(attached, dict):
            pieces.append(f"[file: {attached.get('file_name', 'file')}]")
    return "\n\n".join(piece for piece in pieces if piece)


def parse_claude(path: Path) -> list[IncomingConversation]:
    """Claude.ai's conversations.json: a list of conversations with `uuid`, `name` and `chat_messages`."""
    conversations = []
    for where, conversation in conversations_in(path):
        if not isinstance(conversation, dict) or not isinstance(conversation.get("uuid"), str):
            raise ImportFileError(f"{where}: no 'uuid'")
        chat_messages = conversation.get("chat_messages")
        if not isinstance(chat_messages, list):
            raise ImportFileError(f"{where}: no 'chat_messages' list")
        started_at = from_iso(conversation.get("created_at"))
        last_time = started_at
        messages = []
        for position, message in enumerate(chat_messages):
            if not isinstance(message, dict) or message.get("sender") not in CLAUDE_SENDERS:
                raise ImportFileError(f"{where}, message {position}: sender must be 'human' or 'assistant'")
            text = claude_text(message)
            if not text.strip():
                continue
            last_time = from_iso(message.get("created_at")) or last_time
            message_id = message.get("uuid")
            messages.append(
                NewMessage(
                    role=CLAUDE_SENDERS[message["sender"]],
                    content=text,
                    metadata={"source": "claude"},
                    message_id=short_id(message_id) if isinstance(message_id, str) and message_id else None,
                    created_at=last_time,
                )
            )
        conversations.append(
            IncomingConversation(
                external_id=conversation["uuid"],
                title=(conversation.get("name") or "")[:MAX_TITLE],
                metadata={"source": "claude", "conversation_id": conversation["uuid"]},
                started_at=started_at or (messages[0].created_at if messages else None),
                messages=messages,
            )
        )
    return conversations


# Our own OpenAI-format JSONL ----------------------------------------------------------------------


def openai_content(content, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "\n".join(
            part["text"] if isinstance(part, dict) and part.get("type") == "text" else f"[{part.get('type', 'part') if isinstance(part, dict) else 'part'}]"
            for part in content
        )
    raise ImportFileError(f"{where}: content must be text")


def parse_jsonl(path: Path) -> list[IncomingConversation]:
    """OpenAI chat fine-tuning lines, {"messages": [...]}, as export_sessions --format jsonl writes them."""
    conversations = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            where = f"{path}: line {number}"
            if not line.strip():
                continue
            try:
                example = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                raise ImportFileError(f"{where}: not valid JSON at column {error.colno}: {error.msg}") from None
            messages = example.get("messages") if isinstance(example, dict) else None
            if not isinstance(messages, list) or not messages:
                raise ImportFileError(f"{where}: expected an object with a 'messages' list")
            system_prompt = ""
            kept = []
            for position, message in enumerate(messages):
                if not isinstance(message, dict) or message.get("role") not in Role.values:
                    raise ImportFileError(f"{where}, message {position}: role must be one of {', '.join(Role.values)}")
                content = openai_content(message.get("content"), f"{where}, message {position}")
                if position == 0 and message["role"] == "system":
                    system_prompt = content
                else:
                    kept.append(NewMessage(role=message["role"], content=content))
            first_user = next((message.content for message in kept if message.role == "user"), "")
            conversations.append(
                IncomingConversation(
                    external_id=digest(orjson.dumps(messages, option=orjson.OPT_SORT_KEYS).decode()).hex(),
                    title=title_from(first_user),
                    system_prompt=system_prompt,
                    metadata={"source": "jsonl"},
                    messages=kept,
                )
            )
    return conversations
