from datetime import timedelta

import pytest
from django.utils import timezone

from curation_app import services
from sessions_app.services import end_session
from tests.factories import add_messages, make_conversation, make_session


def post(client, action, **body):
    return client.post(f"/api/sessions/{action}", body, format="json")


@pytest.fixture
def three_sessions(alice):
    now = timezone.now()
    old = make_session(alice, title="Old gardening chat", started_at=now - timedelta(days=30), metadata={"mode": "garden"})
    add_messages(old, ("user", "Roses?"), ("assistant", "Prune in spring."))
    middle = make_session(alice, title="Python help", started_at=now - timedelta(days=3))
    add_messages(middle, *[("user", f"q{n}") for n in range(5)])
    new = make_session(alice, title="Fresh", started_at=now, metadata={"mode": "commander"})
    return old, middle, new


def test_list_answers_a_page_newest_first(alice_api, three_sessions):
    old, middle, new = three_sessions
    response = post(alice_api, "list")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and body["next"] is None and body["previous"] is None
    assert [s["session_id"] for s in body["results"]] == [new.session_id, middle.session_id, old.session_id]
    assert set(body["results"][0]) >= {"session_id", "title", "system_prompt", "metadata", "started_at", "updated_at", "ended_at", "message_count"}


def test_list_pages_with_page_numbers(alice_api, three_sessions):
    first = post(alice_api, "list", page_size=2).json()
    second = post(alice_api, "list", page_size=2, page=first["next"]).json()
    assert (first["count"], first["next"], len(first["results"])) == (3, 2, 2)
    assert (second["previous"], second["next"], len(second["results"])) == (1, None, 1)


def test_paging_through_the_list_gives_every_session_once_in_list_order(alice_api, alice, bob):
    now = timezone.now()
    sessions = [make_session(alice, title=f"chat {n}", started_at=now - timedelta(hours=n)) for n in range(7)]
    make_session(bob, title="not alice's")
    services.curate_session(session=sessions[5], is_pinned=True)
    services.curate_session(session=sessions[2], is_archived=True, tags=["kept"])
    services.curate_session(session=sessions[3], tags=["work", "later"])
    expected = [sessions[n].session_id for n in (5, 0, 1, 3, 4, 6)]  # pinned first, archived left out

    posted = [post(alice_api, "list", page_size=4, page=page).json()["results"] for page in (1, 2)]
    fetched = [alice_api.get(f"/api/sessions/?page_size=4&page={page}").json()["results"] for page in (1, 2)]
    for pages in (posted, fetched):
        assert [session["session_id"] for page in pages for session in page] == expected
        assert [session["tags"] for session in pages[0] if session["session_id"] == sessions[3].session_id] == [
            ["later", "work"]
        ]


@pytest.mark.parametrize(
    ("filters", "expected_titles"),
    [
        ({"q": "python"}, ["Python help"]),
        ({"mode": "garden"}, ["Old gardening chat"]),
        ({"min_messages": 3}, ["Python help"]),
        ({"ordering": "message_count"}, ["Fresh", "Old gardening chat", "Python help"]),
    ],
)
def test_list_filters(alice_api, three_sessions, filters, expected_titles):
    body = post(alice_api, "list", **filters).json()
    assert [s["title"] for s in body["results"]] == expected_titles


def test_list_filters_by_start_date(alice_api, three_sessions):
    since = (timezone.now() - timedelta(days=7)).date().isoformat()
    body = post(alice_api, "list", started_after=since).json()
    assert {s["title"] for s in body["results"]} == {"Python help", "Fresh"}
    body = post(alice_api, "list", started_before=since).json()
    assert [s["title"] for s in body["results"]] == ["Old gardening chat"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"page_size": 201}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"page": "first"}, "page"),
        ({"started_after": "last tuesday"}, "started_after"),
        ({"min_messages": "many"}, "min_messages"),
        ({"ordering": "password"}, "ordering"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_list_refuses_bad_filters_naming_them(alice_api, three_sessions, body, field):
    response = post(alice_api, "list", **body)
    assert response.status_code == 400
    assert field in response.json()


def test_a_page_past_the_end_is_a_404(alice_api, three_sessions):
    response = post(alice_api, "list", page=5)
    assert response.status_code == 404
    assert "there are 1" in response.json()["detail"]


def test_list_uses_a_constant_number_of_queries(alice_api, alice, django_assert_max_num_queries):
    for n in range(30):
        make_conversation(alice, title=f"chat {n}")
    with django_assert_max_num_queries(4):  # auth token, count, page
        assert len(post(alice_api, "list", page_size=30).json()["results"]) == 30
    with django_assert_max_num_queries(4):
        assert len(alice_api.get("/api/sessions/?page_size=30").json()["results"]) == 30


def test_load_answers_the_session_with_its_messages(alice_api, alice_session):
    add_messages(alice_session, ("user", "Hi"), ("assistant", "Hello"), metadata={"mode": "commander"})
    response = post(alice_api, "load", session_id=alice_session.session_id)
    assert response.status_code == 200
    body = response.json()
    assert body["session_id"] == alice_session.session_id
    assert body["message_count"] == 2
    assert body["next_after_seq"] is None
    first = body["messages"][0]
    assert (first["seq"], first["role"], first["content"], first["metadata"]) == (1, "user", "Hi", {"mode": "commander"})
    assert first["created_at"].endswith("Z")


def test_load_continues_after_a_seq_in_parts(alice_api, alice_session):
    add_messages(alice_session, *[("user", f"m{n}") for n in range(1, 8)])
    part = post(alice_api, "load", session_id=alice_session.session_id, after_seq=2, limit=3).json()
    assert [m["seq"] for m in part["messages"]] == [3, 4, 5]
    assert part["next_after_seq"] == 5
    rest = post(alice_api, "load", session_id=alice_session.session_id, after_seq=5, limit=3).json()
    assert [m["seq"] for m in rest["messages"]] == [6, 7]
    assert rest["next_after_seq"] is None


@pytest.mark.parametrize(("body", "field"), [({"after_seq": -1}, "after_seq"), ({"limit": 0}, "limit"), ({"limit": 10_001}, "limit")])
def test_load_refuses_bad_bounds(alice_api, alice_session, body, field):
    response = post(alice_api, "load", session_id=alice_session.session_id, **body)
    assert response.status_code == 400
    assert field in response.json()


def test_load_of_an_unknown_session_is_a_404(alice_api):
    assert post(alice_api, "load", session_id="0123456789ab").status_code == 404


def test_the_list_body_filters_by_ended_like_the_query_parameter(alice, alice_api):
    make_session(alice, title="open")
    ended_session = make_session(alice, title="ended")
    end_session(session=ended_session)
    for ended, title in ((True, "ended"), (False, "open")):
        body = alice_api.post("/api/sessions/list", {"ended": ended}, format="json").json()
        assert [session["title"] for session in body["results"]] == [title]
    assert alice_api.post("/api/sessions/list", {"ended": "maybe"}, format="json").status_code == 400
