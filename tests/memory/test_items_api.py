import pytest

from tests.factories import add_messages, make_session


def create(client, **body):
    return client.post("/api/memory/items/", body, format="json")


def test_list_filters_by_layer_category_session_and_text(alice_api, alice, alice_session):
    other = make_session(alice)
    add_messages(alice_session, ("user", "hello there"))
    add_messages(other, ("user", "hello elsewhere"))
    create(alice_api, layer="long_term", text="Likes green tea", category="preferences")
    create(alice_api, layer="long_term", text="Works in Porto", category="work")
    create(alice_api, layer="working", text="Write the report")

    def ids(**params):
        response = alice_api.get("/api/memory/items/", params)
        assert response.status_code == 200
        return [item["text"] for item in response.json()["results"]]

    assert ids(layer="long_term") == ["Works in Porto", "Likes green tea"]
    assert ids(category="preferences") == ["Likes green tea"]
    assert ids(session_id=alice_session.session_id) == ["User: hello there"]
    assert ids(q="GREEN") == ["Likes green tea"]
    assert ids(layer="working", status="open") == ["Write the report"]
    assert len(ids()) == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"layer": "forever"}, "layer"),
        ({"category": "Not A Slug"}, "category"),
        ({"session_id": "xyz"}, "session_id"),
        ({"status": "maybe"}, "status"),
        ({"month": "2026-13"}, "month"),
        ({"page_size": 1000}, "page_size"),
    ],
)
def test_bad_list_filters_are_a_400_naming_them(alice_api, params, field):
    response = alice_api.get("/api/memory/items/", params)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"layer": "forever", "text": "x"}, "layer"),
        ({"layer": "long_term"}, "text"),
        ({"layer": "long_term", "text": "   "}, "text"),
        ({"layer": "long_term", "text": 42}, "text"),
        ({"layer": "long_term", "text": "x", "category": "Bad!"}, "category"),
        ({"layer": "working", "text": "x", "context": ["not", "an", "object"]}, "context"),
        ({"layer": "long_term", "text": "x", "context": {}}, "context"),
        ({"layer": "long_term", "text": "x", "strength": 9}, "strength"),
    ],
)
def test_bad_items_are_a_400_naming_the_field_and_store_nothing(alice_api, body, field):
    response = create(alice_api, **body)
    assert response.status_code == 400
    assert field in response.json()
    assert alice_api.get("/api/memory/items/").json()["count"] == 0


def test_a_working_task_moves_through_its_statuses(alice_api):
    task = create(alice_api, layer="working", text="Book flights", context={"budget": 400}).json()
    assert (task["status"], task["context"]) == ("open", {"budget": 400})
    url = f"/api/memory/items/{task['id']}"
    assert alice_api.patch(url, {"status": "finished"}, format="json").json().keys() == {"status"}
    done = alice_api.patch(url + "/", {"status": "done", "context": {"budget": 380}}, format="json")
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["context"]) == ("done", {"budget": 380})
    assert alice_api.get("/api/memory/items/", {"layer": "working", "status": "open"}).json()["count"] == 0


def test_fields_a_layer_does_not_have_cannot_be_changed(alice_api):
    fact = create(alice_api, layer="long_term", text="A fact").json()
    response = alice_api.patch(f"/api/memory/items/{fact['id']}/", {"status": "done"}, format="json")
    assert response.status_code == 400 and "status" in response.json()
    assert alice_api.patch(f"/api/memory/items/{fact['id']}/", {"layer": "working"}, format="json").status_code == 400


def test_reading_an_item_counts_an_access(alice_api):
    fact = create(alice_api, layer="long_term", text="A fact").json()
    assert fact["access_count"] == 0
    alice_api.get(f"/api/memory/items/{fact['id']}")
    second = alice_api.get(f"/api/memory/items/{fact['id']}/").json()
    assert second["access_count"] == 2 and second["last_accessed_at"]
    assert alice_api.get("/api/memory/items/").json()["results"][0]["access_count"] == 2  # lists do not count


def test_deleting_an_item(alice_api):
    fact = create(alice_api, layer="long_term", text="Forget me").json()
    assert alice_api.delete(f"/api/memory/items/{fact['id']}/").status_code == 204
    assert alice_api.get(f"/api/memory/items/{fact['id']}/").status_code == 404


def test_the_list_costs_the_same_few_queries_for_many_items(alice_api, alice, django_assert_max_num_queries):
    for n in range(3):
        session = make_session(alice)
        add_messages(session, *[("user", f"line {m}") for m in range(20)])
        create(alice_api, layer="working", text=f"task {n}", session_id=session.session_id)
    with django_assert_max_num_queries(3):  # auth, count, page (sessions joined)
        response = alice_api.get("/api/memory/items/", {"page_size": 200})
    assert response.json()["count"] == 63
    assert {item["session_id"] for item in response.json()["results"]} <= {s.session_id for s in alice.chat_sessions.all()}
