"""Our database backends read back exactly what Django's own would."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from sessions_app import services
from sessions_app.models import Message
from sessions_app.services import NewMessage

MOMENTS = [
    datetime(2026, 11, 25, 3, 4, 5, 678901, tzinfo=UTC),
    datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds: written without a fraction
    datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
    datetime(2026, 6, 1, 12, 0, 0, 500000, tzinfo=timezone(timedelta(hours=5, minutes=30))),
]


@pytest.mark.parametrize("moment", MOMENTS, ids=lambda moment: moment.isoformat())
def test_stored_timestamps_read_back_as_the_same_instant_in_utc(alice_session, moment):
    stored = services.append_messages(
        session=alice_session, messages=[NewMessage(role="user", content="when?", created_at=moment)]
    ).messages[0]
    read = Message.objects.get(pk=stored.pk).created_at
    assert read == moment
    assert read.utcoffset() == timedelta(0)
    if connection.vendor == "postgresql":
        assert read.tzinfo is UTC  # the tzinfo Django's own loader gives
