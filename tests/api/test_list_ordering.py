"""The session list's `ordering` always gives a stable order, so pages neither overlap nor skip rows."""

import pytest

from tests.factories import make_session


def session_ids(alice_api, query):
    response = alice_api.get(f"/api/sessions/?{query}")
    assert response.status_code == 200, response.content[:300]
    return [session["session_id"] for session in response.json()["results"]]


@pytest.mark.parametrize("ordering", [",", ",,,", "title,", ",-title"])
def test_an_ordering_with_an_empty_name_is_refused(alice_api, alice_session, ordering):
    response = alice_api.get("/api/sessions/", {"ordering": ordering})
    assert response.status_code == 400
    assert "ordering" in response.json()
    assert alice_api.post("/api/sessions/list", {"ordering": ordering}, format="json").status_code == 400


def test_pages_of_sessions_that_tie_on_the_ordering_hold_each_session_once(alice_api, alice):
    made = {make_session(alice, title="same").session_id for _ in range(7)}
    for ordering in ("title", "-title", "message_count", "is_pinned"):
        seen = []
        for page in range(1, 5):
            seen += session_ids(alice_api, f"ordering={ordering}&page_size=2&page={page}")
        assert sorted(seen) == sorted(made), ordering
        assert session_ids(alice_api, f"ordering={ordering}") == session_ids(alice_api, f"ordering={ordering}")
