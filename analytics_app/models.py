from django.conf import settings
from django.db import models

from novaforge.fields import JSONField

# Analytics rollups (rollups.py): per owner and UTC day, what the summary would otherwise
# aggregate from every message of its window. Recomputed from messages for the days a trigger marked stale.
# The tables keep the names they had before analytics was an app of its own (the triggers write them).


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
        db_table = "sessions_app_staleday"
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
        db_table = "sessions_app_dailyactivity"
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
        db_table = "sessions_app_dailylatency"
        constraints = [models.UniqueConstraint(fields=["owner", "day"], name="daily_latency_unique")]


class DailyToolUse(models.Model):
    """How often one owner's messages of a day named each tool."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    name = models.CharField(max_length=100)
    uses = models.PositiveIntegerField()

    class Meta:
        db_table = "sessions_app_dailytooluse"
        constraints = [models.UniqueConstraint(fields=["owner", "day", "name"], name="daily_tool_use_unique")]
