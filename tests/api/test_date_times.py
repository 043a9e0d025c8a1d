"""Date-times from HTTP and from Python are read one way: compared in UTC, whatever the offset given."""

from datetime import UTC, datetime, timedelta, timezone

from sessions_app.logging_system import LoggingSystem


def test_the_python_api_filters_by_datetime_objects(alice, alice_session):
    logging = LoggingSystem(user=alice)
    assert logging.list_sessions(started_after=datetime(2000, 1, 1, tzinfo=UTC)) == logging.list_sessions()
    assert logging.list_sessions(started_before=datetime(2000, 1, 1, tzinfo=UTC)) == []


def test_an_offset_moves_the_moment_compared(alice_api, alice_session):
    started = alice_session.started_at
    east = started.astimezone(timezone(timedelta(hours=14)))
    west = started.astimezone(timezone(-timedelta(hours=12)))
    for moment in (east, west):
        assert alice_api.get("/api/sessions/", {"started_after": moment.isoformat()}).json()["count"] == 1
        assert alice_api.get("/api/sessions/", {"started_before": moment.isoformat()}).json()["count"] == 0
