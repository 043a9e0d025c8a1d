from django.conf import settings
from django.db import models

from sessions_app.models import ChatSession


class CapturedPrefix(models.Model):
    """One message the proxy recorded, keyed by a hash of the conversation up to and including it.

    A request's messages are a conversation; the longest of its prefixes found here names the session
    (and the message) it continues, in one indexed lookup however many sessions the owner has.
    """

    # No index of its own: the unique constraint below starts with it.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="captured_prefixes")
    # sha256 hex of the canonical conversation up to this message (capture_app.recording.chain_hashes).
    chain_hash = models.CharField(max_length=64)
    seq = models.PositiveIntegerField()  # the stored message's seq in `session`

    class Meta:
        constraints = [
            # Also the index of the lookup: every prefix of a request, for one owner, in one query.
            models.UniqueConstraint(fields=["owner", "chain_hash"], name="captured_prefix_unique_per_owner"),
        ]

    def __str__(self):
        return f"{self.session_id}#{self.seq} {self.chain_hash[:12]}"
