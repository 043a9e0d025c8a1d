from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.logging_system import LoggingSystem
from tests.factories import make_session


def patch(client, session, body):
    return client.patch(f"/api/sessions/{session.session_id}/", body, format="json")


def listed(client, **params):
    response = client.get("/api/sessions/", params)
    assert response.status_code == 200, response.json()
    return [session["title"] for session in response.json()["results"]]


def posted_list(client, **body):
    response = client.post("/api/sessions/list", body, format="json")
    assert response.status_code == 200, response.json()
    return [session["title"] for session in response.json()["results"]]


@pytest.fixture
def sessions(alice):
    """Four of alice's sessions, the newest last; titles say what they are."""
    start = timezone.now() - timedelta(days=10)
    made = {}
    for n, title in enumerate(["work plan", "holiday", "old work", "notes"]):
        made[title] = make_session(alice, title=title, started_at=start + timedelta(days=n))
    return made


def test_patch_sets_tags_normalised_and_answers_them(alice_api, sessions):
    response = patch(alice_api, sessions["work plan"], {"tags": ["  Work ", "Q3   Plans", "work"]})
    assert response.status_code == 200
    assert response.json()["tags"] == ["q3 plans", "work"]
    assert alice_api.get(f"/api/sessions/{sessions['work plan'].session_id}").json()["tags"] == ["q3 plans", "work"]


def test_patch_replaces_tags_and_keeps_the_last_activity(alice_api, sessions):
    session = sessions["work plan"]
    patch(alice_api, session, {"tags": ["work", "urgent"]})
    response = patch(alice_api, session, {"tags": ["work"], "is_pinned": True})
    assert (response.json()["tags"], response.json()["is_pinned"]) == (["work"], True)
    assert response.json()["updated_at"] == alice_api.get(f"/api/sessions/{session.session_id}").json()["updated_at"]
    session_before = session.updated_at
    session.refresh_from_db()
    assert session.updated_at == session_before


@pytest.mark.parametrize(
    "body",
    [
        {"tags": [""]},
        {"tags": ["x" * 51]},
        {"tags": "work"},
        {"tags": [7]},
        {"tags": [f"t{n}" for n in range(21)]},
        {"tags": ['say "hi"']},
        {"is_pinned": "yes"},
        {"is_archived": 1},
    ],
)
def test_bad_curation_input_is_400_naming_the_field_and_changes_nothing(alice_api, sessions, body):
    session = sessions["notes"]
    patch(alice_api, session, {"tags": ["keep"]})
    response = patch(alice_api, session, {"title": "renamed", **body})
    assert response.status_code == 400
    assert set(body) <= set(response.json())
    unchanged = alice_api.get(f"/api/sessions/{session.session_id}").json()
    assert (unchanged["title"], unchanged["tags"], unchanged["is_pinned"], unchanged["is_archived"]) == (
        "notes",
        ["keep"],
        False,
        False,
    )


def test_start_refuses_curation_fields(alice_api):
    response = alice_api.post("/api/sessions/start", {"title": "x", "tags": ["work"]}, format="json")
    assert response.status_code == 400
    assert "tags" in response.json()


def test_pinned_sessions_come_first_then_newest(alice_api, sessions):
    patch(alice_api, sessions["holiday"], {"is_pinned": True})
    assert listed(alice_api) == ["holiday", "notes", "old work", "work plan"]
    assert posted_list(alice_api) == ["holiday", "notes", "old work", "work plan"]


def test_archived_sessions_are_hidden_by_default_but_kept_and_loadable(alice_api, sessions):
    archived = sessions["old work"]
    assert patch(alice_api, archived, {"is_archived": True}).json()["is_archived"] is True
    assert listed(alice_api) == ["notes", "holiday", "work plan"]
    assert posted_list(alice_api) == ["notes", "holiday", "work plan"]
    assert alice_api.get(f"/api/sessions/{archived.session_id}/").status_code == 200
    loaded = alice_api.post("/api/sessions/load", {"session_id": archived.session_id}, format="json")
    assert loaded.status_code == 200
    assert listed(alice_api, q="archived:true") == ["old work"]
    assert listed(alice_api, q="archived:any") == ["notes", "old work", "holiday", "work plan"]
    assert patch(alice_api, archived, {"is_archived": False}).status_code == 200
    assert "old work" in listed(alice_api)


def test_the_query_syntax_filters_by_tag_pin_archive_and_words(alice_api, sessions):
    patch(alice_api, sessions["work plan"], {"tags": ["work", "q3"], "is_pinned": True})
    patch(alice_api, sessions["old work"], {"tags": ["Work"], "is_archived": True})
    patch(alice_api, sessions["notes"], {"tags": ["deep work"]})
    assert listed(alice_api, q="tag:work") == ["work plan"]
    assert listed(alice_api, q="TAG:WORK archived:any") == ["work plan", "old work"]
    assert listed(alice_api, q="tag:work tag:q3") == ["work plan"]
    assert listed(alice_api, q='tag:"deep work"') == ["notes"]
    assert listed(alice_api, q="pinned:true") == ["work plan"]
    assert listed(alice_api, q="pinned:false") == ["notes", "holiday"]
    assert listed(alice_api, q="tag:work pinned:false archived:true old") == ["old work"]
    assert listed(alice_api, q="plan archived:false") == ["work plan"]
    assert listed(alice_api, q="tag:nothing") == []
    assert posted_list(alice_api, q="tag:work archived:any") == ["work plan", "old work"]


@pytest.mark.parametrize("q", ["pinned:maybe", "archived:sometimes"])
def test_a_bad_flag_in_the_query_is_400_naming_q(alice_api, sessions, q):
    for response in (
        alice_api.get("/api/sessions/", {"q": q}),
        alice_api.post("/api/sessions/list", {"q": q}, format="json"),
    ):
        assert response.status_code == 400
        assert "takes true, false" in response.json()["q"][0]


def test_tags_are_per_user(alice_api, bob_api, bob, sessions):
    patch(alice_api, sessions["notes"], {"tags": ["work"]})
    bobs = make_session(bob, title="bob's")
    patch(bob_api, bobs, {"tags": ["work"]})
    assert listed(bob_api, q="tag:work") == ["bob's"]
    assert listed(alice_api, q="tag:work") == ["notes"]


def test_another_user_cannot_tag_pin_or_archive(alice_api, bob_api, sessions):
    session = sessions["notes"]
    for body in ({"tags": ["mine"]}, {"is_pinned": True}, {"is_archived": True}):
        assert patch(bob_api, session, body).status_code == 404
    body = alice_api.get(f"/api/sessions/{session.session_id}").json()
    assert (body["tags"], body["is_pinned"], body["is_archived"]) == ([], False, False)


def test_the_list_with_tags_takes_a_fixed_number_of_queries(alice_api, alice, django_assert_max_num_queries):
    for n in range(40):
        session = make_session(alice, title=f"s{n}")
        patch(alice_api, session, {"tags": [f"t{n}", "common"], "is_pinned": n % 2 == 0})
    with django_assert_max_num_queries(5):
        response = alice_api.get("/api/sessions/", {"page_size": 50})
    assert len(response.json()["results"]) == 40
    assert all("common" in session["tags"] for session in response.json()["results"])
    with django_assert_max_num_queries(5):
        assert alice_api.post("/api/sessions/list", {"q": "tag:common"}, format="json").json()["count"] == 40


def test_the_python_api_lists_pinned_first_and_hides_archived(alice, sessions, alice_api):
    patch(alice_api, sessions["holiday"], {"is_pinned": True, "tags": ["fun"]})
    patch(alice_api, sessions["notes"], {"is_archived": True})
    logging = LoggingSystem(user=alice, session_id=sessions["work plan"].session_id)
    listed_titles = [session["title"] for session in logging.list_sessions()]
    assert listed_titles == ["holiday", "old work", "work plan"]
    assert logging.list_sessions(q="tag:fun")[0]["tags"] == ["fun"]
