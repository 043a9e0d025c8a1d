"""Conversations as every NovaForge database held them before messages carried tools, parts or
branches: plain text turns, user and assistant alternating. Their exports must not change."""

from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model

from curation_app.models import MessageFeedback
from sessions_app import services
from sessions_app.models import ChatSession
from sessions_app.services import NewMessage

# Each session: (session_id, title, system prompt, metadata, turns as (role, content, rating, metadata)).
SESSIONS = [
    ("1" * 12, "DNS basics", "Be kind.", {"mode": "chat"}, [
        ("user", "Explain DNS", None, {}),
        ("assistant", "DNS maps names to addresses.", 1, {"model": "gpt-4o", "latency_ms": 812, "tools": ["search"]}),
        ("user", "Résumé of «War and Peace»? 🙂", None, {}),
        ("assistant", 'Long.\n"Quoted", comma,\r\nand a tab\t.', None, {"prompt_tokens": 12, "completion_tokens": 34}),
    ]),
    ("2" * 12, "", "Be kind.", {}, [
        ("user", "Explain DNS", None, {}),
        ("assistant", "No idea.", -1, {}),
    ]),
    ("3" * 12, "Code talk", "", {"mode": "coding", "project": "x"}, [
        ("user", "Show code", None, {}),
        ("assistant", "Here:\n\n```python\nprint('hi')\n```\n\nDone.", None, {}),
        ("user", "And broken?", None, {}),
        ("assistant", "Truncated: ```` and\n```js\nlet x = 1;", -1, {"mode": "research"}),
    ]),
    ("4" * 12, "Haiku", "", {}, [
        ("user", "Haiku about rain", None, {}),
        ("assistant", "Rain rain rain", -1, {}),
        ("user", "Haiku about rain", None, {}),
        ("assistant", "Soft rain on the roof / ...", 1, {}),
    ]),
    # The same conversation as the first: training formats write it once, csv and markdown twice.
    ("5" * 12, "DNS basics", "Be kind.", {"mode": "chat"}, [
        ("user", "Explain DNS", None, {}),
        ("assistant", "DNS maps names to addresses.", None, {}),
        ("user", "Résumé of «War and Peace»? 🙂", None, {}),
        ("assistant", 'Long.\n"Quoted", comma,\r\nand a tab\t.', None, {}),
    ]),
    ("6" * 12, "", "", {}, [
        ("user", "Mail me at jane.doe@example.com or call +1 (555) 123-4567.", None, {}),
        ("assistant", "Use key sk-proj-abcdefghijklmnopqrstuvwx, then write to bob@example.org.", None, {}),
    ]),
    ("7" * 12, "", "", {}, [("user", "Nobody answered", None, {})]),
    ("8" * 12, "Empty", "", {}, []),
]
STARTED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def build_plain_corpus(username: str = "plain") -> None:
    """Store SESSIONS for a new user, with fixed ids and times so every export is the same bytes."""
    owner = get_user_model().objects.create_user(username=username, password="plain-pw-123!")
    for number, (session_id, title, system_prompt, metadata, turns) in enumerate(SESSIONS):
        started_at = STARTED + timedelta(hours=number)
        session = services.start_session(
            owner=owner, title=title, system_prompt=system_prompt, metadata=metadata,
            started_at=started_at, session_id=session_id,
        )
        if turns:
            stored = services.append_messages(session=session, messages=[
                NewMessage(role=role, content=content, metadata=fields,
                           created_at=started_at + timedelta(minutes=minute))
                for minute, (role, content, _rating, fields) in enumerate(turns, 1)
            ]).messages
            for message, (_role, _content, rating, _fields) in zip(stored, turns, strict=True):
                if rating is not None:
                    MessageFeedback.objects.create(message=message, rating=rating)
        # Fixed, as the transcript shows them.
        ChatSession.objects.filter(pk=session.pk).update(
            updated_at=started_at + timedelta(minutes=30), ended_at=started_at + timedelta(minutes=31)
        )
