"""Deleting a session deletes everything that hangs off it (messages, feedback, and whatever other
apps attach to it), whichever way it is deleted; other sessions keep theirs."""

import pytest

from curation_app import services
from memory_app import services as memory_services
from tests.factories import add_messages, make_session, make_user

from .ownership import rows_of_session, still_existing

WORD = "oolongzq"  # a word only the doomed session's messages and memory hold


@pytest.fixture
def doomed(alice):
    session = make_session(alice, title="to delete", metadata={"mode": "research"})
    messages = add_messages(session, ("user", f"remember that I like {WORD}"), ("assistant", f"Noted: {WORD}."))
    services.rate_message(message=messages[1], rating=1)
    services.curate_session(session=session, tags=["doomed"])
    services.share_session(session=session)
    memory_services.remember_fact(owner=alice, text=f"likes {WORD}", session=session)
    memory_services.add_task(owner=alice, goal=f"buy {WORD}", session=session)
    return session


@pytest.fixture
def kept(alice):
    session = make_session(alice, title="to keep")
    add_messages(session, ("user", "and coffee"))
    return session


def assert_gone_and_others_kept(doomed_rows, kept_session, kept_rows):
    assert still_existing(doomed_rows) == {}
    assert rows_of_session(kept_session) == kept_rows


def found_by_search(client) -> bool:
    """Whether memory search (over memory items, then over messages) returns anything for WORD."""
    return any(client.get(f"/api/memory/search/?q={WORD}&scope={scope}").json()["results"] for scope in ("memory", "messages"))


def test_deleting_through_the_api_takes_everything_with_it(alice_api, doomed, kept):
    doomed_rows, kept_rows = rows_of_session(doomed), rows_of_session(kept)
    # The session, its messages, feedback, tag link, share link and memory items at least.
    assert sum(map(len, doomed_rows.values())) >= 8
    assert found_by_search(alice_api)
    assert alice_api.delete(f"/api/sessions/{doomed.session_id}/").status_code == 204
    assert not found_by_search(alice_api), "the search index still finds the deleted session's words"
    assert_gone_and_others_kept(doomed_rows, kept, kept_rows)
    assert alice_api.post("/api/sessions/load", {"session_id": doomed.session_id}, format="json").status_code == 404
    assert alice_api.get("/api/sessions/?q=to").json()["count"] == 1


def test_deleting_in_the_admin_takes_everything_with_it(client, doomed, kept):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    doomed_rows, kept_rows = rows_of_session(doomed), rows_of_session(kept)
    response = client.post(f"/admin/sessions_app/chatsession/{doomed.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert_gone_and_others_kept(doomed_rows, kept, kept_rows)


def test_deleting_selected_sessions_in_the_admin_takes_everything_with_them(client, doomed, kept):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    doomed_rows, kept_rows = rows_of_session(doomed), rows_of_session(kept)
    response = client.post(
        "/admin/sessions_app/chatsession/", {"action": "delete_selected", "_selected_action": [doomed.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert_gone_and_others_kept(doomed_rows, kept, kept_rows)


def test_deleting_a_user_takes_all_their_sessions(alice, doomed, kept):
    rows = {**rows_of_session(doomed)}
    for model, pks in rows_of_session(kept).items():
        rows[model] = rows.get(model, []) + pks
    alice.delete()
    assert still_existing(rows) == {}
