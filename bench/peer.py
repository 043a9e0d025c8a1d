"""The peer: LangChain's SQLChatMessageHistory, installed only by `make bench` (bench/requirements.txt)."""

import warnings

NOT_INSTALLED = "peer not installed"


def available() -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import langchain_community.chat_message_histories  # noqa: F401
            import sqlalchemy  # noqa: F401
    except ImportError:
        return False
    return True


class Peer:
    """One LangChain chat history store on its own database file (or the scratch PostgreSQL database).

    `our_pragmas` sets WAL and synchronous=FULL on every SQLite connection, as our settings do;
    otherwise SQLite runs as LangChain leaves it (the rollback journal, synchronous=FULL).
    """

    def __init__(self, url: str, *, our_pragmas: bool):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from langchain_community.chat_message_histories import SQLChatMessageHistory
            from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
        from sqlalchemy import create_engine, event

        self.engine = create_engine(url)
        if our_pragmas:
            @event.listens_for(self.engine, "connect")
            def _pragmas(connection, _record):
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=FULL")
                cursor.close()

        self._history = SQLChatMessageHistory
        self._classes = {"user": HumanMessage, "assistant": AIMessage, "system": SystemMessage}
        self._tool = ToolMessage

    def history(self, session_id: str):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._history(session_id=session_id, connection=self.engine)

    def message(self, role: str, content: str, metadata: dict):
        if role == "tool":
            return self._tool(content=content, tool_call_id="call", additional_kwargs={"metadata": metadata})
        return self._classes[role](content=content, additional_kwargs={"metadata": metadata})

    def close(self):
        self.engine.dispose()
