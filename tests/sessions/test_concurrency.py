"""Writers racing on one session never share a seq and never leave a gap (SQLite and PostgreSQL)."""

import threading

import pytest
from django.db import connection

from sessions_app import services
from sessions_app.models import ChatSession
from sessions_app.services import NewMessage
from tests.factories import make_session, make_user

WRITERS = 8
MESSAGES_EACH = 100


@pytest.mark.django_db(transaction=True)
def test_eight_threads_appending_to_one_session_get_seq_1_to_800():
    session = make_session(make_user("racer"))
    errors = []
    start = threading.Barrier(WRITERS)

    def writer(number):
        try:
            start.wait()
            for n in range(MESSAGES_EACH):
                services.append_messages(
                    session=session, messages=[NewMessage(role="user", content=f"w{number}-{n}", message_id=f"w{number}-{n}")]
                )
        except Exception as error:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    seqs = list(session.messages.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, WRITERS * MESSAGES_EACH + 1))
    assert ChatSession.objects.get(pk=session.pk).message_count == WRITERS * MESSAGES_EACH
    # Each writer's own messages are stored in the order it sent them.
    for number in range(WRITERS):
        contents = list(session.messages.filter(message_id__startswith=f"w{number}-").order_by("seq").values_list("content", flat=True))
        assert contents == [f"w{number}-{n}" for n in range(MESSAGES_EACH)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_message_id_store_it_once():
    session = make_session(make_user("retrier"))
    start = threading.Barrier(WRITERS)

    def retry():
        try:
            start.wait()
            services.append_messages(session=session, messages=[NewMessage(role="user", content="once", message_id="same")])
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert list(session.messages.values_list("seq", "message_id")) == [(1, "same")]
