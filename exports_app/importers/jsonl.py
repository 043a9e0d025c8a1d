"""Our own OpenAI-format JSONL, {"messages": [...], "tools": [...]} a line, as export_sessions --format jsonl
writes it: content parts, tool calls and tool messages are kept. Each line is a conversation of its own."""

from collections.abc import Iterator
from pathlib import Path

import orjson

from sessions_app.models import Role
from sessions_app.services import NewMessage

from ..formats.base import digest
from .base import IncomingConversation, InvalidConversation, SkippedConversation, title_from


def parse_jsonl(path: Path, on_progress=None) -> Iterator[IncomingConversation | SkippedConversation]:
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if on_progress:
                on_progress(len(line))
            if not line.strip():
                continue
            try:
                yield jsonl_conversation(line)
            except InvalidConversation as error:
                yield SkippedConversation(where=f"line {number}", external_id=None, reason=str(error))


def jsonl_conversation(line: bytes) -> IncomingConversation:
    try:
        example = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise InvalidConversation(f"not valid JSON at column {error.colno}: {error.msg}") from None
    messages = example.get("messages") if isinstance(example, dict) else None
    if not isinstance(messages, list) or not messages:
        raise InvalidConversation("expected an object with a 'messages' list")
    system_prompt = ""
    kept = []
    for position, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in Role.values:
            raise InvalidConversation(f"message {position}: role must be one of {', '.join(Role.values)}")
        text, parts = openai_content(message.get("content"), position)
        if position == 0 and message["role"] == "system" and parts is None:
            system_prompt = text
        else:
            kept.append(openai_message(message, text, parts))
    first_user = next((message.content for message in kept if message.role == "user"), "")
    tools = example.get("tools")
    return IncomingConversation(
        external_id=digest(orjson.dumps(messages, option=orjson.OPT_SORT_KEYS).decode()).hex(),
        title=title_from(first_user),
        system_prompt=system_prompt,
        metadata={"source": "jsonl"},
        tools=tools if isinstance(tools, list) and tools else None,
        messages=kept,
    )


def openai_message(message: dict, text: str, parts: list | None) -> NewMessage:
    tool_calls = message.get("tool_calls") if message["role"] == Role.ASSISTANT else None
    return NewMessage(
        role=message["role"],
        content=text,
        parts=parts,
        tool_calls=tool_calls if isinstance(tool_calls, list) and tool_calls else None,
        tool_call_id=str(message.get("tool_call_id") or ""),
        name=str(message.get("name") or ""),
    )


def openai_content(content, position: int) -> tuple[str, list | None]:
    if isinstance(content, str):
        return content, None
    if content is None:
        return "", None  # an assistant message that only calls tools
    if isinstance(content, list) and all(isinstance(part, dict) and isinstance(part.get("type"), str) for part in content):
        return "\n".join(part["text"] for part in content if part["type"] == "text" and isinstance(part.get("text"), str)), content
    raise InvalidConversation(f"message {position}: content must be text or a list of content parts")
