"""Curation: ratings of assistant messages, tags, retention policies and share links. The tables keep
the names they had before curation was an app of its own."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from sessions_app.models import ChatSession, Message


class Rating(models.IntegerChoices):
    UP = 1
    DOWN = -1


class MessageFeedback(models.Model):
    """The owner's thumbs up or down on one assistant message; rating again replaces it."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="feedback")
    rating = models.SmallIntegerField(choices=Rating)
    reason = models.CharField(max_length=200, blank=True)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "sessions_app_messagefeedback"
        constraints = [
            models.CheckConstraint(condition=Q(rating__in=Rating.values), name="feedback_rating_valid"),
        ]

    def __str__(self):
        return f"{self.message} {self.rating:+d}"


TAG_MAX_CHARS = 50


class Tag(models.Model):
    """A label one user puts on their sessions (`tag:work` in the list search); stored lowercase, trimmed."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=TAG_MAX_CHARS)
    # A session's tags read as `session.tags`, as before tags had an app of their own.
    sessions = models.ManyToManyField(ChatSession, through="SessionTag", related_name="tags", blank=True)

    class Meta:
        db_table = "sessions_app_tag"
        ordering = ["name"]
        constraints = [
            # Also the index that finds a user's tag by name for `tag:` filters.
            models.UniqueConstraint(fields=["owner", "name"], name="tag_name_unique_per_owner"),
            models.CheckConstraint(condition=~Q(name=""), name="tag_name_not_empty"),
        ]

    def __str__(self):
        return self.name


class SessionTag(models.Model):
    # No single-column indexes: the two composite ones below start with each foreign key.
    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="session_tags", db_index=False)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="session_tags", db_index=False)

    class Meta:
        db_table = "sessions_app_sessiontag"
        constraints = [
            # Also the index that loads one session's tags.
            models.UniqueConstraint(fields=["session", "tag"], name="session_tag_unique"),
        ]
        indexes = [
            # `tag:work`: from the tag to its sessions.
            models.Index(fields=["tag", "session"], name="session_tag_by_tag"),
        ]

    def __str__(self):
        return f"{self.session_id} {self.tag_id}"


class RetentionPolicy(models.Model):
    """How long one user's sessions are kept; no row, or no days, keeps everything."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="retention_policy")
    # Sessions whose last activity (updated_at) is older than this many days are deleted; pinned ones are kept.
    delete_after_days = models.PositiveIntegerField(null=True, blank=True)
    # Write each session to the month archive (<data dir>/sessions/YYYY-MM/) before deleting it.
    archive_before_delete = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "sessions_app_retentionpolicy"
        verbose_name_plural = "retention policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(delete_after_days__isnull=True) | Q(delete_after_days__gte=1),
                name="retention_days_positive",
            ),
        ]

    def __str__(self):
        days = self.delete_after_days
        return f"{self.owner}: " + (f"delete after {days} days" if days else "keep everything")


def hash_share_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ShareLinkQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(session__owner=user)

    def with_token(self, token: str):
        return self.filter(token_hash=hash_share_token(token))

    def live(self, now=None):
        """Links that still open: not expired (revoked links are deleted)."""
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now or timezone.now()))


class ShareLink(models.Model):
    """A read-only link to a session as it was when shared. Only a hash of its token is stored."""

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="share_links")
    # SHA-256 of the token: a database leak gives no working links; lookups by hash need no constant-time compare.
    token_hash = models.CharField(max_length=64, editable=False)
    # The snapshot: the title then, and the active branch then: the messages from the first to leaf_seq
    # (null for links made before conversations had branches: messages 1..message_count).
    title = models.CharField(max_length=200, blank=True)
    message_count = models.PositiveIntegerField()
    leaf_seq = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        db_table = "sessions_app_sharelink"
        ordering = ["-created_at", "-id"]
        constraints = [
            # Also the index that opens a link by its token's hash.
            models.UniqueConstraint(fields=["token_hash"], name="share_link_token_hash_unique"),
        ]

    def __str__(self):
        return f"share of {self.session_id} ({self.message_count} messages)"
