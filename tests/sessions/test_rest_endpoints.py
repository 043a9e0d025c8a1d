import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app.models import ChatSession, Message
from tests.factories import add_messages


def test_get_one_session(alice_api, alice_session):
    response = alice_api.get(f"/api/sessions/{alice_session.session_id}/")
    assert response.status_code == 200
    assert response.json()["title"] == "Alice's first chat"
    assert alice_api.get(f"/api/sessions/{alice_session.session_id}").status_code == 200


def test_patch_renames_and_keeps_the_rest(alice_api, alice_session):
    response = alice_api.patch(f"/api/sessions/{alice_session.session_id}/", {"title": "Renamed"}, format="json")
    assert response.status_code == 200
    alice_session.refresh_from_db()
    assert alice_session.title == "Renamed"


def test_patch_refuses_read_only_and_unknown_fields(alice_api, alice_session):
    response = alice_api.patch(f"/api/sessions/{alice_session.session_id}/", {"message_count": 99, "owner": 1}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"message_count", "owner"}
    alice_session.refresh_from_db()
    assert alice_session.message_count == 0


def test_patch_refuses_metadata_that_is_not_an_object(alice_api, alice_session):
    response = alice_api.patch(f"/api/sessions/{alice_session.session_id}/", {"metadata": [1, 2]}, format="json")
    assert response.status_code == 400
    assert "metadata" in response.json()


def test_put_is_not_offered(alice_api, alice_session):
    response = alice_api.put(f"/api/sessions/{alice_session.session_id}/", {"title": "x"}, format="json")
    assert response.status_code == 405


def test_delete_removes_the_session_and_its_messages(alice_api, alice_session):
    add_messages(alice_session, ("user", "bye"))
    assert alice_api.delete(f"/api/sessions/{alice_session.session_id}/").status_code == 204
    assert not ChatSession.objects.filter(pk=alice_session.pk).exists()
    assert Message.objects.count() == 0


def test_end_marks_the_session_ended_once(alice_api, alice_session):
    first = alice_api.post(f"/api/sessions/{alice_session.session_id}/end/").json()
    again = alice_api.post(f"/api/sessions/{alice_session.session_id}/end").json()
    assert first["ended_at"] is not None
    assert again["ended_at"] == first["ended_at"]


def test_messages_endpoint_pages_after_a_seq(alice_api, alice_session):
    add_messages(alice_session, *[("user", f"m{n}") for n in range(1, 6)])
    body = alice_api.get(f"/api/sessions/{alice_session.session_id}/messages/?after_seq=3").json()
    assert [m["seq"] for m in body["results"]] == [4, 5]
    assert alice_api.get(f"/api/sessions/{alice_session.session_id}/messages/?after_seq=-1").status_code == 400


def test_posting_one_message_answers_201_and_a_retry_200(alice_api, alice_session):
    url = f"/api/sessions/{alice_session.session_id}/messages/"
    created = alice_api.post(url, {"role": "user", "content": "hi", "message_id": "k1"}, format="json")
    retried = alice_api.post(url, {"role": "user", "content": "hi", "message_id": "k1"}, format="json")
    assert created.status_code == 201 and created.json()["seq"] == 1
    assert retried.status_code == 200 and retried.json()["seq"] == 1
    assert alice_session.messages.count() == 1


def test_posting_a_message_does_not_look_up_a_rating_it_cannot_have_yet(alice_api, alice_session):
    url = f"/api/sessions/{alice_session.session_id}/messages/"
    with CaptureQueriesContext(connection) as captured:
        created = alice_api.post(url, {"role": "assistant", "content": "hello"}, format="json")
    assert created.status_code == 201 and created.json()["feedback"] is None
    assert not [query["sql"] for query in captured if "messagefeedback" in query["sql"]]


def test_posting_a_bad_message_names_the_field(alice_api, alice_session):
    response = alice_api.post(f"/api/sessions/{alice_session.session_id}/messages", {"role": "robot", "content": "x"}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()


def test_get_list_filters_with_query_parameters(alice_api, alice_session):
    response = alice_api.get("/api/sessions/?q=first&page_size=10")
    assert [s["session_id"] for s in response.json()["results"]] == [alice_session.session_id]
    assert alice_api.get("/api/sessions/?page_size=100000").status_code == 400
    assert alice_api.get("/api/sessions/?page=0").status_code == 400


def test_schema_and_docs_are_served_locally(alice_api, client):
    schema = alice_api.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/sessions/save" in schema.content
    docs = alice_api.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    # Every asset must come from this server: the app runs where no CDN is reachable.
    asset_urls = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', html)
    assert asset_urls
    assert all(url.startswith("/") and not url.startswith("//") for url in asset_urls), asset_urls
