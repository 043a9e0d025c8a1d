import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.utils import timezone

from novaforge.db.conditions import HEX_DIGITS, made_of
from novaforge.fields import JSONField


def new_session_id() -> str:
    """12 lowercase hex characters, as the seed's archive file names use."""
    return secrets.token_hex(6)


class Role(models.TextChoices):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class ChatSessionQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(owner=user)

    def started_between(self, after=None, before=None):
        sessions = self.filter(started_at__gte=after) if after else self
        return sessions.filter(started_at__lt=before) if before else sessions

    def open(self):
        return self.filter(ended_at__isnull=True)

    def in_list_order(self):
        """The default list order: pinned sessions first, then newest first."""
        return self.order_by("-is_pinned", "-started_at", "-id")

    def with_tags(self):
        """Load every session's tags in one more query (no query per session)."""
        return self.prefetch_related("tags")


class ChatSession(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_sessions")
    session_id = models.CharField(max_length=12, unique=True, default=new_session_id, editable=False)
    title = models.CharField(max_length=200, blank=True)
    system_prompt = models.TextField(blank=True)
    metadata = JSONField(default=dict, blank=True)
    # The session's mode (metadata "mode" of the session, else of its first message that names one);
    # a column so the list can filter on it through an index.
    mode = models.CharField(max_length=64, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    token_count = models.PositiveBigIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    tags = models.ManyToManyField("Tag", through="SessionTag", related_name="sessions", blank=True)
    is_pinned = models.BooleanField(default=False)
    # Hidden from the default list, but kept, loadable, searchable (archived:true) and exportable.
    is_archived = models.BooleanField(default=False)

    objects = ChatSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(Exact(Length("session_id"), 12)) & made_of("session_id", HEX_DIGITS),
                name="session_id_is_12_hex",
            ),
        ]
        indexes = [
            # The list: one user's sessions, newest first.
            models.Index(fields=["owner", "-started_at"], name="session_owner_started"),
            # The list sorted by last activity.
            models.Index(fields=["owner", "-updated_at"], name="session_owner_updated"),
            models.Index(fields=["owner", "mode"], name="session_owner_mode"),
            # The default list: one user's unarchived sessions, pinned first, then newest first, read
            # backwards (ascending columns, so both databases also serve the "-id" tie-break from it).
            # Partial: Django writes is_archived=False as NOT "is_archived", which SQLite can only match
            # against an index's WHERE, never use as an index column.
            models.Index(
                fields=["owner", "is_pinned", "started_at", "id"],
                condition=Q(is_archived=False),
                name="session_owner_default_list",
            ),
            # The default list's count: one narrow entry per unarchived session (the wider index above
            # costs SQLite a table read per session; 100,000 sessions counted in 15 ms, now 5 ms).
            models.Index(fields=["owner"], condition=Q(is_archived=False), name="session_owner_unarchived"),
        ]

    def __str__(self):
        return f"{self.session_id} {self.title}".strip()

    @property
    def is_ended(self) -> bool:
        return self.ended_at is not None


class MessageQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(session__owner=user)

    def owned_by_over_time(self, user):
        """owned_by() for queries that filter or sort on created_at. The owner is tested with EXISTS:
        given owner_id = ? on a join, SQLite drives the query from the owner's sessions and reads every
        one of their messages (seconds at a million) instead of walking the created_at index."""
        return self.filter(models.Exists(ChatSession.objects.filter(pk=models.OuterRef("session_id"), owner=user)))

    def after_seq(self, seq):
        return self.filter(seq__gt=seq) if seq else self

    def with_feedback(self):
        """Each message's rating in the same query (a LEFT JOIN), for output that shows it."""
        return self.select_related("feedback")

    def as_rows(self):
        """The fields a reader sees, as dicts in seq order: no model instance per message, which was
        most of the time of loading a 10,000-message session."""
        return self.order_by("seq").values(
            "seq",
            "role",
            "content",
            "metadata",
            "message_id",
            "token_count",
            "created_at",
            feedback_rating=F("feedback__rating"),  # one LEFT JOIN, not a query per message
            feedback_reason=F("feedback__reason"),
            feedback_comment=F("feedback__comment"),
        )


class Message(models.Model):
    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    role = models.CharField(max_length=16, choices=Role)
    content = models.TextField()
    metadata = JSONField(default=dict, blank=True)
    message_id = models.CharField(max_length=64, null=True, blank=True)  # client's retry key
    # cl100k_base tokens of `content`, counted once on write so exports and analytics never re-count.
    token_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["session", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="message_seq_unique_in_session"),
            models.UniqueConstraint(
                fields=["session", "message_id"],
                condition=Q(message_id__isnull=False),
                name="message_client_id_unique_in_session",
            ),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="message_role_valid"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="message_seq_positive"),
        ]
        indexes = [
            # Analytics counts messages per day over a date range.
            models.Index(fields=["created_at"], name="message_created_at"),
        ]

    def __str__(self):
        return f"{self.session_id}#{self.seq} {self.role}"


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

    class Meta:
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
    # The snapshot: the link shows the title then and messages up to this count.
    title = models.CharField(max_length=200, blank=True)
    message_count = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Also the index that opens a link by its token's hash.
            models.UniqueConstraint(fields=["token_hash"], name="share_link_token_hash_unique"),
        ]

    def __str__(self):
        return f"share of {self.session_id} ({self.message_count} messages)"


# Analytics rollups (sessions_app/rollups.py): per owner and UTC day, what the summary would otherwise
# aggregate from every message of its window. Recomputed from messages for the days a trigger marked stale.


class StaleDay(models.Model):
    """A day of an owner whose rollups no longer match its messages. Written by database triggers on
    messages and sessions; append-only (no unique key), so concurrent writers never wait on each other."""

    # No foreign key: deleting a user deletes their messages, whose triggers mark days of that user;
    # such marks outlive the user harmlessly until the next refresh clears them.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    day = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["owner", "day"], name="stale_day_owner_day")]


class DailyActivity(models.Model):
    """Messages and tokens of one owner's day, by role and session mode, with the sums assistant
    performance needs (replies that logged a latency, their latency and completion tokens)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    role = models.CharField(max_length=16)
    mode = models.CharField(max_length=64)
    messages = models.PositiveIntegerField()
    tokens = models.PositiveBigIntegerField()
    replies = models.PositiveIntegerField()
    latency_total = models.FloatField()
    completion_total = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "day", "role", "mode"], name="daily_activity_unique"),
        ]


class DailyLatency(models.Model):
    """The latency histogram of one owner's day, one row per day: [[bucket, replies, lowest, highest], ...]
    over logarithmic buckets, with each bucket's smallest and largest latency so a percentile can be
    reported exactly when its bucket holds one value. One row, not one per bucket: a half-year summary
    would otherwise read tens of thousands of rows."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    histogram = JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "day"], name="daily_latency_unique")]


class DailyToolUse(models.Model):
    """How often one owner's messages of a day named each tool."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    name = models.CharField(max_length=100)
    uses = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "day", "name"], name="daily_tool_use_unique")]
