from django.conf import settings
from django.db import models
from django.utils import timezone

from sessions_app.models import ChatSession


class ImportSource(models.TextChoices):
    CHATGPT = "chatgpt"
    CLAUDE = "claude"
    JSONL = "jsonl"


class ImportedConversation(models.Model):
    """A conversation taken from another tool's export, remembered so that importing it again adds nothing."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="imported_conversations")
    # Deleting the session forgets the import, so the conversation can be imported again.
    session = models.OneToOneField(ChatSession, on_delete=models.CASCADE, related_name="import_record")
    source = models.CharField(max_length=16, choices=ImportSource)
    external_id = models.CharField(max_length=128)  # the source's conversation id, or a digest of the line
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Also the index the importer's "seen already?" lookup uses.
            models.UniqueConstraint(fields=["owner", "source", "external_id"], name="imported_conversation_once_per_owner"),
        ]

    def __str__(self):
        return f"{self.source}:{self.external_id} -> {self.session_id}"
