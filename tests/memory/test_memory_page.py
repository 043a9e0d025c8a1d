import pytest
from django.test import Client

from sessions_app.services import end_session
from tests.factories import add_messages, make_conversation


@pytest.fixture
def alice_browser(alice):
    client = Client()
    client.force_login(alice)
    return client


def test_the_page_needs_a_login(client):
    response = client.get("/memory/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_page_shows_the_four_layers_and_searches(alice_browser, alice_api, alice_session, alice):
    add_messages(alice_session, ("user", "Remember the <script>alert(1)</script> trick"))
    alice_api.post("/api/memory/items/", {"layer": "long_term", "text": "Prefers <b>dark</b> mode"}, format="json")
    alice_api.post("/api/memory/items/", {"layer": "working", "text": "Draft the memo"}, format="json")

    end_session(session=make_conversation(alice, title="Holiday plans", turns=(("user", "Plan a trip to Crete"),)))
    page = alice_browser.get("/memory").content.decode()
    assert "Draft the memo" in page
    assert "User: Remember the &lt;script&gt;alert(1)&lt;/script&gt; trick" in page
    assert "Prefers &lt;b&gt;dark&lt;/b&gt; mode" in page
    assert "Holiday plans" in page
    assert "<script>alert(1)" not in page
    results = alice_browser.get("/memory/", {"q": "crete"}).content.decode()
    assert "Results for “crete”" in results and "Plan a trip to Crete" in results


def test_the_page_shows_only_the_users_own_memory(alice_api, alice_session, bob):
    alice_api.post("/api/memory/items/", {"layer": "working", "text": "Alice only"}, format="json")
    client = Client()
    client.force_login(bob)
    assert "Alice only" not in client.get("/memory/").content.decode()
    assert "Alice only" not in client.get("/memory/", {"q": "alice"}).content.decode()
