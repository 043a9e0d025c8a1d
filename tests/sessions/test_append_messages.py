"""The write path through the service: what it returns and what it stores, also under concurrent writers."""

import threading

import pytest
from django.db import connection

from sessions_app import services
from sessions_app.models import ChatSession, Message
from sessions_app.services import NewMessage
from tests.factories import make_session, make_user


def test_appended_messages_come_back_as_the_stored_rows(alice_session):
    result = services.append_messages(
        session=alice_session,
        messages=[NewMessage(role="user", content="Hello", metadata={"mode": "coder"}, message_id="c-1"),
                  NewMessage(role="assistant", content="Hi ✓", metadata={"model": "m", "tools": ["a"]})],
    )
    stored = list(Message.objects.filter(session=alice_session).order_by("seq"))
    assert [(m.pk, m.seq, m.content, m.metadata, m.message_id) for m in result.messages] == [
        (m.pk, m.seq, m.content, m.metadata, m.message_id) for m in stored
    ]
    assert all(m.token_count > 0 for m in stored)
    assert stored[0].created_at == stored[1].created_at
    assert result.messages[0].session == alice_session


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_contiguous_seqs():
    session = make_session(make_user("carol"))
    errors = []

    def write(writer):
        try:
            for batch in range(5):
                services.append_messages(
                    session=session,
                    messages=[NewMessage(role="user", content=f"{writer}-{batch}-{n}") for n in range(3)],
                )
        except Exception as error:  # reported below: a thread's exception would otherwise vanish
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = list(Message.objects.filter(session=session).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 61))
    assert ChatSession.objects.get(pk=session.pk).message_count == 60


@pytest.mark.parametrize("message_id", [None, "m-1"], ids=["plain", "with-message-id"])
def test_the_counters_and_mode_move_with_each_append(alice_session, message_id):
    first = services.append_messages(
        session=alice_session, messages=[NewMessage(role="user", content="one two three", message_id=message_id)]
    )
    second = services.append_messages(
        session=first.session,
        messages=[NewMessage(role="assistant", content="four", metadata={"mode": "coder"}),
                  NewMessage(role="user", content="five", metadata={"mode": "writer"})],
    )
    stored = ChatSession.objects.get(pk=alice_session.pk)
    assert [m.seq for m in second.messages] == [2, 3]
    assert (stored.message_count, stored.mode) == (3, "coder")  # the first mode given is kept
    assert stored.token_count == sum(Message.objects.filter(session=stored).values_list("token_count", flat=True))
    assert (second.session.message_count, second.session.token_count, second.session.mode) == (
        stored.message_count, stored.token_count, stored.mode)


@pytest.mark.parametrize("message_id", [None, "m-1"], ids=["plain", "with-message-id"])
def test_appending_to_an_ended_or_deleted_session_writes_nothing(alice_session, message_id):
    from django.core.exceptions import ValidationError

    services.end_session(session=alice_session)
    with pytest.raises(ValidationError, match="has ended"):
        services.append_messages(session=alice_session, messages=[NewMessage(role="user", content="late", message_id=message_id)])
    assert ChatSession.objects.get(pk=alice_session.pk).message_count == 0
    ChatSession.objects.filter(pk=alice_session.pk).delete()
    with pytest.raises(ChatSession.DoesNotExist):
        services.append_messages(session=alice_session, messages=[NewMessage(role="user", content="gone", message_id=message_id)])
    assert not Message.objects.filter(session_id=alice_session.pk).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("write", ["append", "save"])
def test_tokens_are_counted_before_the_write_transaction_begins(monkeypatch, write):
    # On SQLite the transaction holds the database's one write lock: counting inside it made
    # concurrent saves queue behind each other's token counting.
    session = make_session(make_user("dave"))
    counted_in_transaction = []

    def count_tokens(text):
        counted_in_transaction.append(connection.in_atomic_block)
        return len(text)

    monkeypatch.setattr(services, "count_tokens", count_tokens)
    messages = [NewMessage(role="user", content="hello"), NewMessage(role="assistant", content="hi there")]
    if write == "append":
        result = services.append_messages(session=session, messages=messages)
    else:
        result = services.save_to_session(session=session, messages=messages, title="Greetings")
    assert counted_in_transaction == [False, False]
    assert [m.token_count for m in result.messages] == [5, 8]
    assert ChatSession.objects.get(pk=session.pk).token_count == 13
