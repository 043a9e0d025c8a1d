import pytest

from memory_app.models import Layer, MemoryItem


def remember(client, text, **fields):
    return client.post("/api/memory/items/", {"layer": "long_term", "text": text, **fields}, format="json")


def test_a_fact_is_stored_with_its_category(alice_api):
    response = remember(alice_api, "Alice prefers PostgreSQL for production.", category="preferences")
    assert response.status_code == 201
    body = response.json()
    assert (body["layer"], body["category"], body["strength"]) == ("long_term", "preferences", 1)


def test_the_same_fact_again_strengthens_it_instead_of_copying(alice_api):
    first = remember(alice_api, "The deploy runs on Fridays.", category="work").json()
    again = remember(alice_api, "  the DEPLOY runs   on fridays ")
    assert again.status_code == 200
    body = again.json()
    assert body["id"] == first["id"]
    assert body["strength"] == 2
    assert body["text"] == "The deploy runs on Fridays."  # the first wording and category stay
    assert body["category"] == "work"
    assert body["last_seen_at"] >= first["last_seen_at"]
    assert MemoryItem.objects.filter(layer=Layer.LONG_TERM).count() == 1


def test_facts_of_two_users_are_separate(alice_api, bob_api):
    remember(alice_api, "Tea, not coffee.")
    assert remember(bob_api, "Tea, not coffee.").status_code == 201
    assert MemoryItem.objects.filter(layer=Layer.LONG_TERM).count() == 2


@pytest.mark.parametrize("category", ["Has Spaces", "UPPER", "", "-leading", "x" * 65, 42])
def test_a_bad_category_is_a_400_naming_it(alice_api, category):
    response = remember(alice_api, "A fact", category=category)
    assert response.status_code == 400
    assert "category" in response.json()
    assert not MemoryItem.objects.exists()


def test_editing_a_fact_into_another_known_fact_is_refused(alice_api):
    remember(alice_api, "Fact one")
    second = remember(alice_api, "Fact two").json()
    response = alice_api.patch(f"/api/memory/items/{second['id']}/", {"text": "fact ONE"}, format="json")
    assert response.status_code == 400 and "text" in response.json()
    edited = alice_api.patch(f"/api/memory/items/{second['id']}/", {"text": "Fact three", "category": "misc"}, format="json")
    assert edited.status_code == 200
    assert (edited.json()["text"], edited.json()["category"]) == ("Fact three", "misc")
    assert remember(alice_api, "fact three").json()["strength"] == 2
