import pytest
from django.db import connection

from sessions_app import services as session_services
from tests.factories import add_messages


def remember(client, text, category="general"):
    response = client.post("/api/memory/items/", {"layer": "long_term", "text": text, "category": category}, format="json")
    assert response.status_code in (200, 201)
    return response.json()


def search(client, **params):
    response = client.get("/api/memory/search/", params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_search_ranks_the_relevant_item_first(alice_api):
    remember(alice_api, "The cat sat on the mat near the database.")
    relevant = remember(alice_api, "Database migrations run before the database deploy; database backups first.")
    remember(alice_api, "Lunch is at noon.")
    results = search(alice_api, q="database migrations")
    assert results[0]["item"]["id"] == relevant["id"]
    assert all(hit["kind"] == "memory" for hit in results)
    ranked = search(alice_api, q="database")
    assert [hit["item"]["id"] for hit in ranked][0] == relevant["id"]
    assert len(ranked) == 2


def test_search_finds_word_forms_and_falls_back_to_any_word(alice_api):
    fact = remember(alice_api, "Alice is migrating the billing service.")
    assert search(alice_api, q="migrate")[0]["item"]["id"] == fact["id"]
    # Not every word matches; the one that does still finds the fact.
    assert search(alice_api, q="what about billing tomorrow")[0]["item"]["id"] == fact["id"]


def test_search_covers_episodes_and_filters_by_layer(alice_api, alice):
    fact = remember(alice_api, "Kubernetes cluster runs in Frankfurt.")
    session = session_services.start_session(owner=alice, title="Kubernetes upgrade planning")
    add_messages(session, ("user", "Help me plan the kubernetes upgrade"), ("assistant", "Start with the control plane."))
    session_services.end_session(session=session)
    both = search(alice_api, q="kubernetes")
    assert {hit["item"]["layer"] for hit in both} == {"long_term", "episodic"}
    episodes = search(alice_api, q="kubernetes", layer="episodic")
    assert [hit["item"]["session_id"] for hit in episodes] == [session.session_id]
    assert [hit["item"]["id"] for hit in search(alice_api, q="kubernetes", layer="long_term")] == [fact["id"]]


def test_search_over_messages(alice_api, alice_session):
    add_messages(alice_session, ("user", "Where did I put the passport?"), ("assistant", "In the drawer."))
    results = search(alice_api, q="passport", scope="messages")
    assert [(hit["kind"], hit["message"]["seq"]) for hit in results] == [("message", 1)]
    assert results[0]["message"]["session_id"] == alice_session.session_id
    remember(alice_api, "Passport expires in 2030.")
    assert {hit["kind"] for hit in search(alice_api, q="passport", scope="all")} == {"memory", "message"}


@pytest.mark.parametrize(
    "query", ['"', 'unbalanced "quote', "AND", "OR NOT", "*", "NEAR(a b", "text:secret", "^start", "a:b:c", "(", "-x", "'; DROP", "!!&&||"]
)
def test_query_syntax_never_breaks_search(alice_api, query):
    remember(alice_api, "secret start text")
    response = alice_api.get("/api/memory/search/", {"q": query, "scope": "all"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "q"), ({"q": "x", "layer": "short_term"}, "layer"), ({"q": "x", "scope": "web"}, "scope"), ({"q": "x", "limit": 0}, "limit")],
)
def test_bad_search_parameters_are_a_400_naming_the_field(alice_api, params, field):
    response = alice_api.get("/api/memory/search/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_search_answers_with_and_without_trailing_slash(alice_api):
    assert alice_api.get("/api/memory/search", {"q": "x"}).status_code == 200
    assert alice_api.get("/api/memory/search/", {"q": "x"}).status_code == 200


def _indexed_rows(table: str, word: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE {table} MATCH %s", [word])
        return cursor.fetchone()[0]


def test_deleting_a_session_removes_its_search_entries(alice_api, alice_session):
    add_messages(alice_session, ("user", "zebra crossing notes"))
    alice_api.post(
        "/api/memory/items/",
        {"layer": "long_term", "text": "zebra facts", "session_id": alice_session.session_id},
        format="json",
    )
    session_services.end_session(session=alice_session)  # its episode mentions the zebra too
    assert len(search(alice_api, q="zebra", scope="all")) == 3
    assert alice_api.delete(f"/api/sessions/{alice_session.session_id}/").status_code == 204
    assert search(alice_api, q="zebra", scope="all") == []
    if connection.vendor == "sqlite":  # the FTS5 index itself holds no stale entry
        assert _indexed_rows("memory_item_fts", "zebra") == 0
        assert _indexed_rows("message_fts", "zebra") == 0


def test_deleting_or_editing_an_item_updates_the_index(alice_api):
    fact = remember(alice_api, "walrus facts")
    alice_api.patch(f"/api/memory/items/{fact['id']}/", {"text": "narwhal facts"}, format="json")
    assert search(alice_api, q="walrus") == []
    assert [hit["item"]["id"] for hit in search(alice_api, q="narwhal")] == [fact["id"]]
    alice_api.delete(f"/api/memory/items/{fact['id']}/")
    assert search(alice_api, q="narwhal") == []
    if connection.vendor == "sqlite":
        assert _indexed_rows("memory_item_fts", "narwhal OR walrus") == 0


def test_a_search_counts_one_access_per_hit(alice_api, django_assert_max_num_queries):
    for n in range(5):
        remember(alice_api, f"penguin fact {n}")
    # auth, search, items, messages, one UPDATE for all hits; on PostgreSQL also the search's savepoint
    # and its SET LOCAL (planned without parallel workers).
    with django_assert_max_num_queries(8 if connection.vendor == "postgresql" else 6):
        results = search(alice_api, q="penguin")
    assert len(results) == 5
    assert all(hit["item"]["access_count"] == 1 for hit in results)
    assert all(hit["item"]["access_count"] == 2 for hit in search(alice_api, q="penguin"))


def test_a_word_with_too_many_matches_to_rank_answers_newest_first(alice_api, monkeypatch):
    monkeypatch.setattr("memory_app.search.RANKED_MATCHES_MAX", 2)
    facts = [remember(alice_api, f"otter note {n}" + " otter" * (3 - n)) for n in range(3)]
    assert [hit["item"]["id"] for hit in search(alice_api, q="otter")] == [fact["id"] for fact in reversed(facts)]
    monkeypatch.setattr("memory_app.search.RANKED_MATCHES_MAX", 5000)
    assert [hit["item"]["id"] for hit in search(alice_api, q="otter")][0] == facts[0]["id"]  # most otters


def _fts_integrity_check(table: str) -> None:
    """FTS5 compares its index with the content table and raises if they differ."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")


def test_messages_are_found_whether_or_not_their_batch_was_indexed(alice_api, alice_session):
    from memory_app.search import MESSAGE_INDEX_BATCH

    # A full batch (indexed by the insert trigger) and a few more (indexed by the search itself).
    stored = add_messages(alice_session, *[("user", f"note {n} about ferrets") for n in range(MESSAGE_INDEX_BATCH + 5)])
    indexed, pending = stored[0], stored[-1]
    assert len(search(alice_api, q="ferrets", scope="messages", limit=100)) == MESSAGE_INDEX_BATCH + 5
    newer = add_messages(alice_session, ("user", "ferrets again"), ("user", "a llama, once"), ("user", "a yak"))

    # Edits and deletes on both sides of the indexed mark keep the index equal to the messages.
    Message = type(indexed)
    Message.objects.filter(pk=indexed.pk).update(content="now about capybaras")
    Message.objects.filter(pk=newer[1].pk).update(content="a capybara, once")
    Message.objects.filter(pk__in=[pending.pk, newer[0].pk]).delete()
    found = search(alice_api, q="capybara", scope="messages")
    assert sorted(hit["message"]["seq"] for hit in found) == [indexed.seq, newer[1].seq]
    assert len(search(alice_api, q="ferrets", scope="messages", limit=100)) == MESSAGE_INDEX_BATCH + 3
    assert search(alice_api, q="llama", scope="messages") == []
    if connection.vendor == "sqlite":
        _fts_integrity_check("message_fts")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 index and its triggers are SQLite's")
def test_a_message_index_that_lost_its_triggers_is_rebuilt_by_migrate(alice_api, alice_session):
    from memory_app.search import SQLITE_MESSAGE_TRIGGERS, install_search_index

    with connection.cursor() as cursor:  # what Django's rebuild of the messages table does to them
        for name in SQLITE_MESSAGE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    add_messages(alice_session, ("user", "written while the index had no triggers: okapi"))
    install_search_index(connection)
    assert [hit["message"]["seq"] for hit in search(alice_api, q="okapi", scope="messages")] == [1]
    _fts_integrity_check("message_fts")
