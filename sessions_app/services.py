"""Every write to sessions and messages goes through these functions (API, admin, Python API, importers)."""

from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.core.exceptions import ValidationError
from django.db import connections, models, transaction
from django.utils import timezone

from .models import ChatSession, Message
from .signals import messages_appended, session_ended
from .tokens import count_tokens


@dataclass(frozen=True)
class NewMessage:
    """A message to append, already checked for shape (see serializers.MessageInputSerializer)."""

    role: str
    content: str
    metadata: dict = field(default_factory=dict)
    message_id: str | None = None
    created_at: datetime | None = None


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
        mode=_mode_of(metadata),
        started_at=started_at,
        updated_at=started_at,
    )


def update_session(*, session: ChatSession, **changes) -> ChatSession:
    """Change the title, system prompt or metadata of `session`; other fields are not editable."""
    editable = {"title", "system_prompt", "metadata"}
    unknown = set(changes) - editable
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    for name, value in changes.items():
        setattr(session, name, value)
    if "metadata" in changes and _mode_of(changes["metadata"]):
        session.mode = _mode_of(changes["metadata"])
    session.updated_at = timezone.now()
    session.save(update_fields=[*changes, "mode", "updated_at"])
    return session


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


def _prepare(session: ChatSession, messages: Sequence[NewMessage]) -> _Batch:
    now = timezone.now()
    candidates = [
        Message(
            session=session,
            role=message.role,
            content=message.content,
            metadata=message.metadata,
            message_id=message.message_id or None,
            token_count=count_tokens(message.content),
            created_at=message.created_at or now,
        )
        for message in messages
    ]
    retry_keys = {row.message_id for row in candidates if row.message_id}
    return _Batch(rows=candidates, values=_column_values(candidates), retry_keys=retry_keys, now=now)


def _store(session: ChatSession, batch: _Batch, *, live: bool = True) -> AppendResult:
    """Steps 2-4 of append_messages; runs inside the caller's transaction."""
    candidates, retry_keys, now = batch.rows, batch.retry_keys, batch.now
    if candidates and not retry_keys:
        locked = _claim_seqs(session, candidates, now)
        first_seq = locked.message_count - len(candidates) + 1
    else:
        locked = _lock_counters(session)
        first_seq = locked.message_count + 1
    seen = _stored_message_ids(locked, retry_keys) if retry_keys else set()
    rows, params = [], []
    for row, row_values in zip(candidates, batch.values):
        if row.message_id:
            if row.message_id in seen:
                continue
            seen.add(row.message_id)
        row.seq = row_values[_SEQ_INDEX] = first_seq + len(rows)
        _cache_session(row, locked)  # the stored rows point at the session as it now is
        _cache_feedback(row, None)  # and have no rating yet: reading one would be a query
        rows.append(row)
        params.append(row_values)
    if rows:
        _insert_messages(rows, params)
        if retry_keys:
            locked.message_count += len(rows)
            locked.token_count += sum(row.token_count for row in rows)
            locked.updated_at = now
            locked.mode = locked.mode or _first_mode(rows)
            _store_counters(locked)
        messages_appended.send(sender=ChatSession, session=locked, messages=rows, live=live)
    return AppendResult(session=locked, messages=rows, duplicates=len(candidates) - len(rows))


def _first_mode(rows: list[Message]) -> str:
    return next((_mode_of(row.metadata) for row in rows if _mode_of(row.metadata)), "")


# The lock and the counters in SQL: compiling the ORM's get() and save() for them cost more Python per
# append than the database spends on the whole transaction (measured: ~0.6 of ~1.2 ms per message).
_SESSION_TABLE = ChatSession._meta.db_table
_LOCK_COUNTERS = f"""
    SELECT message_count, token_count, mode, ended_at IS NOT NULL FROM {_SESSION_TABLE} WHERE id = %s"""
_STORE_COUNTERS = f"""
    UPDATE {_SESSION_TABLE} SET message_count = %s, token_count = %s, mode = %s, updated_at = %s WHERE id = %s"""
_STORED_MESSAGE_IDS = f"SELECT message_id FROM {Message._meta.db_table} WHERE session_id = %s AND message_id IN "
_CLAIM_SEQS = f"""
    UPDATE {_SESSION_TABLE} SET message_count = message_count + %s, token_count = token_count + %s,
        mode = CASE WHEN mode = '' THEN %s ELSE mode END, updated_at = %s
    WHERE id = %s AND ended_at IS NULL RETURNING message_count, token_count, mode"""


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
    message_count, token_count, mode, ended = stored
    if ended:
        raise ValidationError({"session_id": f"Session {session.session_id} has ended; start a new one."})
    locked = copy(session)
    locked.message_count, locked.token_count, locked.mode = message_count, token_count, mode
    return locked


def _claim_seqs(session: ChatSession, rows: list[Message], now: datetime) -> ChatSession:
    """Lock `session` and add `rows` to its counters in one statement; a copy of it as it now is.
    Raises as _lock_counters does when the session has ended or is gone."""
    connection = connections[ChatSession.objects.db]
    tokens = sum(row.token_count for row in rows)
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SEQS,
            [len(rows), tokens, _first_mode(rows), connection.ops.adapt_datetimefield_value(now), session.pk],
        )
        stored = cursor.fetchone()
    if stored is None:
        _lock_counters(session)  # raises: the session has ended or is gone
        raise ChatSession.DoesNotExist(f"Session {session.session_id} could not be written.")
    locked = copy(session)
    locked.message_count, locked.token_count, locked.mode = stored
    locked.updated_at = now
    return locked


def _store_counters(session: ChatSession) -> None:
    connection = connections[ChatSession.objects.db]
    updated_at = connection.ops.adapt_datetimefield_value(session.updated_at)
    with connection.cursor() as cursor:
        cursor.execute(
            _STORE_COUNTERS, [session.message_count, session.token_count, session.mode, updated_at, session.pk]
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
