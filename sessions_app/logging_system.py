"""The seed's Python API, for code that runs beside the server:

    from sessions_app.logging_system import LoggingSystem

    logging = LoggingSystem(user="admin")     # starts a session, or resumes one with session_id=
    logging.log_message(role="user", content="How do I...", metadata={"mode": "commander"})
    logging.export_for_training("jsonl")      # also "sharegpt", "csv", "markdown", "dpo"; the file's path

Every call goes through sessions_app.services, so it behaves exactly as the HTTP API does, and returns
what the HTTP API's JSON holds for the same object, as plain dicts and lists.
"""

from novaforge.standalone import as_sent, ensure_django, script_user

ensure_django()

from django.conf import settings  # noqa: E402  (Django must be set up before models are imported)
from django.core.exceptions import ValidationError  # noqa: E402

from novaforge.collector import collector_paused  # noqa: E402

from . import blobs, extensions, services  # noqa: E402
from .filters import ChatSessionFilter  # noqa: E402
from .models import ChatSession, Message  # noqa: E402
from .serializers import ChatSessionSerializer, MessageInputSerializer, MessageSerializer  # noqa: E402

# One serializer for turning checked messages into NewMessage: building one per message cost ~0.4 ms.
_to_new_message = MessageInputSerializer().to_new_message


def _checked(message: dict) -> services.NewMessage:
    """The same field rules as the HTTP API, raised as Django's ValidationError keyed by field."""
    plain = MessageInputSerializer.plain_valid_message(message)
    if plain is not None:
        return _to_new_message(plain)
    incoming = MessageInputSerializer(data=message)
    if not incoming.is_valid():
        raise ValidationError({field: [str(error) for error in errors] for field, errors in incoming.errors.items()})
    return incoming.to_new_message()


class LoggingSystem:
    """One user's current chat session: every logged message is durable when the call returns.

    `user` is a username (by default NOVAFORGE_USER, "admin") or a user; an unknown username is a
    ValidationError unless `create_user=True`.
    """

    def __init__(
        self,
        user=None,
        *,
        session_id: str | None = None,
        title: str = "",
        system_prompt: str = "",
        metadata: dict | None = None,
        create_user: bool = False,
    ):
        self.user = script_user(user or settings.NOVAFORGE["DEFAULT_USER"], create=create_user)
        if session_id:
            self.session = self._owned(session_id)
        else:
            self.session = services.start_session(
                owner=self.user, title=title, system_prompt=system_prompt, metadata=metadata or {}
            )

    def _owned(self, session_id: str) -> ChatSession:
        return ChatSession.objects.owned_by(self.user).by_session_id(session_id)

    @property
    def session_id(self) -> str:
        return self.session.session_id

    def log_message(
        self,
        role: str,
        content: str | list,
        metadata: dict | None = None,
        message_id: str | None = None,
        **fields,
    ) -> dict | None:
        """Store one message now; returns it as the HTTP API shows it, or None when `message_id` was stored already.

        `content` is a string or a list of OpenAI content parts; `fields` are the HTTP API's other message
        fields: parent_seq (a branch), tool_calls, tool_call_id, name, reasoning, created_at.
        """
        new_message = _checked(
            {"role": role, "content": content, "metadata": metadata or {}, "message_id": message_id, **fields}
        )
        result = services.append_messages(session=self.session, messages=[new_message])
        self.session = result.session
        if not result.messages:
            return None
        message = result.messages[0]
        Message.feedback.related.set_cached_value(message, None)  # just written, so unrated: no query to ask
        return as_sent(MessageSerializer(message).data)

    def save_session(self, messages: list[dict] | None = None, **changes) -> dict:
        """Append `messages` (dicts as in the HTTP save) and apply title/metadata changes, all or nothing."""
        new_messages = [_checked(message) for message in messages or []]
        result = services.save_to_session(session=self.session, messages=new_messages, **changes)
        self.session = result.session
        return {
            "session_id": self.session_id,
            "saved": result.saved,
            "duplicates": result.duplicates,
            "message_count": self.session.message_count,
        }

    def load_session(self, session_id: str | None = None, branches: str = "active") -> dict:
        """A session of this user (the current one by default) with the messages of its active branch,
        or every message with branches="all"."""
        session = self._owned(session_id) if session_id else self.session
        body = as_sent(ChatSessionSerializer(session).data)
        with collector_paused():
            rows = list(session.messages.on_branch(session, branches).as_rows())
            blobs.restore(rows)
            # Not through as_sent: rows read from the database hold JSON values already, and a session's
            # messages can run to megabytes.
            body["messages"] = list(MessageSerializer(rows, many=True).data)
        return body

    def switch_branch(self, seq: int) -> dict:
        """Make the branch ending at message `seq` the active one; returns the session."""
        self.session = services.update_session(session=self.session, current_seq=seq)
        return as_sent(ChatSessionSerializer(self.session).data)

    def list_sessions(self, **filters) -> list[dict]:
        """This user's sessions, pinned first, then newest first, with the HTTP list's filters (q, mode...)."""
        sessions = ChatSessionFilter(
            filters, queryset=ChatSession.objects.owned_by(self.user).with_tags().in_list_order()
        )
        if not sessions.is_valid():
            raise ValidationError(dict(sessions.errors))
        return as_sent(ChatSessionSerializer(sessions.qs, many=True).data)

    def export_for_training(self, fmt: str = "jsonl", **options) -> str:
        """Write this user's sessions as `fmt` (jsonl, sharegpt, csv, markdown, dpo); returns the file's path.

        `options` are the export command's: output, redact_pii, dedupe, max_tokens, validation_fraction
        (then the training file's path is returned, the validation file beside it), rating.
        """
        export_sessions = extensions.python_api("export_sessions")
        return export_sessions(sessions=ChatSession.objects.owned_by(self.user), fmt=fmt, **options)

    def end_session(self) -> dict:
        """End the current session and return it; the next LoggingSystem starts a new one."""
        self.session = services.end_session(session=self.session)
        return as_sent(ChatSessionSerializer(self.session).data)

    def rate(self, seq: int, rating: int, reason: str | None = None, comment: str | None = None) -> dict:
        """Rate assistant message `seq` of the current session +1 or -1; rating again replaces the rating.
        Returns the rating as the HTTP API's feedback endpoint does."""
        try:
            message = self.session.messages.get(seq=seq)
        except Message.DoesNotExist:
            raise ValidationError({"seq": f"Session {self.session_id} has no message {seq}."}) from None
        rate_message = extensions.python_api("rate_message")
        return as_sent(rate_message(message=message, rating=rating, reason=reason or "", comment=comment or ""))
