import time

from sessions_app.models import ChatSession

SESSION_HEADER = "X-NovaForge-Session-Id"


def wait_for(condition, *, timeout: float = 10.0):
    """Recording runs beside the answer: poll until `condition()` is truthy and return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def stored(session_id: str, count: int) -> list[dict]:
    """The messages of `session_id` once it holds `count` of them."""
    wait_for(lambda: ChatSession.objects.filter(session_id=session_id, message_count__gte=count).exists())
    return list(ChatSession.objects.get(session_id=session_id).messages.as_rows())


def chat(client, **request):
    """A completion through `client`, with the session NovaForge recorded it in: (completion, session_id)."""
    raw = client.chat.completions.with_raw_response.create(**request)
    return raw.parse(), raw.headers[SESSION_HEADER]


def chat_streamed(client, **request):
    """A streamed completion read to its end: (chunks, session_id)."""
    raw = client.chat.completions.with_raw_response.create(stream=True, **request)
    return list(raw.parse()), raw.headers[SESSION_HEADER]


def errors_noted(session_id: str) -> list[dict]:
    """The upstream errors noted on `session_id`, once there are some."""

    def noted():
        session = ChatSession.objects.filter(session_id=session_id).first()
        return session.metadata.get("capture_errors") if session else None

    return wait_for(noted) or []
