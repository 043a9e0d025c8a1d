"""The two moments other apps react to; memory_app connects to both in its AppConfig.ready()."""

from django.dispatch import Signal

# Sent inside the write transaction, after messages are stored: kwargs `session`, `messages` (saved rows)
# and `live`: False when the messages are past history (an import), not turns of a conversation going on
# now, so nothing that follows a live conversation (short-term memory) should take them.
messages_appended = Signal()

# Sent inside the transaction that ends a session: kwarg `session`.
session_ended = Signal()
