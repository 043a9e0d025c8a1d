"""Builders for rows in tests: they go through the services, as real writers do."""

from django.contrib.auth import get_user_model

from sessions_app import services
from sessions_app.services import NewMessage


def make_user(username: str, **fields):
    return get_user_model().objects.create_user(username=username, password=f"{username}-pw-123!", **fields)


def make_session(owner, **fields):
    return services.start_session(owner=owner, **fields)


def add_messages(session, *turns, **fields):
    """Append turns given as (role, content) pairs; returns the stored messages."""
    result = services.append_messages(
        session=session, messages=[NewMessage(role=role, content=content, **fields) for role, content in turns]
    )
    return result.messages


def make_conversation(owner, turns=(("user", "Hello"), ("assistant", "Hi! How can I help?")), **fields):
    session = make_session(owner, **fields)
    add_messages(session, *turns)
    session.refresh_from_db()
    return session
