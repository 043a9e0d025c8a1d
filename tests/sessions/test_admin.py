import pytest
from django.contrib.auth import get_user_model

from tests.factories import add_messages, make_conversation


@pytest.fixture
def staff_client(client, db):
    admin = get_user_model().objects.create_superuser("root", "", "root-pw-123!")
    client.force_login(admin)
    return client


def test_staff_see_every_users_sessions_with_a_link_to_their_messages(staff_client, alice, bob):
    alices = make_conversation(alice, title="Alice <b>chat</b>")
    make_conversation(bob, title="Bob chat")
    page = staff_client.get("/admin/sessions_app/chatsession/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Bob chat" in html and "Alice &lt;b&gt;chat&lt;/b&gt;" in html
    assert f"?session__id__exact={alices.pk}" in html


def test_a_sessions_messages_are_a_filtered_paged_list(staff_client, alice_session):
    add_messages(alice_session, *[("user", f"line {n} <script>alert(1)</script>") for n in range(150)])
    page = staff_client.get(f"/admin/sessions_app/message/?session__id__exact={alice_session.pk}")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("line ") == 100  # one page, not 150 rows
    assert "<script>alert(1)</script>" not in html


def test_session_change_page_and_search(staff_client, alice_session):
    assert staff_client.get(f"/admin/sessions_app/chatsession/{alice_session.pk}/change/").status_code == 200
    found = staff_client.get(f"/admin/sessions_app/chatsession/?q={alice_session.session_id}")
    assert alice_session.session_id in found.content.decode()


def test_the_end_action_ends_sessions_through_the_service(staff_client, alice_session):
    staff_client.post(
        "/admin/sessions_app/chatsession/", {"action": "end_selected", "_selected_action": [alice_session.pk]}
    )
    alice_session.refresh_from_db()
    assert alice_session.ended_at is not None


def test_non_staff_users_cannot_open_the_admin(client, alice):
    client.force_login(alice)
    assert client.get("/admin/sessions_app/chatsession/").status_code == 302
