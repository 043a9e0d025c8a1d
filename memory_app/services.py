"""Every write to memory goes through these functions (message write path, API, admin, Python API, commands)."""

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone

from sessions_app.models import ChatSession, Message, Role
from sessions_app.tokens import count_tokens

from . import search as search_index
from .models import (
    CATEGORY_PATTERN,
    DEFAULT_CATEGORY,
    Layer,
    MemoryItem,
    TaskStatus,
    fingerprint_of,
)

EPISODE_KEYWORDS = 8
FIRST_REQUEST_CHARS = 500
_KEYWORD = re.compile(r"[^\W\d_]{3,}")  # words of three letters or more: digits and ids are not topics


def _limit(name: str) -> int:
    # Read per call so a deployment (or a test) can change it in settings.
    return settings.NOVAFORGE[name]


def _check_text(text, name="text") -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValidationError({name: "Must be non-empty text."})
    limit = _limit("MAX_CONTENT_CHARS")
    if len(text) > limit:
        raise ValidationError({name: f"Text is {len(text)} characters; the limit is {limit}."})
    return text


def _check_category(category) -> str:
    if not isinstance(category, str) or not re.fullmatch(CATEGORY_PATTERN, category):
        raise ValidationError(
            {"category": "Use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit."}
        )
    return category


def _check_context(context) -> dict:
    if not isinstance(context, dict):
        raise ValidationError({"context": "Must be a JSON object."})
    return context


# Short-term memory -----------------------------------------------------------------------------------


_ROLE_LABELS = dict(Role.choices)


def _line_of(role: str, content: str) -> str:
    return f"{_ROLE_LABELS[role]}: {content}"


# The write path's two statements, in SQL: the ORM spends more building them (~0.3 ms of Python per
# append, measured) than the database spends running them, and every message pays it.
_INSERT_LINES = """
    INSERT INTO memory_app_memoryitem (owner_id, session_id, layer, category, title, text, strength, status,
        context, month, digest, access_count, promoted_from, created_at, updated_at, last_seen_at)
    VALUES """
_LINE_VALUES = "(%s, %s, 'short_term', 'general', '', %s, 1, '', '{}', '', '{}', 0, '', %s, %s, %s)"
# Everything older than the session's newest `limit` lines; (session, layer, -id) is the index it walks.
_TRIM_LINES = """
    DELETE FROM memory_app_memoryitem
    WHERE session_id = %s AND layer = 'short_term' AND id < (
        SELECT id FROM memory_app_memoryitem WHERE session_id = %s AND layer = 'short_term'
        ORDER BY id DESC LIMIT 1 OFFSET %s)"""


def remember_messages(*, session: ChatSession, messages: Sequence[Message]) -> None:
    """Add each new message of `session` to its short-term memory, keeping the newest SHORT_TERM_LIMIT.

    On the message write path: one INSERT for the batch (at most its newest SHORT_TERM_LIMIT), and one
    DELETE once the session has more messages than the limit, however many messages came.
    """
    # Only the newest SHORT_TERM_LIMIT of a batch can survive the trim below: older ones are not written.
    messages = messages[-_limit("SHORT_TERM_LIMIT"):]
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(timezone.now())
    params = []
    for message in messages:
        params += [session.owner_id, session.pk, _line_of(message.role, message.content), adapt(message.created_at), now, now]
    with connection.cursor() as cursor:
        # One statement for the batch (a save carries at most MAX_BATCH_MESSAGES: 6,000 parameters).
        cursor.execute(_INSERT_LINES + ", ".join([_LINE_VALUES] * len(messages)), params)
        # Each message adds one line, so only a session past the limit can hold too many (lines added
        # by hand are trimmed when they are added).
        if session.message_count > _limit("SHORT_TERM_LIMIT"):
            _trim_short_term(session, cursor)


def _trim_short_term(session: ChatSession, cursor) -> None:
    cursor.execute(_TRIM_LINES, [session.pk, session.pk, _limit("SHORT_TERM_LIMIT") - 1])


def add_item(
    *, owner, layer: str, text: str, category: str = DEFAULT_CATEGORY, context: dict | None = None,
    session: ChatSession | None = None,
) -> tuple[MemoryItem, bool]:
    """Add `text` to memory `layer` of `owner`, as that layer's service does; returns (item, created).
    created is False only for a long-term fact already known (it is strengthened instead)."""
    if layer == Layer.SHORT_TERM:
        return add_short_term(session=session, text=text), True
    if layer == Layer.LONG_TERM:
        return remember_fact(owner=owner, text=text, category=category, session=session)
    if layer == Layer.WORKING:
        return add_task(owner=owner, goal=text, context=context, category=category, session=session), True
    raise ValidationError({"layer": f"Items of layer {layer} are built by consolidation, not added."})


def add_short_term(*, session: ChatSession, text: str) -> MemoryItem:
    """Add one line to the short-term memory of `session` (still open), keeping the newest SHORT_TERM_LIMIT."""
    _check_text(text)
    if session.ended_at is not None:
        raise ValidationError({"session_id": f"Session {session.session_id} has ended; its short-term memory is gone."})
    with transaction.atomic():
        item = MemoryItem.objects.create(owner_id=session.owner_id, session=session, layer=Layer.SHORT_TERM, text=text)
        with connection.cursor() as cursor:
            _trim_short_term(session, cursor)
    return item


def clear_short_term(*, session: ChatSession) -> int:
    """Forget the short-term memory of `session`; returns how many lines went."""
    deleted, _ = MemoryItem.objects.filter(session=session, layer=Layer.SHORT_TERM).delete()
    return deleted


# Long-term memory ------------------------------------------------------------------------------------


def remember_fact(
    *,
    owner,
    text: str,
    category: str = DEFAULT_CATEGORY,
    session: ChatSession | None = None,
    promoted_from: str = "",
) -> tuple[MemoryItem, bool]:
    """Store a long-term fact, or strengthen it when the owner knows it already; returns (item, created).

    The same text (ignoring case, spacing and closing punctuation) is one fact: adding it again raises
    its strength and last-seen time and keeps its first text, category and provenance.
    """
    _check_text(text)
    _check_category(category)
    fingerprint = fingerprint_of(text)
    known = MemoryItem.objects.filter(owner=owner, layer=Layer.LONG_TERM, fingerprint=fingerprint)
    now = timezone.now()
    with transaction.atomic():
        if known.update(strength=F("strength") + 1, last_seen_at=now, updated_at=now):
            return known.get(), False
        try:
            # A savepoint: a concurrent writer may store the same fact first (the unique constraint).
            with transaction.atomic():
                item = MemoryItem.objects.create(
                    owner=owner,
                    session=session,
                    layer=Layer.LONG_TERM,
                    category=category,
                    text=text,
                    fingerprint=fingerprint,
                    promoted_from=promoted_from,
                )
            return item, True
        except IntegrityError:
            known.update(strength=F("strength") + 1, last_seen_at=now, updated_at=now)
            return known.get(), False


# Working memory --------------------------------------------------------------------------------------


def add_task(
    *, owner, goal: str, context: dict | None = None, category: str = DEFAULT_CATEGORY, session: ChatSession | None = None
) -> MemoryItem:
    """Open a working task with `goal` and a `context` object."""
    _check_text(goal, name="text")
    _check_category(category)
    return MemoryItem.objects.create(
        owner=owner,
        session=session,
        layer=Layer.WORKING,
        category=category,
        text=goal,
        status=TaskStatus.OPEN,
        context=_check_context(context if context is not None else {}),
    )


# Any layer -------------------------------------------------------------------------------------------

EDITABLE_FIELDS = {
    Layer.SHORT_TERM: set(),
    Layer.LONG_TERM: {"text", "category"},
    Layer.WORKING: {"text", "category", "status", "context"},
    Layer.EPISODIC: {"title"},
}


def update_item(*, item: MemoryItem, **changes) -> MemoryItem:
    """Change the fields of `item` its layer lets change (a fact's text, a task's status...)."""
    check_item_changes(item=item, changes=changes)
    return do_update_item(item=item, changes=changes)


def check_item_changes(*, item: MemoryItem, changes: dict) -> None:
    """Raise a ValidationError keyed by field unless `changes` may be written to `item` as they are."""
    editable = EDITABLE_FIELDS[Layer(item.layer)]
    refused = sorted(set(changes) - editable)
    if refused:
        raise ValidationError({name: f"Cannot be changed on a {item.layer} item." for name in refused})
    if "text" in changes:
        _check_text(changes["text"])
    if "category" in changes:
        _check_category(changes["category"])
    if "context" in changes:
        _check_context(changes["context"])
    if "status" in changes and changes["status"] not in TaskStatus.values:
        raise ValidationError({"status": f"Must be one of {', '.join(TaskStatus.values)}."})
    if "title" in changes and (not isinstance(changes["title"], str) or len(changes["title"]) > 200):
        raise ValidationError({"title": "Must be text of at most 200 characters."})
    if item.layer == Layer.LONG_TERM and "text" in changes:
        twin = MemoryItem.objects.filter(
            owner_id=item.owner_id, layer=Layer.LONG_TERM, fingerprint=fingerprint_of(changes["text"])
        )
        if twin.exclude(pk=item.pk).exists():
            raise ValidationError({"text": "Another long-term item holds this fact already."})


def do_update_item(*, item: MemoryItem, changes: dict) -> MemoryItem:
    """Write `changes` (checked by check_item_changes) to `item`."""
    for name, value in changes.items():
        setattr(item, name, value)
    update_fields = [*changes, "updated_at"]
    if item.layer == Layer.LONG_TERM and "text" in changes:
        item.fingerprint = fingerprint_of(item.text)
        update_fields.append("fingerprint")
    item.updated_at = timezone.now()
    item.save(update_fields=update_fields)
    return item


def complete_task(*, item: MemoryItem) -> MemoryItem:
    """Mark a working task done."""
    if item.layer != Layer.WORKING:
        raise ValidationError({"layer": "Only working tasks can be completed."})
    return update_item(item=item, status=TaskStatus.DONE)


def delete_item(*, item: MemoryItem) -> None:
    """Forget `item` (its search entry goes with it)."""
    item.delete()


def record_access(*, items: Iterable[MemoryItem]) -> None:
    """Count one read of each of `items` now, in one UPDATE, and show it on the instances, so what the
    reader gets back is what was counted; consolidation promotes what is read often."""
    items = list(items)
    if items:
        now = timezone.now()
        MemoryItem.objects.filter(id__in=[item.pk for item in items]).update(
            access_count=F("access_count") + 1, last_accessed_at=now
        )
        for item in items:
            item.access_count += 1
            item.last_accessed_at = now


# Episodic memory -------------------------------------------------------------------------------------


def _episode_fields(session: ChatSession) -> dict | None:
    """Title, month and digest of `session`: its first request and its most frequent words."""
    first_request = ""
    message_count = 0
    words = Counter()
    for role, content in session.messages.order_by("seq").values_list("role", "content").iterator(chunk_size=2000):
        message_count += 1
        if role == Role.USER and not first_request and content.strip():
            first_request = content.strip()[:FIRST_REQUEST_CHARS]
        if role in (Role.USER, Role.ASSISTANT):
            words.update(word for word in _KEYWORD.findall(content.casefold()) if word not in search_index.STOP_WORDS)
    if not message_count:
        return None
    keywords = [word for word, _ in words.most_common(EPISODE_KEYWORDS)]
    title = session.title or (first_request[:80] if first_request else f"Session {session.session_id}")
    lines = [f"First request: {first_request}"] if first_request else []
    if keywords:
        lines.append(f"Topics: {', '.join(keywords)}")
    return {
        "title": title[:200],
        "month": session.started_at.astimezone(UTC).strftime("%Y-%m"),
        "text": "\n".join(lines) or title,
        "digest": {"first_request": first_request, "keywords": keywords, "message_count": message_count},
    }


def build_episode(*, session: ChatSession) -> MemoryItem | None:
    """Write (or rewrite) the one episode of `session`; None for a session without messages."""
    fields = _episode_fields(session)
    if fields is None:
        return None
    now = timezone.now()
    episode, _ = MemoryItem.objects.update_or_create(
        session=session,
        layer=Layer.EPISODIC,
        defaults={**fields, "updated_at": now, "last_seen_at": now},
        create_defaults={**fields, "owner_id": session.owner_id},
    )
    return episode


def close_session_memory(*, session: ChatSession) -> None:
    """What memory does when a session ends: forget its short-term lines, keep it as an episode."""
    clear_short_term(session=session)
    build_episode(session=session)


# Consolidation ---------------------------------------------------------------------------------------


@dataclass
class ConsolidationReport:
    threshold: int
    dry_run: bool
    promoted: int = 0  # new long-term facts
    strengthened: int = 0  # promoted items that were known facts already
    episodes: int = 0
    promoted_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        verb = "Would promote" if self.dry_run else "Promoted"
        return (
            f"{verb} {self.promoted + self.strengthened} items read {self.threshold}+ times to long-term memory "
            f"({self.promoted} new, {self.strengthened} strengthened); "
            f"{'would build' if self.dry_run else 'built'} {self.episodes} episodes."
        )

    def as_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "dry_run": self.dry_run,
            "promoted": self.promoted,
            "strengthened": self.strengthened,
            "episodes": self.episodes,
        }


class _DryRun(Exception):
    pass


CONSOLIDATION_BATCH = 200


def consolidate_memory(
    *,
    owner=None,
    threshold: int | None = None,
    dry_run: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ConsolidationReport:
    """Promote items read `threshold`+ times to long-term memory once, and build missing episodes.

    1. Each short-term line or working task read often enough and not promoted yet is copied into
       long-term memory with its category and session (a known fact is strengthened instead), and is
       marked promoted, so a second run promotes nothing again.
    2. Each session with messages that has ended, or been idle for EPISODE_IDLE_MINUTES, and has no
       episode yet gets one.
    Works in batches of short transactions (cron may run it beside live writes, or twice at once: an
    item is claimed by an UPDATE before it is copied). With `dry_run`, every batch is rolled back.
    `owner` limits it to one user's memory.
    """
    threshold = threshold if threshold is not None else _limit("PROMOTE_AFTER_ACCESSES")
    if threshold < 1:
        raise ValidationError({"threshold": "Must be 1 or more."})
    report = ConsolidationReport(threshold=threshold, dry_run=dry_run)
    candidates = MemoryItem.objects.promotion_candidates(threshold=threshold).select_related("owner", "session")
    candidates = candidates.order_by("id")
    if owner is not None:
        candidates = candidates.filter(owner=owner)
    for batch in _batches(candidates):
        _in_batch_transaction(dry_run, lambda: _promote(batch, report))
        if on_progress:
            on_progress(len(batch))
    idle_since = timezone.now() - timedelta(minutes=_limit("EPISODE_IDLE_MINUTES"))
    sessions = (
        ChatSession.objects.filter(message_count__gt=0)
        .filter(Q(ended_at__isnull=False) | Q(updated_at__lt=idle_since))
        .exclude(Exists(MemoryItem.objects.filter(session=OuterRef("pk"), layer=Layer.EPISODIC)))
        .order_by("id")
    )
    if owner is not None:
        sessions = sessions.filter(owner=owner)
    for batch in _batches(sessions):
        _in_batch_transaction(dry_run, lambda: _build_missing_episodes(batch, report))
        if on_progress:
            on_progress(len(batch))
    return report


def _batches(queryset):
    """Rows of `queryset` (ordered by id) in lists of CONSOLIDATION_BATCH, paging by id, not by offset."""
    last_id = 0
    while True:
        batch = list(queryset.filter(id__gt=last_id)[:CONSOLIDATION_BATCH])
        if not batch:
            return
        yield batch
        last_id = batch[-1].id


def _in_batch_transaction(dry_run: bool, work: Callable[[], None]) -> None:
    try:
        with transaction.atomic():
            work()
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass


def _promote(items: list[MemoryItem], report: ConsolidationReport) -> None:
    now = timezone.now()
    for item in items:
        if not MemoryItem.objects.filter(pk=item.pk, promoted_at__isnull=True).update(promoted_at=now):
            continue  # another run claimed it
        fact, created = remember_fact(
            owner=item.owner,
            text=item.text,
            category=item.category,
            session=item.session,
            promoted_from=item.layer,
        )
        report.promoted += created
        report.strengthened += not created
        report.promoted_ids.append(item.pk)


def _build_missing_episodes(sessions: list[ChatSession], report: ConsolidationReport) -> None:
    for session in sessions:
        try:
            with transaction.atomic():
                if build_episode(session=session):
                    report.episodes += 1
        except IntegrityError:
            pass  # built concurrently by session_ended or another run


# Reading with access counting ------------------------------------------------------------------------


def recall(*, owner, query: str, scope: str = "memory", layers=None, limit: int = 20) -> list[dict]:
    """Search the owner's memory (and/or messages); each memory item found counts one access.

    Returns hits best first as {"kind", "score", "item" | "message"} with model instances.
    """
    hits = search_index.search(
        owner_id=owner.pk, query=query, scope=scope, layers=layers or search_index.SEARCHABLE_LAYERS, limit=limit
    )
    item_ids = [hit.pk for hit in hits if hit.kind == "memory"]
    message_ids = [hit.pk for hit in hits if hit.kind == "message"]
    items = MemoryItem.objects.select_related("session").in_bulk(item_ids)
    messages = Message.objects.select_related("session").in_bulk(message_ids)
    record_access(items=items.values())
    results = []
    for hit in hits:
        if hit.kind == "memory" and hit.pk in items:
            results.append({"kind": "memory", "score": hit.score, "item": items[hit.pk]})
        elif hit.kind == "message" and hit.pk in messages:
            results.append({"kind": "message", "score": hit.score, "message": messages[hit.pk]})
    return results


# Context assembly ------------------------------------------------------------------------------------


@dataclass
class ContextPiece:
    item: MemoryItem
    text: str
    reason: str
    score: float | None = None
    tokens: int = 0


# Shares of the budget each section may take first; what a section leaves is then offered to the
# others in this order. Open tasks and the latest turns matter most to the next reply.
CONTEXT_SHARES = {Layer.WORKING: 0.2, Layer.SHORT_TERM: 0.4, Layer.LONG_TERM: 0.25, Layer.EPISODIC: 0.15}
CONTEXT_TASKS = 20
CONTEXT_MATCHES = {Layer.LONG_TERM: 10, Layer.EPISODIC: 5}


def assemble_context(*, session: ChatSession, query: str = "", budget_tokens: int | None = None) -> dict:
    """What an assistant should see next in `session`, within `budget_tokens`, each piece with its reason.

    1. Candidates: the owner's open working tasks (this session's first), the session's short-term
       lines (newest first), and the long-term facts and past episodes that best match `query` (by
       default the session's latest user message; without any, the strongest facts).
    2. Each layer takes candidates in order while they fit its share of the budget; the budget left
       is then offered to the remaining candidates in the same order. A piece never gets cut.
    3. Matched items chosen count one access each.
    """
    budget = budget_tokens or _limit("CONTEXT_BUDGET_TOKENS")
    search_query = query or _latest_request(session)
    matched_because = f'matches "{query[:80]}"' if query else "matches the latest user message"
    candidates = {
        Layer.WORKING: _task_candidates(session),
        Layer.SHORT_TERM: _recent_line_candidates(session),
        **_matched_candidates(session, search_query, matched_because),
    }
    if not candidates[Layer.LONG_TERM]:
        candidates[Layer.LONG_TERM] = _strongest_fact_candidates(session.owner)
    chosen = _fit_to_budget({layer: candidates[layer] for layer in CONTEXT_SHARES}, budget)
    record_access(items=[piece.item for piece in chosen if piece.score is not None])
    ordered = _in_reading_order(chosen)
    return {
        "session_id": session.session_id,
        "query": search_query,
        "budget_tokens": budget,
        "used_tokens": sum(piece.tokens for piece in ordered),
        "items": [
            {
                "id": piece.item.pk,
                "layer": piece.item.layer,
                "text": piece.text,
                "tokens": piece.tokens,
                "reason": piece.reason,
                "score": piece.score,
            }
            for piece in ordered
        ],
    }


def _latest_request(session: ChatSession) -> str:
    latest = session.messages.filter(role=Role.USER).order_by("-seq").values_list("content", flat=True).first()
    return (latest or "")[:FIRST_REQUEST_CHARS]


def _task_candidates(session: ChatSession) -> list[ContextPiece]:
    """The owner's open tasks, this session's first."""
    elsewhere = Case(When(session=session, then=Value(0)), default=Value(1))
    tasks = MemoryItem.objects.owned_by(session.owner).open_tasks().order_by(elsewhere, "-id")
    pieces = []
    for task in tasks[:CONTEXT_TASKS]:
        text = f"Task: {task.text}" + (f"\nContext: {task.context}" if task.context else "")
        reason = "open task from this session" if task.session_id == session.pk else "open task"
        pieces.append(ContextPiece(task, text, reason))
    return pieces


def _recent_line_candidates(session: ChatSession) -> list[ContextPiece]:
    recent = MemoryItem.objects.filter(session=session, layer=Layer.SHORT_TERM).order_by("-id")
    return [ContextPiece(line, line.text, "recent in this session") for line in recent[: _limit("SHORT_TERM_LIMIT")]]


def _matched_candidates(session: ChatSession, query: str, reason: str) -> dict[str, list[ContextPiece]]:
    """The long-term facts and episodes that best match `query`, per layer."""
    matched = {}
    for layer, limit in CONTEXT_MATCHES.items():
        hits = search_index.search(owner_id=session.owner_id, query=query, layers=[layer], limit=limit + 1) if query else []
        found = MemoryItem.objects.in_bulk([hit.pk for hit in hits])
        pieces = []
        for hit in hits:
            item = found.get(hit.pk)
            if item is None or item.session_id == session.pk and layer == Layer.EPISODIC:
                continue  # this session's own episode repeats what the short-term lines say
            text = item.text if layer == Layer.LONG_TERM else f"{item.title} ({item.month}): {item.text}"
            pieces.append(ContextPiece(item, text, reason, score=hit.score))
        matched[layer] = pieces[:limit]
    return matched


def _strongest_fact_candidates(owner) -> list[ContextPiece]:
    strongest = MemoryItem.objects.owned_by(owner).in_layer(Layer.LONG_TERM).order_by("-strength", "-last_seen_at")
    pieces = []
    for fact in strongest[: CONTEXT_MATCHES[Layer.LONG_TERM]]:
        reason = f"strong long-term memory (added {fact.strength} time{'s' if fact.strength != 1 else ''})"
        pieces.append(ContextPiece(fact, fact.text, reason))
    return pieces


def _in_reading_order(chosen: list[ContextPiece]) -> list[ContextPiece]:
    """Layer by layer; short-term lines, chosen newest first, read oldest first."""
    ordered = []
    for layer in CONTEXT_SHARES:
        pieces = [piece for piece in chosen if piece.item.layer == layer]
        if layer == Layer.SHORT_TERM:
            pieces.reverse()
        ordered += pieces
    return ordered


def _fit_to_budget(candidates: dict[str, list[ContextPiece]], budget: int) -> list[ContextPiece]:
    chosen, used = [], 0
    for pieces in candidates.values():
        for piece in pieces:
            piece.tokens = count_tokens(piece.text)
    leftovers = []
    for layer, share in CONTEXT_SHARES.items():
        allowance = int(budget * share)
        for piece in candidates[layer]:
            if piece.tokens <= allowance and used + piece.tokens <= budget:
                chosen.append(piece)
                allowance -= piece.tokens
                used += piece.tokens
            else:
                leftovers.append(piece)
    for piece in leftovers:
        if used + piece.tokens <= budget:
            chosen.append(piece)
            used += piece.tokens
    return chosen
