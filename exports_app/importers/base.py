"""What every importer shares: the conversation to store, the streamed reading of a JSON export, and
the small converters of times and ids."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import ijson
import orjson

from sessions_app.services import NewMessage

from ..formats.base import digest

MAX_TITLE = 200
MAX_MESSAGE_ID = 64
UTF8_BOM = b"\xef\xbb\xbf"
# Bytes handed to the JSON parser per read: the progress bar moves this often.
READ_CHUNK_BYTES = 256 * 1024


class ImportFileError(ValueError):
    """The input file cannot be read as a whole (not JSON, wrong shape); the message says where."""


class InvalidConversation(ValueError):
    """One conversation of an export is malformed; the message says why. The others can still be imported."""


@dataclass
class IncomingConversation:
    external_id: str
    title: str = ""
    system_prompt: str = ""
    metadata: dict = field(default_factory=dict)
    tools: list | None = None
    started_at: datetime | None = None
    messages: list[NewMessage] = field(default_factory=list)
    # A conversation tree (ChatGPT, Claude): message_id -> its parent's message_id (None for a root),
    # with every message after its parent in `messages`, and the message_id of the active leaf.
    # None for a conversation whose messages carry their own parent_seq (archive) or follow each other.
    parents: dict[str, str | None] | None = None
    current: str | None = None
    unknown_blocks: int = 0  # blocks of a type we do not know, kept as {"type": "unknown", "raw": ...}
    # Only an archive restores these exactly.
    session_id: str | None = None
    owner: str | None = None
    mode: str | None = None
    updated_at: datetime | None = None
    ended_at: datetime | None = None
    current_seq: int | None = None
    feedback: dict[int, dict] = field(default_factory=dict)  # seq -> MessageFeedback fields


@dataclass(frozen=True)
class SkippedConversation:
    """A conversation of the export that cannot be imported: where it is, its id if it has one, and why."""

    where: str  # "conversation 3" (from 0, in file order) or "line 7"
    external_id: str | None
    reason: str

    def __str__(self) -> str:
        named = f" ({self.external_id})" if self.external_id else ""
        return f"{self.where}{named}: {self.reason}"


def load_json(path: Path):
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise ImportFileError(
            f"{path}: not valid JSON at line {error.lineno}, column {error.colno} (character {error.pos}): {error.msg}"
        ) from None


class _Reader:
    """The export file as the JSON parser reads it: without a leading BOM, counting bytes and lines read."""

    def __init__(self, handle, head: bytes, on_progress: Callable[[int], None] | None):
        self.handle, self.head, self.on_progress = handle, head, on_progress
        self.lines = 1

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson asks for nothing first, to learn whether the file gives bytes or text
        if self.head:
            chunk, self.head = self.head, b""
        else:
            chunk = self.handle.read(size if size and size > 0 else READ_CHUNK_BYTES)
        self.lines += chunk.count(b"\n")
        if self.on_progress and chunk:
            self.on_progress(len(chunk))
        return chunk


def stream_conversations(path: Path, on_progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, object]]:
    """(position, conversation) for each entry of a top-level list, or the one top-level object, read
    as a stream so that a large export never sits in memory whole. A leading UTF-8 BOM is skipped."""
    with open(path, "rb") as handle:
        head = handle.read(READ_CHUNK_BYTES)
        if on_progress and head.startswith(UTF8_BOM):
            on_progress(len(UTF8_BOM))
        head = head.removeprefix(UTF8_BOM)
        first = head.lstrip()[:1]
        if first not in (b"[", b"{"):
            raise ImportFileError(f"{path}: expected a list of conversations, or one conversation object, at the top level")
        reader = _Reader(handle, head, on_progress)
        position = 0
        try:
            for position, conversation in enumerate(ijson.items(reader, "item" if first == b"[" else "", use_float=True)):
                yield position, conversation
        except ijson.JSONError as error:
            raise ImportFileError(
                f"{path}: not valid JSON by line {reader.lines}, in or after conversation {position}: {error}"
            ) from None


def each_conversation(
    path: Path,
    convert: Callable[[dict, str], IncomingConversation],
    id_keys: tuple[str, ...],
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[IncomingConversation | SkippedConversation]:
    """`convert` applied to each conversation of the export at `path`; one that is malformed comes out
    as a SkippedConversation naming it, so the caller decides whether the rest goes in."""
    for position, raw in stream_conversations(path, on_progress):
        external_id = None
        if isinstance(raw, dict):
            external_id = next((raw[key] for key in id_keys if isinstance(raw.get(key), str) and raw[key]), None)
        try:
            if not isinstance(raw, dict):
                raise InvalidConversation("not an object")
            if external_id is None:
                raise InvalidConversation(f"no conversation id ({' or '.join(id_keys)})")
            yield convert(raw, external_id)
        except InvalidConversation as error:
            yield SkippedConversation(where=f"conversation {position}", external_id=external_id, reason=str(error))


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


def unknown_part(raw) -> dict:
    """A block of a type we do not know, kept whole so nothing is lost."""
    return {"type": "unknown", "raw": raw}


def text_part(text: str) -> dict:
    return {"type": "text", "text": text}


def tree_order(parents: dict[str, str | None]) -> list[str]:
    """The keys of `parents` with every parent before its children (depth first, siblings in the given
    order); InvalidConversation when a parent chain loops. A parent that is not a key makes a root."""
    children: dict[str | None, list[str]] = {}
    for key, parent in parents.items():
        children.setdefault(parent if parent in parents else None, []).append(key)
    ordered, stack = [], list(reversed(children.get(None, [])))
    while stack:
        key = stack.pop()
        ordered.append(key)
        stack.extend(reversed(children.get(key, [])))
    if len(ordered) < len(parents):
        looping = next(key for key in parents if key not in set(ordered))
        raise InvalidConversation(f"the parents of message {looping!r} loop")
    return ordered
