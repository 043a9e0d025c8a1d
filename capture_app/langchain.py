"""A LangChain chat message history kept as a NovaForge session:

    from capture_app.langchain import NovaForgeChatMessageHistory

    history = NovaForgeChatMessageHistory(user="admin")       # a new session; or session_id="<12 hex>"
    history.add_messages([HumanMessage("Hi"), AIMessage("Hello!")])
    history.messages                                          # the session's active branch, as LangChain messages

Messages go through the same adapter as the capture proxy (OpenAI's message shape), so an AIMessage's
tool calls are the message's tool_calls, a ToolMessage is a tool message answering one, content parts
stay parts. A message's LangChain id and metadata ride along in its NovaForge metadata.
"""

from novaforge.standalone import ensure_django, script_user

ensure_django()

from asgiref.sync import sync_to_async  # noqa: E402  (Django must be set up before models are imported)
from django.conf import settings  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.db import transaction  # noqa: E402
from langchain_core.chat_history import BaseChatMessageHistory  # noqa: E402
from langchain_core.messages import BaseMessage, convert_to_messages, convert_to_openai_messages  # noqa: E402

from sessions_app import blobs, services  # noqa: E402
from sessions_app.ids import SESSION_ID_ERROR, is_session_id  # noqa: E402
from sessions_app.models import ChatSession, new_session_id  # noqa: E402

from .recording import to_new_message  # noqa: E402

# Where a message's LangChain-only fields are kept in its metadata.
EXTRAS_KEY = "langchain"
REASONING_KWARG = "reasoning_content"  # where LangChain's OpenAI-compatible models put reasoning


class NovaForgeChatMessageHistory(BaseChatMessageHistory):
    """The messages of one NovaForge session of `user` (a username or a user), on its active branch.

    The session is made on the first add; `clear()` deletes it (a later add starts it afresh under the
    same id). `user` defaults to NOVAFORGE_USER; an unknown username is a ValidationError unless
    `create_user=True`.
    """

    def __init__(self, session_id: str | None = None, *, user=None, title: str = "", create_user: bool = False):
        if session_id is not None and not is_session_id(session_id):
            raise ValidationError({"session_id": SESSION_ID_ERROR})
        self.user = script_user(user or settings.NOVAFORGE["DEFAULT_USER"], create=create_user)
        self.session_id = session_id or new_session_id()
        self.title = title

    def _session(self) -> ChatSession | None:
        return ChatSession.objects.owned_by(self.user).filter(session_id=self.session_id).first()

    @property
    def messages(self) -> list[BaseMessage]:
        session = self._session()
        if session is None:
            return []
        rows = list(session.messages.on_branch(session).as_rows())
        blobs.restore(rows)
        return [_as_langchain(row) for row in rows]

    def add_messages(self, messages) -> None:
        new_messages = [_as_new_message(message) for message in messages]
        with transaction.atomic():
            session = self._session() or self._start(messages)
            services.append_messages(session=session, messages=new_messages)

    def _start(self, messages) -> ChatSession:
        if ChatSession.objects.filter(session_id=self.session_id).exists():
            raise ValidationError({"session_id": f"Session {self.session_id} belongs to another user."})
        return services.start_session(
            owner=self.user, title=self.title or _title(messages), session_id=self.session_id,
            metadata={"source": "langchain"},
        )  # fmt: skip

    def clear(self) -> None:
        session = self._session()
        if session is not None:
            services.delete_session(session=session)

    # Django's database work runs on its thread for sync code, never on the event loop.

    async def aget_messages(self) -> list[BaseMessage]:
        return await sync_to_async(lambda: self.messages)()

    async def aadd_messages(self, messages) -> None:
        await sync_to_async(self.add_messages)(list(messages))

    async def aclear(self) -> None:
        await sync_to_async(self.clear)()


def _title(messages) -> str:
    first = next((m.text for m in messages if m.type == "human"), "")
    return " ".join(first.split())[: ChatSession._meta.get_field("title").max_length]


def _as_new_message(message: BaseMessage) -> services.NewMessage:
    (sent,) = convert_to_openai_messages([message])
    kwargs = dict(message.additional_kwargs)
    if isinstance(kwargs.get(REASONING_KWARG), str):
        sent[REASONING_KWARG] = kwargs.pop(REASONING_KWARG)
    kwargs.pop("tool_calls", None)  # the message's own tool_calls were converted above
    extras = {"id": message.id, "additional_kwargs": kwargs, "response_metadata": message.response_metadata}
    extras = {name: value for name, value in extras.items() if value}
    return to_new_message(sent, metadata={EXTRAS_KEY: extras} if extras else {})


def _as_langchain(row: dict) -> BaseMessage:
    sent = {"role": row["role"], "content": row["parts"] if row["parts"] is not None else row["content"]}
    for name in ("tool_calls", "tool_call_id", "name"):
        if row[name]:
            sent[name] = row[name]
    (message,) = convert_to_messages([sent])
    extras = (row["metadata"] or {}).get(EXTRAS_KEY) or {}
    kwargs = dict(extras.get("additional_kwargs") or {})
    if row["reasoning"] is not None:
        kwargs[REASONING_KWARG] = row["reasoning"]
    changes = {
        "id": extras.get("id"),
        "additional_kwargs": kwargs,
        "response_metadata": extras.get("response_metadata"),
    }
    return message.model_copy(update={name: value for name, value in changes.items() if value})


__all__ = ["NovaForgeChatMessageHistory"]
