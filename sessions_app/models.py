from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.utils import timezone

from novaforge.db.conditions import made_of
from novaforge.fields import JSONField

from .ids import SESSION_ID_ALPHABET, SESSION_ID_LENGTH, new_session_id


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

    def by_session_id(self, session_id: str) -> "ChatSession":
        """The session `session_id` among these, or a ValidationError naming it (the Python API's 404)."""
        try:
            return self.get(session_id=session_id)
        except self.model.DoesNotExist:
            raise ValidationError({"session_id": f"No session {session_id} is yours."}) from None

    def in_list_order(self):
        """The default list order: pinned sessions first, then newest first."""
        return self.order_by("-is_pinned", "-started_at", "-id")

    def with_tags(self):
        """Load every session's tags in one more query (no query per session)."""
        return self.prefetch_related("tags")


class ChatSession(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_sessions")
    session_id = models.CharField(max_length=SESSION_ID_LENGTH, unique=True, default=new_session_id, editable=False)
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
    is_pinned = models.BooleanField(default=False)
    # Hidden from the default list, but kept, loadable, searchable (archived:true) and exportable.
    is_archived = models.BooleanField(default=False)
    # The leaf of the active branch (0 while empty): reads and exports follow its parents to the root.
    # New columns have database defaults, so plain SQL that names only the older ones still inserts.
    current_seq = models.PositiveIntegerField(default=0, db_default=0)
    # Set once any message follows another than the one before it (an edit or a regeneration), or the
    # active branch is switched: until then the active branch is simply messages 1..current_seq.
    is_branched = models.BooleanField(default=False, db_default=False)
    # The function definitions the conversation offered the model (OpenAI's `tools` list), as given.
    tools = JSONField(null=True, blank=True)

    objects = ChatSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(Exact(Length("session_id"), SESSION_ID_LENGTH)) & made_of("session_id", SESSION_ID_ALPHABET),
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


# What a reader of a message sees (the API, the Python API, exports), in order; part_blobs is read to put
# large part data back into parts (blobs.restore), not shown.
MESSAGE_READER_FIELDS = (
    "seq",
    "parent_seq",
    "role",
    "content",
    "parts",
    "part_blobs",
    "tool_calls",
    "tool_call_id",
    "name",
    "reasoning",
    "metadata",
    "message_id",
    "token_count",
    "created_at",
)


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

    def on_branch(self, session: "ChatSession", branches: str = "active"):
        """These messages of `session` that lie on its active branch (root to current_seq), or all of them
        with branches="all". Until a session branches, that is simply seq <= current_seq."""
        if branches == "all":
            return self
        if not session.is_branched:
            return self.filter(seq__lte=session.current_seq)
        return self.ending_at(session, session.current_seq)

    def ending_at(self, session: "ChatSession", leaf_seq: int):
        """These messages of `session` that lie on the branch from its first message to `leaf_seq`."""
        return self.filter(seq__in=RawSQL(branch_seqs_sql(), [session.pk, leaf_seq, session.pk]))

    def with_feedback(self):
        """Each message's rating in the same query (a LEFT JOIN), for output that shows it."""
        return self.select_related("feedback")

    def as_rows(self):
        """The fields a reader sees, as dicts in seq order: no model instance per message, which was
        most of the time of loading a 10,000-message session."""
        return self.order_by("seq").values(
            *MESSAGE_READER_FIELDS,
            feedback_rating=F("feedback__rating"),  # one LEFT JOIN, not a query per message
            feedback_reason=F("feedback__reason"),
            feedback_comment=F("feedback__comment"),
        )


def branch_seqs_sql(columns: str = "seq") -> str:
    """SQL whose rows are `columns` of the messages on the branch that ends at a message, from it back to
    the first, following parent_seq through the (session, seq) index. Parameters: the session's primary
    key, the leaf's seq, the session's primary key again. Both databases run recursive CTEs alike."""
    table = "sessions_app_message"
    return f"""WITH RECURSIVE branch (seq, parent_seq, tool_calls) AS (
            SELECT seq, parent_seq, tool_calls FROM {table} WHERE session_id = %s AND seq = %s
            UNION ALL
            SELECT m.seq, m.parent_seq, m.tool_calls FROM {table} m
            JOIN branch ON m.session_id = %s AND m.seq = branch.parent_seq)
        SELECT {columns} FROM branch"""


class Message(models.Model):
    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    # The message this one follows (null for the first); an earlier one than seq - 1 starts a branch.
    parent_seq = models.PositiveIntegerField(null=True, blank=True)
    role = models.CharField(max_length=16, choices=Role)
    # The text: the message's string, or the text of its content parts in order.
    content = models.TextField()
    # OpenAI content parts as given (null for text only), large inline data replaced by blob references
    # that `part_blobs` lists: [{"part", "path", "sha256", "media_type", "size", "name"}].
    parts = JSONField(null=True, blank=True)
    part_blobs = JSONField(null=True, blank=True)
    # Assistant messages: OpenAI's tool_calls list, each call's `arguments` the exact string received.
    tool_calls = JSONField(null=True, blank=True)
    # Tool messages: the call they answer; `name` also names a participant on other roles.
    tool_call_id = models.CharField(max_length=256, blank=True, default="", db_default="")
    name = models.CharField(max_length=128, blank=True, default="", db_default="")
    # The model's thinking, kept apart from the answer.
    reasoning = models.TextField(null=True, blank=True)
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
            # A parent is an earlier message of the same session, so a parent chain cannot loop.
            models.CheckConstraint(
                condition=Q(parent_seq__isnull=True) | Q(parent_seq__gte=1, parent_seq__lt=F("seq")),
                name="message_parent_is_earlier",
            ),
            models.CheckConstraint(
                condition=Q(tool_calls__isnull=True) | Q(role=Role.ASSISTANT), name="message_tool_calls_on_assistant"
            ),
        ]
        indexes = [
            # Analytics counts messages per day over a date range.
            models.Index(fields=["created_at"], name="message_created_at"),
        ]

    def __str__(self):
        return f"{self.session_id}#{self.seq} {self.role}"


class Blob(models.Model):
    """Large inline data of a content part (a base64 image, audio, a file), stored once by its hash
    however many messages carry it, in the database so every app server reads the same."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    data = models.TextField()  # the part's string exactly as given (a data: URL or base64)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.sha256
