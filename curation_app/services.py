"""Every curation write: ratings, tags, pins and archive flags, retention, share links."""

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.utils import timezone

from sessions_app.filters import normalize_tag
from sessions_app.models import ChatSession, Message, Role
from sessions_app.services import delete_session

from .models import TAG_MAX_CHARS, MessageFeedback, Rating, RetentionPolicy, ShareLink, Tag, hash_share_token
from .signals import archive_requested

FEEDBACK_REASON_MAX_CHARS = 200
FEEDBACK_COMMENT_MAX_CHARS = 10_000
MAX_TAGS_PER_SESSION = 20


def rate_message(
    *, message: Message, rating: int, reason: str = "", comment: str = ""
) -> tuple[MessageFeedback, bool]:
    """Set the rating of assistant `message`, replacing an earlier one; returns (feedback, created)."""
    check_rating(message=message, rating=rating, reason=reason, comment=comment)
    return do_rate_message(message=message, rating=rating, reason=reason, comment=comment)


def check_rating(*, message: Message, rating: int, reason: str, comment: str) -> None:
    """Raise a ValidationError keyed by field unless `message` can be rated so."""
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


def do_rate_message(*, message: Message, rating: int, reason: str, comment: str) -> tuple[MessageFeedback, bool]:
    """Store a rating checked by check_rating, replacing an earlier one; returns (feedback, created)."""
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
            # Before the delete, inside its transaction: a failed write keeps the session.
            _archive_before_delete(session)
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
        message_count=session.messages.on_branch(session).count(),
        leaf_seq=session.current_seq or None,
        expires_at=expires_at,
    )
    return link, token


def revoke_share_link(*, link: ShareLink) -> None:
    """Delete `link`: its token answers 404 from now on."""
    link.delete()


def _archive_before_delete(session: ChatSession) -> None:
    """Have the archive written (exports_app answers the signal); refuse to delete unarchived."""
    if not archive_requested.send(sender=ChatSession, session=session):
        raise ImproperlyConfigured("Retention was asked to archive, but no installed app writes archives.")
