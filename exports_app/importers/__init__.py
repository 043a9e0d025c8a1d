"""Reading other tools' chat exports (and our own archive and JSONL) into conversations to store.

Parsers only read, as a stream: each yields the conversations of a file one at a time, and a
SkippedConversation naming each one that is malformed. services.import_sessions stores what they yield.
"""

from .base import (
    ImportFileError,
    IncomingConversation,
    InvalidConversation,
    SkippedConversation,
    from_iso,
    load_json,
)
from .chatgpt import parse_chatgpt
from .claude import parse_claude
from .jsonl import parse_jsonl

__all__ = [
    "ImportFileError",
    "IncomingConversation",
    "InvalidConversation",
    "SkippedConversation",
    "from_iso",
    "load_json",
    "parse_chatgpt",
    "parse_claude",
    "parse_jsonl",
]
