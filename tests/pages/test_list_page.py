"""The session list: last activity, a preview of each conversation, and bulk actions on the selection."""

import re

import pytest
from django.test import Client

from sessions_app.models import ChatSession
from tests.factories import make_conversation, make_session


@pytest.fixture
def alice_browser(alice):
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def three(alice):
    return [
        make_conversation(alice, title=f"Chat {n}", turns=[("system", "Be brief."), ("user", f"Question number {n} " + "x" * 300),
                                                  ("assistant", "Answer.")])
        for n in range(3)
    ]


def test_each_row_shows_its_last_activity_and_first_request(alice_browser, alice, three):
    make_session(alice, title="Empty")
    page = alice_browser.get("/sessions/").content.decode()
    assert "Last activity" in page
    assert re.search(r'<span class="preview">Question number 1 x+…</span>', page)  # the user's words, cut
    assert "Be brief." not in page  # the system prompt is not the preview
    for session in three:
        assert f'<time datetime="{session.updated_at.isoformat()}"' in page


def test_previews_cost_no_query_per_row(alice_browser, alice, django_assert_max_num_queries):
    for n in range(30):
        make_conversation(alice, title=f"Chat {n}", turns=[("user", f"Hello {n}")])
    alice_browser.get("/sessions/")  # the first view after writes also refreshes the day's analytics rollups
    with django_assert_max_num_queries(16):
        page = alice_browser.get("/sessions/").content.decode()
    assert page.count('class="preview"') == 25


def test_every_row_can_be_selected_and_every_export_format_is_offered(alice_browser, three):
    page = alice_browser.get("/sessions/").content.decode()
    assert page.count('name="session_ids"') == 3 and "data-select-all" in page
    for fmt in ("jsonl", "sharegpt", "csv", "markdown"):
        assert f'formaction="/api/sessions/export" name="format" value="{fmt}"' in page


def test_the_selected_sessions_export_as_one_file(alice_browser, three):
    ids = [three[0].session_id, three[2].session_id]
    response = alice_browser.post("/api/sessions/export", {"format": "jsonl", "session_ids": ids, "tag": ""})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert "Question number 0" in body and "Question number 2" in body and "Question number 1" not in body


def test_archive_and_tag_the_selected_sessions(alice_browser, alice_api, three):
    ids = [three[0].session_id, three[1].session_id]
    response = alice_browser.post("/sessions/bulk", {"action": "tag", "tag": "Work", "session_ids": ids,
                                                     "next": "/sessions/?q=chat"})
    assert response.status_code == 302 and response["Location"] == "/sessions/?q=chat"
    alice_browser.post("/sessions/bulk", {"action": "tag", "tag": "later", "session_ids": ids[:1]})
    assert sorted(alice_api.get(f"/api/sessions/{ids[0]}/").json()["tags"]) == ["later", "work"]  # added, not replaced
    assert alice_api.get(f"/api/sessions/{three[2].session_id}/").json()["tags"] == []
    response = alice_browser.post("/sessions/bulk", {"action": "archive", "session_ids": ids}, follow=True)
    assert "Archived 2 sessions." in response.content.decode()
    assert [s.is_archived for s in ChatSession.objects.order_by("id")] == [True, True, False]


def test_delete_asks_first_saying_how_many(alice_browser, three):
    ids = [session.session_id for session in three[:2]]
    response = alice_browser.post("/sessions/bulk", {"action": "delete", "session_ids": ids})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Delete 2 sessions?" in page and "Yes, delete 2 sessions" in page
    assert ChatSession.objects.count() == 3  # nothing deleted yet
    response = alice_browser.post("/sessions/bulk", {"action": "delete", "confirm": "yes", "session_ids": ids},
                                  follow=True)
    assert "Deleted 2 sessions." in response.content.decode()
    assert list(ChatSession.objects.values_list("session_id", flat=True)) == [three[2].session_id]


def test_bulk_actions_reach_only_the_callers_sessions(alice_browser, bob, three):
    theirs = make_conversation(bob, title="Bob's")
    for action in ("archive", "tag", "delete"):
        response = alice_browser.post("/sessions/bulk", {"action": action, "tag": "x", "confirm": "yes",
                                                         "session_ids": [three[0].session_id, theirs.session_id]})
        assert response.status_code == 404 and theirs.session_id in response.content.decode()
    assert ChatSession.objects.count() == 4
    theirs.refresh_from_db()
    assert not theirs.is_archived and not theirs.tags.exists()


def test_bad_bulk_requests_name_the_problem(alice_browser, three):
    response = alice_browser.post("/sessions/bulk", {"action": "explode", "session_ids": [three[0].session_id]})
    assert response.status_code == 400 and "action must be one of archive, tag, delete" in response.content.decode()
    response = alice_browser.post("/sessions/bulk", {"action": "archive"}, follow=True)
    assert "Select at least one session first." in response.content.decode()
    response = alice_browser.post("/sessions/bulk", {"action": "tag", "tag": " ", "session_ids": [three[0].session_id]},
                                  follow=True)
    assert "Type a tag" in response.content.decode()
    response = alice_browser.post("/sessions/bulk", {"action": "tag", "tag": 'say "hi"',
                                                     "session_ids": [three[0].session_id]}, follow=True)
    assert "Nothing changed:" in response.content.decode()
    assert alice_browser.get("/sessions/bulk").status_code == 405
    assert alice_browser.post("/sessions/bulk", {"action": "archive", "session_ids": ["nope"]}).status_code == 404


def test_a_redirect_elsewhere_is_refused(alice_browser, three):
    response = alice_browser.post("/sessions/bulk", {"action": "archive", "session_ids": [three[0].session_id],
                                                     "next": "https://evil.example/"})
    assert response["Location"] == "/sessions/"


def test_the_filters_fold_away_unless_one_is_set(alice_browser, three):
    assert re.search(r'<details class="more-filters" data-open-on-wide>', alice_browser.get("/sessions/").content.decode())
    page = alice_browser.get("/sessions/", {"mode": "x"}).content.decode()
    assert '<details class="more-filters" data-open-on-wide open>' in page
