import hashlib
import re
import unicodedata

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Left, Length, Substr
from django.db.models.lookups import Exact, In, Range
from django.utils import timezone

from novaforge.db.conditions import DIGITS, LOWERCASE_ALPHANUMERICS, made_of
from novaforge.fields import JSONField
from sessions_app.models import ChatSession

CATEGORY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
DEFAULT_CATEGORY = "general"
# YYYY-MM: four digits, then "-01" to "-12".
IS_A_MONTH = (
    Q(Exact(Length("month"), 7))
    & made_of(Left("month", 4), DIGITS)
    & Q(In(Substr("month", 5), [f"-{month:02d}" for month in range(1, 13)]))
)


class Layer(models.TextChoices):
    SHORT_TERM = "short_term"
    LONG_TERM = "long_term"
    WORKING = "working"
    EPISODIC = "episodic"


# Layers the full-text index holds (see search.py); short-term lines are copies of messages, which
# have their own index, and working tasks are read by status, not searched.
SEARCHABLE_LAYERS = (Layer.LONG_TERM, Layer.EPISODIC)
# Layers whose frequently read items consolidation copies into long-term memory.
PROMOTABLE_LAYERS = (Layer.SHORT_TERM, Layer.WORKING)


class TaskStatus(models.TextChoices):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


def fingerprint_of(text: str) -> str:
    """The identity of a fact: case, spacing, Unicode forms and closing punctuation do not matter."""
    normalised = unicodedata.normalize("NFKC", text).casefold()
    normalised = re.sub(r"\s+", " ", normalised).strip().rstrip(".!?;, ")
    return hashlib.sha256(normalised.encode()).hexdigest()


class MemoryItemQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(owner=user)

    def in_layer(self, layer):
        return self.filter(layer=layer)

    def open_tasks(self):
        return self.filter(layer=Layer.WORKING, status=TaskStatus.OPEN)

    def promotion_candidates(self, *, threshold: int):
        # last_accessed_at: the condition of the partial index that serves this scan.
        return self.filter(
            last_accessed_at__isnull=False, promoted_at__isnull=True, layer__in=PROMOTABLE_LAYERS, access_count__gte=threshold
        )


class MemoryItem(models.Model):
    """One remembered thing of one user, in one of four layers.

    short_term: a line of one session's recent conversation ("User: ...").
    long_term:  a fact, de-duplicated per user by `fingerprint`; `strength` counts how often it was added.
    working:    a task; `text` is its goal, with `status` and a `context` object.
    episodic:   one per session: `title`, `month`, `text` (the digest as prose) and `digest` (as data).
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memory_items", db_index=False
    )
    # Deleting a session deletes what memory took from it, episode and search entries included.
    session = models.ForeignKey(
        ChatSession, on_delete=models.CASCADE, null=True, blank=True, related_name="memory_items", db_index=False
    )
    layer = models.CharField(max_length=16, choices=Layer)
    category = models.CharField(max_length=64, default=DEFAULT_CATEGORY)
    title = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    fingerprint = models.CharField(max_length=64, null=True, blank=True, editable=False)
    strength = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=TaskStatus, blank=True)
    context = JSONField(default=dict, blank=True)
    month = models.CharField(max_length=7, blank=True)
    digest = JSONField(default=dict, blank=True)
    access_count = models.PositiveIntegerField(default=0)
    # Provenance of a promoted item: the layer it was copied from (on the copy) and when (on the source).
    promoted_from = models.CharField(max_length=16, choices=Layer, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    last_accessed_at = models.DateTimeField(null=True, blank=True)

    objects = MemoryItemQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(layer__in=Layer.values), name="memory_layer_valid"),
            # CATEGORY_PATTERN and MONTH_PATTERN, spelled without REGEXP (see novaforge/db/conditions.py).
            models.CheckConstraint(
                condition=(
                    Q(Range(Length("category"), (1, 64)))
                    & made_of(Left("category", 1), LOWERCASE_ALPHANUMERICS)
                    & made_of("category", LOWERCASE_ALPHANUMERICS + "_-")
                ),
                name="memory_category_is_slug",
            ),
            models.CheckConstraint(
                condition=(Q(layer=Layer.WORKING, status__in=TaskStatus.values) | (~Q(layer=Layer.WORKING) & Q(status=""))),
                name="memory_status_only_for_tasks",
            ),
            models.CheckConstraint(
                condition=(
                    (Q(layer=Layer.EPISODIC) & IS_A_MONTH) | (~Q(layer=Layer.EPISODIC) & Q(month=""))
                ),
                name="memory_month_only_for_episodes",
            ),
            models.CheckConstraint(
                condition=~Q(layer__in=[Layer.SHORT_TERM, Layer.EPISODIC]) | Q(session__isnull=False),
                name="memory_short_term_and_episodes_have_session",
            ),
            models.CheckConstraint(
                condition=Q(layer=Layer.LONG_TERM, fingerprint__isnull=False) | (~Q(layer=Layer.LONG_TERM) & Q(fingerprint__isnull=True)),
                name="memory_fingerprint_only_for_facts",
            ),
            models.CheckConstraint(condition=Q(strength__gte=1), name="memory_strength_positive"),
            # De-duplication: one row per fact and user; adding it again strengthens that row. Not partial
            # (only facts have a fingerprint; NULLs never collide): SQLite uses a partial index only when
            # a query spells its WHERE in literals, and Django sends parameters.
            models.UniqueConstraint(fields=["owner", "fingerprint"], name="memory_long_term_fact_unique"),
            models.UniqueConstraint(
                fields=["session"], condition=Q(layer=Layer.EPISODIC), name="memory_one_episode_per_session"
            ),
        ]
        indexes = [
            # The item list and the Python API: one user's items of a layer (and category), newest first;
            # also episodes by month and long-term facts by strength (few rows per user and layer).
            models.Index(fields=["owner", "layer", "category", "-id"], name="memory_owner_layer_category"),
            # Short-term: a session's newest N (trimming, recent items) and clearing it when the session ends.
            models.Index(fields=["session", "layer", "-id"], name="memory_session_layer"),
            # Consolidation's scan, in id order, for items read and not promoted yet. Items never read
            # (every new short-term line) stay out of it, so the message write path does not maintain it.
            # IS NULL conditions only: those are the ones SQLite matches against Django's queries.
            models.Index(
                fields=["id"],
                condition=Q(last_accessed_at__isnull=False, promoted_at__isnull=True),
                name="memory_promotion_candidates",
            ),
        ]

    def __str__(self):
        return f"{self.layer} #{self.pk}: {self.text[:60]}"
