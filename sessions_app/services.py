"""Every write to sessions and messages goes through these functions (API, admin, Python API, importers)."""

import secrets
from collections.abc import Callable, Iterable, Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connections, models, transaction
from django.utils import timezone

from .models import (
    TAG_MAX_CHARS,
    ChatSession,
    Message,
    MessageFeedback,
    Rating,
    RetentionPolicy,
    Role,
    ShareLink,
    Tag,
    hash_share_token,
)
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


# Curation: feedback, tags, pins and archive, retention, share links.

FEEDBACK_REASON_MAX_CHARS = 200
FEEDBACK_COMMENT_MAX_CHARS = 10_000
MAX_TAGS_PER_SESSION = 20


def rate_message(
    *, message: Message, rating: int, reason: str = "", comment: str = ""
) -> tuple[MessageFeedback, bool]:
    """Set the rating of assistant `message`, replacing an earlier one; returns (feedback, created)."""
    if message.role != Role.ASSISTANT:
        raise ValidationError(
            {"seq": f"Message {message.seq} is a {message.role} message; only assistant messages can be rated."}
        )
    if isinstance(rating, bool) or rating not in Rating.values:
        raise ValidationError({"rating": "Must be 1 (thumbs up) or -1 (thumbs down)."})
    if len(reason) > FEEDBACK_REASON_MAX_CHARS:
        raise ValidationError({"reason": f"At most {FEEDBACK_REASON_MAX_CHARS} characters."})
    if len(comment) > FEEDBACK_COMMENT_MAX_CHARS:
        raise ValidationError({"comment": f"At most {FEEDBACK_COMMENT_MAX_CHARS} characters."})
    now = timezone.now()
    return MessageFeedback.objects.update_or_create(
        message=message,
        defaults={"rating": rating, "reason": reason, "comment": comment, "updated_at": now},
        create_defaults={"rating": rating, "reason": reason, "comment": comment, "created_at": now, "updated_at": now},
    )


def remove_feedback(*, message: Message) -> bool:
    """Delete the rating of `message`; False when it had none."""
    deleted, _ = MessageFeedback.objects.filter(message=message).delete()
    return bool(deleted)


def normalize_tag(name: str) -> str:
    """A tag as stored: trimmed, lowercase, inner whitespace as one space."""
    return " ".join(name.split()).lower()


def _checked_tags(names: Iterable[str]) -> list[str]:
    tags = []
    for name in names:
        tag = normalize_tag(name)
        if not tag:
            raise ValidationError({"tags": "A tag cannot be empty."})
        if len(tag) > TAG_MAX_CHARS:
            raise ValidationError({"tags": f"Tag {tag[:20]!r}... is longer than {TAG_MAX_CHARS} characters."})
        if '"' in tag:
            raise ValidationError({"tags": f'Tag {tag!r} contains ", which the search syntax uses for quoting.'})
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS_PER_SESSION:
        raise ValidationError({"tags": f"At most {MAX_TAGS_PER_SESSION} tags per session."})
    return tags


def curate_session(
    *,
    session: ChatSession,
    tags: Iterable[str] | None = None,
    is_pinned: bool | None = None,
    is_archived: bool | None = None,
) -> ChatSession:
    """Replace the tags and set the pin and archive flags of `session` (None leaves one as it is).

    Not activity: updated_at, which retention measures age by, does not move.
    """
    with transaction.atomic():
        flags = {
            name: value for name, value in (("is_pinned", is_pinned), ("is_archived", is_archived)) if value is not None
        }
        if flags:
            for name, value in flags.items():
                setattr(session, name, value)
            session.save(update_fields=list(flags))
        if tags is not None:
            _set_tags(session=session, names=_checked_tags(tags))
    return session


def _set_tags(*, session: ChatSession, names: list[str]) -> None:
    """Make `names` the tags of `session`: create the owner's missing tags, drop tags no session uses."""
    Tag.objects.bulk_create([Tag(owner_id=session.owner_id, name=name) for name in names], ignore_conflicts=True)
    wanted = Tag.objects.filter(owner_id=session.owner_id, name__in=names)
    session.tags.set(wanted)  # also clears a prefetched tag list, so the answer shows the new tags
    Tag.objects.filter(owner_id=session.owner_id, session_tags__isnull=True).delete()


def set_retention_policy(
    *, owner, delete_after_days: int | None, archive_before_delete: bool = False
) -> RetentionPolicy:
    """Keep `owner`'s sessions for `delete_after_days` after their last activity (None: keep everything)."""
    if delete_after_days is not None and delete_after_days < 1:
        raise ValidationError({"delete_after_days": "Must be 1 or more, or null to keep everything."})
    policy, _ = RetentionPolicy.objects.update_or_create(
        owner=owner,
        defaults={
            "delete_after_days": delete_after_days,
            "archive_before_delete": archive_before_delete,
            "updated_at": timezone.now(),
        },
    )
    return policy


def effective_retention_days(policy: RetentionPolicy | None) -> int | None:
    """Days a user's sessions are kept: the shorter of their policy and the administrators' maximum."""
    limits = [days for days in (policy and policy.delete_after_days, settings.NOVAFORGE["RETENTION_MAX_DAYS"]) if days]
    return min(limits) if limits else None


@dataclass(frozen=True)
class ExpiredSession:
    session_id: str
    owner: str
    updated_at: datetime
    archived: bool  # written to the month archive before it was deleted


@dataclass
class RetentionReport:
    dry_run: bool
    deleted: list[ExpiredSession] = field(default_factory=list)

    def summary(self) -> str:
        verb = "Would delete" if self.dry_run else "Deleted"
        owners = len({expired.owner for expired in self.deleted})
        return f"{verb} {len(self.deleted)} session(s) of {owners} user(s)."


def apply_retention(
    *, dry_run: bool = False, now: datetime | None = None, on_deleted: Callable[[ExpiredSession], None] | None = None
) -> RetentionReport:
    """Delete every user's sessions older than their retention allows; pinned sessions are always kept.

    1. For each user with a limit (their policy, or the administrators' maximum), find unpinned sessions
       whose last activity is before the cutoff.
    2. Lock and check each one again before deleting it, so a session written to or pinned meanwhile is
       kept; a session already deleted by a concurrent run is skipped. Rerunning deletes nothing more.
    3. If the user asked for it, write the session to the month archive first.
    """
    now = now or timezone.now()
    report = RetentionReport(dry_run=dry_run)
    if settings.NOVAFORGE["RETENTION_MAX_DAYS"]:
        owners = get_user_model().objects.select_related("retention_policy").order_by("pk")
    else:
        owners = get_user_model().objects.filter(retention_policy__delete_after_days__isnull=False)
        owners = owners.select_related("retention_policy").order_by("pk")
    for owner in owners.iterator(chunk_size=500):
        policy = getattr(owner, "retention_policy", None)
        days = effective_retention_days(policy)
        if days is None:
            continue
        archive = bool(policy and policy.archive_before_delete)
        cutoff = now - timedelta(days=days)
        expired = ChatSession.objects.owned_by(owner).filter(is_pinned=False, updated_at__lt=cutoff)
        # Read the (small) rows before deleting, so no cursor stays open across the deletes.
        for pk, session_id, updated_at in list(expired.values_list("pk", "session_id", "updated_at")):
            if not dry_run and not _delete_if_still_expired(pk=pk, cutoff=cutoff, archive=archive):
                continue
            gone = ExpiredSession(
                session_id=session_id, owner=owner.get_username(), updated_at=updated_at, archived=archive
            )
            report.deleted.append(gone)
            if on_deleted:
                on_deleted(gone)
    return report


def _delete_if_still_expired(*, pk: int, cutoff: datetime, archive: bool) -> bool:
    with transaction.atomic():
        still_expired = ChatSession.objects.select_for_update().filter(pk=pk, is_pinned=False, updated_at__lt=cutoff)
        session = still_expired.first()
        if session is None:
            return False
        if archive:
            # Imported here: apps import one way, exports_app -> memory_app -> sessions_app.
            from exports_app.services import archive_sessions

            # Before the delete, inside its transaction: a failed write keeps the session.
            archive_sessions(sessions=ChatSession.objects.filter(pk=session.pk))
        delete_session(session=session)
    return True


def share_session(*, session: ChatSession, expires_at: datetime | None = None) -> tuple[ShareLink, str]:
    """A read-only link to `session` as it is now; returns the link and its token (shown once, stored hashed)."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "Must be in the future."})
    token = secrets.token_urlsafe(32)
    link = ShareLink.objects.create(
        session=session,
        token_hash=hash_share_token(token),
        title=session.title,
        message_count=session.message_count,
        expires_at=expires_at,
    )
    return link, token


def revoke_share_link(*, link: ShareLink) -> None:
    """Delete `link`: its token answers 404 from now on."""
    link.delete()
