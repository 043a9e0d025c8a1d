"""Every write to sessions and messages goes through these functions (API, admin, Python API, importers)."""

from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.core.exceptions import ValidationError
from django.db import connections, models, transaction
from django.utils import timezone

from . import blobs
from .models import ChatSession, Message, branch_seqs_sql
from .signals import messages_appended, session_ended
from .tokens import count_tokens


# A new message's parent when none is named: the session's current leaf (or the message before it in
# the same batch). None names no parent: the message starts a conversation of its own (an edited first turn).
AT_LEAF = "leaf"


@dataclass(frozen=True)
class NewMessage:
    """A message to append, already checked for shape (see serializers.MessageInputSerializer)."""

    role: str
    content: str  # the text; with `parts`, the text of its text parts
    metadata: dict = field(default_factory=dict)
    message_id: str | None = None
    created_at: datetime | None = None
    parent_seq: int | None | str = AT_LEAF
    parts: list | None = None  # OpenAI content parts as given
    tool_calls: list | None = None
    tool_call_id: str = ""
    name: str = ""
    reasoning: str | None = None


@dataclass(frozen=True)
class AppendResult:
    session: ChatSession
    messages: list[Message]  # the rows stored by this call, in seq order
    duplicates: int  # messages skipped because their message_id was already stored

    @property
    def saved(self) -> int:
        return len(self.messages)


def _mode_of(metadata) -> str:
    mode = metadata.get("mode") if isinstance(metadata, dict) else None
    return mode[:64] if isinstance(mode, str) else ""


def start_session(
    *,
    owner,
    title: str = "",
    system_prompt: str = "",
    metadata: dict | None = None,
    tools: list | None = None,
    started_at: datetime | None = None,
    session_id: str | None = None,
) -> ChatSession:
    """Create an open, empty session for `owner` (with a given `session_id` when restoring an archive)."""
    metadata = metadata or {}
    started_at = started_at or timezone.now()
    identity = {"session_id": session_id} if session_id else {}
    return ChatSession.objects.create(
        owner=owner,
        **identity,
        title=title,
        system_prompt=system_prompt,
        metadata=metadata,
        tools=tools,
        mode=_mode_of(metadata),
        started_at=started_at,
        updated_at=started_at,
    )


def update_session(*, session: ChatSession, **changes) -> ChatSession:
    """Change the title, system prompt, metadata or tools of `session`, or switch its active branch
    (current_seq); other fields are not editable."""
    check_session_changes(session=session, changes=changes)
    for name, value in changes.items():
        setattr(session, name, value)
    # Only the columns this change decides: the instance's counters and branch flag may be older than
    # the row (a caller that appended through another copy), and must not overwrite it.
    written = [*changes, "updated_at"]
    if "metadata" in changes and _mode_of(changes["metadata"]):
        session.mode = _mode_of(changes["metadata"])
        written.append("mode")
    if "current_seq" in changes and changes["current_seq"] != session.message_count:
        session.is_branched = True
        written.append("is_branched")
    session.updated_at = timezone.now()
    session.save(update_fields=written)
    return session


def check_session_changes(*, session: ChatSession, changes: dict) -> None:
    editable = {"title", "system_prompt", "metadata", "tools", "current_seq"}
    unknown = set(changes) - editable
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    leaf = changes.get("current_seq")
    if leaf is not None and not 1 <= leaf <= session.message_count:
        raise ValidationError({"current_seq": f"Session {session.session_id} has no message {leaf}."})


def append_messages(*, session: ChatSession, messages: Sequence[NewMessage], live: bool = True) -> AppendResult:
    """Store `messages` after the last one in `session`, durably; skip message_ids it already holds.

    `live=False` stores past history (an import): receivers of messages_appended are told so.

    1. Count tokens and prepare every column value but seq before taking any lock, so the lock (on
       SQLite, the whole database's) is held only for the writes.
    2. Lock the session row (on SQLite the IMMEDIATE transaction already holds the write lock), so
       concurrent writers get consecutive seq ranges, never the same seq and never a gap.
    3. Drop messages whose message_id is stored already (a retried request) or repeated in the batch.
    4. Insert the rest with one prepared statement and move the session's counters in one more.
    Messages without a message_id (the common single append) cannot be duplicates: for them one UPDATE
    takes the lock, moves the counters and returns them, and the seqs follow from what it returns.
    """
    batch = _prepare(session, messages)
    with transaction.atomic():
        return _store(session, batch, live=live)


@dataclass(frozen=True)
class _Batch:
    """Messages ready to store: tokens counted and every column value but seq prepared, without a lock."""

    rows: list[Message]
    values: list[list]  # each row's _column_values
    retry_keys: set[str]  # the message_ids given
    now: datetime
    # Every message follows the leaf and answers no tool call: the fast path needs no read first.
    at_leaf: bool
    blobs: dict[str, str]  # large part data to store once, by hash


def _prepare(session: ChatSession, messages: Sequence[NewMessage]) -> _Batch:
    now = timezone.now()
    candidates, new_blobs = [], {}
    for message in messages:
        parts, part_blobs, data = blobs.store_parts(message.parts) if message.parts else (None, None, {})
        new_blobs.update(data)
        row = Message(
            session=session,
            role=message.role,
            content=message.content,
            parts=parts,
            part_blobs=part_blobs,
            tool_calls=message.tool_calls,
            tool_call_id=message.tool_call_id,
            name=message.name,
            reasoning=message.reasoning,
            metadata=message.metadata,
            message_id=message.message_id or None,
            token_count=count_tokens(message.content) + _tool_call_tokens(message.tool_calls),
            created_at=message.created_at or now,
        )
        row.requested_parent = message.parent_seq
        candidates.append(row)
    retry_keys = {row.message_id for row in candidates if row.message_id}
    placed = all(row.requested_parent == AT_LEAF and not row.tool_call_id for row in candidates)
    return _Batch(
        rows=candidates,
        values=_column_values(candidates),
        retry_keys=retry_keys,
        now=now,
        at_leaf=placed,
        blobs=new_blobs,
    )


def _tool_call_tokens(tool_calls: list | None) -> int:
    """A call's name and arguments are tokens the model wrote, as much as its text."""
    if not tool_calls:
        return 0
    return sum(
        count_tokens(str(call.get("function", {}).get("name", ""))) + count_tokens(str(call.get("function", {}).get("arguments", "")))
        for call in tool_calls
        if isinstance(call, dict) and isinstance(call.get("function"), dict)
    )


def _store(session: ChatSession, batch: _Batch, *, live: bool = True) -> AppendResult:
    """Steps 2-4 of append_messages; runs inside the caller's transaction."""
    candidates, retry_keys, now = batch.rows, batch.retry_keys, batch.now
    claimed = _claim_seqs(session, candidates, now) if candidates and not retry_keys and batch.at_leaf else None
    if claimed:
        locked = claimed
        first_seq = locked.message_count - len(candidates) + 1
        leaf = first_seq - 1
    else:
        locked = _lock_counters(session)
        first_seq = locked.message_count + 1
        leaf = locked.current_seq
    seen = _stored_message_ids(locked, retry_keys) if retry_keys else set()
    rows, params = [], []
    for row, row_values in zip(candidates, batch.values):
        if row.message_id:
            if row.message_id in seen:
                continue
            seen.add(row.message_id)
        row.seq = row_values[_SEQ_INDEX] = first_seq + len(rows)
        row.parent_seq = row_values[_PARENT_INDEX] = _parent_of(row, leaf)
        leaf = row.seq
        _cache_session(row, locked)  # the stored rows point at the session as it now is
        _cache_feedback(row, None)  # and have no rating yet: reading one would be a query
        rows.append(row)
        params.append(row_values)
    if rows:
        _check_tool_call_ids(locked, rows)
        blobs.save(batch.blobs)
        _insert_messages(rows, params)
        if not claimed:
            locked.message_count += len(rows)
            locked.token_count += sum(row.token_count for row in rows)
            locked.updated_at = now
            locked.mode = locked.mode or _first_mode(rows)
            locked.current_seq = rows[-1].seq
            locked.is_branched = locked.is_branched or any(row.parent_seq != _linear_parent(row.seq) for row in rows)
            _store_counters(locked)
        messages_appended.send(sender=ChatSession, session=locked, messages=rows, live=live)
    return AppendResult(session=locked, messages=rows, duplicates=len(candidates) - len(rows))


def _linear_parent(seq: int) -> int | None:
    return seq - 1 if seq > 1 else None


def _parent_of(row: Message, leaf: int) -> int | None:
    """The parent `row` asked for, or the leaf; a ValidationError unless it is an earlier message."""
    requested = row.requested_parent
    if requested == AT_LEAF:
        return leaf or None
    if requested is not None and not 1 <= requested < row.seq:
        raise ValidationError(
            {"parent_seq": f"Message {row.seq} cannot follow {requested}: not an earlier message of this session."}
        )
    return requested


def _check_tool_call_ids(session: ChatSession, rows: list[Message]) -> None:
    """Each tool message answers a call made earlier on its own branch; a ValidationError names the id."""
    batch = {row.seq: row for row in rows}
    for row in rows:
        if not row.tool_call_id:
            continue
        offered, seq = set(), row.parent_seq
        while seq in batch:  # the new rows' part of the branch
            offered |= _call_ids(batch[seq].tool_calls)
            seq = batch[seq].parent_seq
        if row.tool_call_id not in offered and seq is not None:
            offered |= _stored_call_ids(session, seq)
        if row.tool_call_id not in offered:
            raise ValidationError(
                {"tool_call_id": f"{row.tool_call_id!r} answers no tool call made earlier in this branch."}
            )


def _call_ids(tool_calls) -> set[str]:
    return {call["id"] for call in tool_calls or () if isinstance(call, dict) and isinstance(call.get("id"), str)}


def _stored_call_ids(session: ChatSession, leaf_seq: int) -> set[str]:
    """The ids of the tool calls on the stored branch ending at `leaf_seq`, read along its parents."""
    connection = connections[Message.objects.db]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT tool_calls FROM ({branch_seqs_sql('tool_calls')}) AS calls WHERE tool_calls IS NOT NULL",
            [session.pk, leaf_seq, session.pk],
        )
        found = cursor.fetchall()
    field = Message._meta.get_field("tool_calls")
    ids = set()
    for (stored,) in found:
        ids |= _call_ids(field.from_db_value(stored, None, connection))
    return ids


def _first_mode(rows: list[Message]) -> str:
    return next((_mode_of(row.metadata) for row in rows if _mode_of(row.metadata)), "")


# The lock and the counters in SQL: compiling the ORM's get() and save() for them cost more Python per
# append than the database spends on the whole transaction (measured: ~0.6 of ~1.2 ms per message).
_SESSION_TABLE = ChatSession._meta.db_table
_LOCK_COUNTERS = f"""
    SELECT message_count, token_count, mode, ended_at IS NOT NULL, current_seq, is_branched
    FROM {_SESSION_TABLE} WHERE id = %s"""
_STORE_COUNTERS = f"""
    UPDATE {_SESSION_TABLE} SET message_count = %s, token_count = %s, mode = %s, updated_at = %s,
        current_seq = %s, is_branched = %s
    WHERE id = %s"""
_STORED_MESSAGE_IDS = f"SELECT message_id FROM {Message._meta.db_table} WHERE session_id = %s AND message_id IN "
# Only while the leaf is the newest message: the new ones then simply follow it. Otherwise (a branch is
# active, or the session has ended or is gone) no row is updated and the append takes the read path.
_CLAIM_SEQS = f"""
    UPDATE {_SESSION_TABLE} SET message_count = message_count + %s, token_count = token_count + %s,
        mode = CASE WHEN mode = '' THEN %s ELSE mode END, updated_at = %s, current_seq = message_count + %s
    WHERE id = %s AND ended_at IS NULL AND current_seq = message_count
    RETURNING message_count, token_count, mode, current_seq, is_branched"""


def _stored_message_ids(session: ChatSession, message_ids: set[str]) -> set[str]:
    """Which of `message_ids` `session` holds already (in SQL: the ORM's query cost ~0.2 ms to build)."""
    connection = connections[Message.objects.db]
    marks = ", ".join(["%s"] * len(message_ids))
    with connection.cursor() as cursor:
        cursor.execute(_STORED_MESSAGE_IDS + f"({marks})", [session.pk, *message_ids])
        return {message_id for (message_id,) in cursor.fetchall()}


def _lock_counters(session: ChatSession) -> ChatSession:
    """A copy of `session` with its counters as stored, the row locked until the transaction ends;
    a ValidationError if the session has ended."""
    connection = connections[ChatSession.objects.db]
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_COUNTERS + lock, [session.pk])
        stored = cursor.fetchone()
    if stored is None:
        raise ChatSession.DoesNotExist(f"Session {session.session_id} no longer exists.")
    message_count, token_count, mode, ended, current_seq, is_branched = stored
    if ended:
        raise ValidationError({"session_id": f"Session {session.session_id} has ended; start a new one."})
    locked = copy(session)
    locked.message_count, locked.token_count, locked.mode = message_count, token_count, mode
    locked.current_seq, locked.is_branched = current_seq, bool(is_branched)
    return locked


def _claim_seqs(session: ChatSession, rows: list[Message], now: datetime) -> ChatSession | None:
    """Lock `session` and add `rows` after its newest message in one statement; a copy of it as it now
    is, or None when that cannot be done without reading it first (see _CLAIM_SEQS)."""
    connection = connections[ChatSession.objects.db]
    tokens = sum(row.token_count for row in rows)
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SEQS,
            [len(rows), tokens, _first_mode(rows), connection.ops.adapt_datetimefield_value(now), len(rows), session.pk],
        )
        stored = cursor.fetchone()
    if stored is None:
        return None
    locked = copy(session)
    locked.message_count, locked.token_count, locked.mode, locked.current_seq, is_branched = stored
    locked.is_branched = bool(is_branched)
    locked.updated_at = now
    return locked


def _store_counters(session: ChatSession) -> None:
    connection = connections[ChatSession.objects.db]
    updated_at = connection.ops.adapt_datetimefield_value(session.updated_at)
    with connection.cursor() as cursor:
        cursor.execute(
            _STORE_COUNTERS,
            [
                session.message_count,
                session.token_count,
                session.mode,
                updated_at,
                session.current_seq,
                session.is_branched,
                session.pk,
            ],
        )


def _adapter(field, connection):
    """How a value of `field` is prepared for the driver: text, integers and foreign keys as they are;
    datetimes through the field, each distinct value once (a batch mostly shares one created_at);
    anything else (JSON) through the field every time."""
    if isinstance(field, (models.CharField, models.TextField, models.IntegerField, models.ForeignKey)):
        return None
    if isinstance(field, models.DateTimeField):
        prepared = {}

        def adapt(value):
            if value not in prepared:
                prepared[value] = field.get_db_prep_save(value, connection)
            return prepared[value]

        return adapt
    return partial(field.get_db_prep_save, connection=connection)


# What `message.session = ...` does for an instance already known to be the right row, without the
# descriptor's checks (a measurable part of building 1,000 rows).
_cache_session = Message.session.field.set_cached_value
_cache_feedback = Message.feedback.related.set_cached_value

# Every column of a message but its primary key, in INSERT order.
_MESSAGE_FIELDS = [field for field in Message._meta.concrete_fields if not field.primary_key]
_SEQ_INDEX = [field.name for field in _MESSAGE_FIELDS].index("seq")
_PARENT_INDEX = [field.name for field in _MESSAGE_FIELDS].index("parent_seq")


def _column_values(rows: list[Message]) -> list[list]:
    """Each row's values for the driver, in _MESSAGE_FIELDS order."""
    connection = connections[Message.objects.db]
    columns = [(field.attname, _adapter(field, connection)) for field in _MESSAGE_FIELDS]
    return [
        [getattr(row, name) if adapt is None else adapt(getattr(row, name)) for name, adapt in columns]
        for row in rows
    ]


def _insert_messages(rows: list[Message], params: list[list]) -> None:
    """Insert `rows` (all of one session, consecutive seqs; `params` their _column_values) and set their
    primary keys.

    bulk_create builds and compiles SQL for every ~110 rows (SQLite's 999-parameter limit) and
    prepares every value through its field: ~4x the time of the storage itself. One INSERT of every
    column, prepared once and run by executemany, stores the same values; the ids then come back in one
    indexed read of (session, seq).
    """
    connection = connections[Message.objects.db]
    meta = Message._meta
    quote = connection.ops.quote_name
    table, session, seq = quote(meta.db_table), quote(meta.get_field("session").column), quote(meta.get_field("seq").column)
    names = ", ".join(quote(field.column) for field in _MESSAGE_FIELDS)
    marks = ", ".join(["%s"] * len(_MESSAGE_FIELDS))
    insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"
    with connection.cursor() as cursor:
        if len(rows) == 1:  # the common single append: one statement, not two
            cursor.execute(f"{insert} RETURNING {quote(meta.pk.column)}", params[0])
        else:
            cursor.executemany(insert, params)
            cursor.execute(
                f"SELECT {quote(meta.pk.column)} FROM {table} WHERE {session} = %s AND {seq} >= %s ORDER BY {seq}",
                (rows[0].session_id, rows[0].seq),
            )
        for row, (pk,) in zip(rows, cursor.fetchall()):
            row.pk = pk
            row._state.adding = False
            row._state.db = connection.alias


def save_to_session(
    *, session: ChatSession, messages: Sequence[NewMessage], **changes
) -> AppendResult:
    """The seed's save: apply title/metadata changes and append `messages`, all or nothing."""
    batch = _prepare(session, messages)  # before the transaction, as append_messages does
    with transaction.atomic():
        if changes:
            session = update_session(session=session, **changes)
        return _store(session, batch)


def end_session(*, session: ChatSession) -> ChatSession:
    """Mark `session` ended (once; ending it again changes nothing)."""
    with transaction.atomic():
        locked = ChatSession.objects.select_for_update().get(pk=session.pk)
        if locked.ended_at is None:
            locked.ended_at = timezone.now()
            locked.save(update_fields=["ended_at"])
            session_ended.send(sender=ChatSession, session=locked)
    return locked


def delete_session(*, session: ChatSession) -> None:
    """Delete `session` with its messages and everything derived from them."""
    session.delete()
