from django.test import Client

from sessions_app.models import ChatSession
from tests.factories import make_conversation, make_user


def staff_client():
    client = Client()
    client.force_login(make_user("staff", is_staff=True, is_superuser=True))
    return client


def test_admin_actions_pin_and_archive_through_the_services(alice):
    first, second = make_conversation(alice, title="one"), make_conversation(alice, title="two")
    client = staff_client()
    for action in ("pin_selected", "archive_selected"):
        response = client.post(
            "/admin/sessions_app/chatsession/", {"action": action, "_selected_action": [first.pk, second.pk]}
        )
        assert response.status_code == 302
    assert set(ChatSession.objects.values_list("is_pinned", "is_archived")) == {(True, True)}
    client.post("/admin/sessions_app/chatsession/", {"action": "unarchive_selected", "_selected_action": [first.pk]})
    assert ChatSession.objects.get(pk=first.pk).is_archived is False


def test_admin_session_list_filters_and_shows_tags(alice, alice_api, django_assert_max_num_queries):
    for n in range(10):
        session = make_conversation(alice, title=f"s{n}")
        alice_api.patch(f"/api/sessions/{session.session_id}/", {"tags": [f"t{n}"], "is_pinned": n < 3}, format="json")
    client = staff_client()
    with django_assert_max_num_queries(9):
        response = client.get("/admin/sessions_app/chatsession/", {"is_pinned__exact": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert {f"s{n}" for n in range(10) if f">s{n}<" in html} == {"s0", "s1", "s2"}
    assert ">t0<" in html and ">t5<" not in html


def test_admin_pages_for_feedback_and_share_links_open(alice, alice_api):
    session = make_conversation(alice)
    alice_api.post(f"/api/sessions/{session.session_id}/messages/2/feedback/", {"rating": 1}, format="json")
    alice_api.post("/api/shares/", {"session_id": session.session_id}, format="json")
    client = staff_client()
    assert client.get("/admin/curation_app/messagefeedback/").status_code == 200
    assert client.get("/admin/curation_app/sharelink/").status_code == 200
