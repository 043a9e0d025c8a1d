"""What every export format shares: examples, skips, the system prompt and its tokens."""

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import orjson
from django.conf import settings

from sessions_app.tokens import count_tokens

from ..conversations import JSONText

# Message columns every format reads (field name -> Message lookup); formats add their own.
BASE_COLUMNS = {
    "seq": "seq",
    "parent_seq": "parent_seq",  # to follow the active branch
    "role": "role",
    "content": "content",
    "token_count": "token_count",
    "rating": "feedback__rating",
}
# What a message carries beyond its text, for formats that have a place for it.
TOOL_COLUMNS = {
    "tool_calls": JSONText("tool_calls"),
    "tool_call_id": "tool_call_id",
    "name": "name",
    "reasoning": "reasoning",
}


class Skip(Exception):
    """A conversation this format cannot turn into a valid example; the message is the reason counted."""


@dataclass(frozen=True, slots=True)
class Example:
    body: bytes
    identity: bytes  # equal for duplicate conversations
    split_key: str  # hashed to pick train or validation, so reruns agree
    message_count: int
    token_count: int  # the stored counts of its messages: nothing is tokenized at export time
    system_prompt: str = ""  # counted (once per distinct prompt) only for a --max-tokens cut


def json_line_example(payload: dict, *, conversation, message_count: int, token_count: int, system_prompt: str) -> Example:
    """`payload` as one JSON line, keyed for dedupe by its bytes and for the split by its session."""
    body = orjson.dumps(payload) + b"\n"
    return Example(
        body=body,
        identity=body_digest(body),
        split_key=conversation.session_id,
        message_count=message_count,
        token_count=token_count,
        system_prompt=system_prompt,
    )


def body_digest(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=16).digest()


def digest(*parts: str) -> bytes:
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        hasher.update(part.encode())
        hasher.update(b"\x00")
    return hasher.digest()


@lru_cache(maxsize=256)
def prompt_tokens(system_prompt: str) -> int:
    """Tokens of a system prompt, which is not a stored message; few distinct prompts, so cached.

    Only the --max-tokens cut needs it: loading the tokenizer costs ~2 s and ~40 MB.
    """
    return count_tokens(system_prompt)


def system_prompt_of(conversation) -> str:
    """The session's system prompt, else settings.NOVAFORGE["DEFAULT_SYSTEM_PROMPT"] (empty: none)."""
    return conversation.system_prompt or settings.NOVAFORGE.get("DEFAULT_SYSTEM_PROMPT", "")


def parsed_arguments(call: dict) -> dict:
    """A tool call's `arguments` string as the JSON object it holds; Skip when it holds none."""
    try:
        arguments = orjson.loads(call["function"]["arguments"] or "{}")
    except orjson.JSONDecodeError:
        raise Skip("tool-call arguments that are not JSON") from None
    if not isinstance(arguments, dict):
        raise Skip("tool-call arguments that are not a JSON object")
    return arguments


class Format:
    name: str
    extension: str
    content_type: str
    file_suffix = ""  # added to the default file name, e.g. "_dpo"
    label = ""  # a button on the conversation page when set (formats that need no ratings)
    columns = BASE_COLUMNS
    branches = "active"  # the messages each conversation gives the format: its active branch, or "all"
    dedupes = True  # duplicate conversations are written once unless asked otherwise (training files)

    def __init__(self, *, reasoning: bool = False):
        self.reasoning = reasoning  # include the model's thinking where the format has a place for it

    def header(self) -> bytes:
        return b""

    def examples(self, conversation):
        """The examples for one conversation; raises Skip with the reason when there are none."""
        raise NotImplementedError

    def leftovers(self) -> dict[str, int]:
        """Skip reasons known only at the end of the export (counts)."""
        return {}

    def empty_reason(self) -> str | None:
        """Why this export made no example, when the format knows more than the skip counts say."""
        return None
