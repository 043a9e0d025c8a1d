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
    assert "Results for “crete”" in results and "Plan a trip to <mark>Crete</mark>" in results


def test_the_page_shows_only_the_users_own_memory(alice_api, alice_session, bob):
    alice_api.post("/api/memory/items/", {"layer": "working", "text": "Alice only"}, format="json")
    client = Client()
    client.force_login(bob)
    assert "Alice only" not in client.get("/memory/").content.decode()
    assert "Alice only" not in client.get("/memory/", {"q": "alice"}).content.decode()


def item_id(alice_api, **body) -> int:
    response = alice_api.post("/api/memory/items/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_markdown_is_rendered_and_a_tasks_context_reads_as_pairs_with_session_links(
    alice_browser, alice_api, alice_session
):
    item_id(alice_api, layer="long_term", text="Prefers **dark** mode and `vim`")
    item_id(alice_api, layer="working", text="Draft the memo",
            context={"session": alice_session.session_id, "due": "Friday", "steps": [1, 2]})
    page = alice_browser.get("/memory/").content.decode()
    assert "<strong>dark</strong>" in page and "<code>vim</code>" in page
    assert "{&#x27;session&#x27;" not in page and "{'session'" not in page
    assert "<dt>due</dt><dd>Friday</dd>" in page and "<dt>steps</dt><dd>[1, 2]</dd>" in page
    assert f'<a href="/sessions/{alice_session.session_id}/"><code>{alice_session.session_id}</code></a>' in page


def test_session_ids_link_to_the_conversation(alice_browser, alice_session):
    add_messages(alice_session, ("user", "Hello there"))
    page = alice_browser.get("/memory/").content.decode()
    assert f'href="/sessions/{alice_session.session_id}/"' in page


def test_an_item_is_edited_through_the_page(alice_browser, alice_api):
    fact = item_id(alice_api, layer="long_term", text="Likes tea")
    response = alice_browser.post(f"/memory/items/{fact}/edit", {"text": "Likes green tea", "category": "food"})
    assert response.status_code == 302 and response["Location"] == f"/memory/#item-{fact}"
    assert alice_api.get(f"/api/memory/items/{fact}/").json()["text"] == "Likes green tea"
    assert alice_api.get(f"/api/memory/items/{fact}/").json()["category"] == "food"
    task = item_id(alice_api, layer="working", text="Draft the memo")
    alice_browser.post(f"/memory/items/{task}/edit", {"status": "done"})
    assert alice_api.get(f"/api/memory/items/{task}/").json()["status"] == "done"


def test_a_bad_edit_names_the_problem_and_changes_nothing(alice_browser, alice_api):
    fact = item_id(alice_api, layer="long_term", text="Likes tea")
    response = alice_browser.post(f"/memory/items/{fact}/edit", {"text": "Likes coffee", "category": "Not A Slug"},
                                  follow=True)
    assert "Not saved. category:" in response.content.decode()
    assert alice_api.get(f"/api/memory/items/{fact}/").json()["text"] == "Likes tea"


def test_an_item_is_deleted_through_the_page_after_asking(alice_browser, alice_api):
    fact = item_id(alice_api, layer="long_term", text="Likes tea")
    page = alice_browser.get("/memory/").content.decode()
    assert f'action="/memory/items/{fact}/delete"' in page and "Forget this item?" in page
    assert alice_browser.get(f"/memory/items/{fact}/delete").status_code == 405  # a link can never delete
    response = alice_browser.post(f"/memory/items/{fact}/delete", {"q": "tea"})
    assert response["Location"] == "/memory/?q=tea#long-term-heading"
    assert alice_api.get(f"/api/memory/items/{fact}/").status_code == 404


def test_another_users_item_cannot_be_edited_or_deleted(alice_api, bob):
    fact = item_id(alice_api, layer="long_term", text="Likes tea")
    client = Client()
    client.force_login(bob)
    assert client.post(f"/memory/items/{fact}/edit", {"text": "Hacked"}).status_code == 404
    assert client.post(f"/memory/items/{fact}/delete").status_code == 404
    assert alice_api.get(f"/api/memory/items/{fact}/").json()["text"] == "Likes tea"


def test_search_results_mark_the_matched_words_and_escape_the_rest(alice_browser, alice_session):
    add_messages(alice_session, ("user", "Tuning <b>postgres</b> for vacuum"))
    page = alice_browser.get("/memory/", {"q": "postgres tuning"}).content.decode()
    assert "<mark>Tuning</mark> &lt;b&gt;<mark>postgres</mark>&lt;/b&gt; for vacuum" in page
    assert "<b>postgres" not in page
