"""Keys reach only the upstream: no key of either kind is stored or logged."""

from django.db import connection

from .conftest import CLIENT_KEY, UPSTREAM_KEY
from .helpers import chat, chat_streamed, stored

HELLO = [{"role": "user", "content": "Hello"}]


def _tables_holding(text: str) -> set[str]:
    """Every table whose rows, as text, contain `text`."""
    found = set()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            if text in repr(cursor.fetchall()):
                found.add(table)
    return found


def test_the_servers_upstream_key_is_forwarded_and_the_token_is_not(
    client_for, novaforge_with_key, alice_token, upstream
):
    _, session_id = chat(client_for(novaforge_with_key, alice_token), model="m", messages=HELLO)

    assert upstream.requests[-1]["headers"]["Authorization"] == f"Bearer {UPSTREAM_KEY}"
    stored(session_id, 2)
    assert _tables_holding(UPSTREAM_KEY) == set()
    assert _tables_holding(alice_token) == {"authtoken_token"}
    assert UPSTREAM_KEY not in novaforge_with_key.log()
    assert alice_token not in novaforge_with_key.log()


def test_a_clients_own_key_is_forwarded_when_the_server_has_none_and_never_stored(
    client_for, novaforge, alice_token, upstream
):
    client = client_for(novaforge, CLIENT_KEY, default_headers={"X-NovaForge-Token": alice_token})
    _, session_id = chat_streamed(client, model="m", messages=HELLO)
    models = client.models.list()

    assert [request["headers"]["Authorization"] for request in upstream.requests[-2:]] == [f"Bearer {CLIENT_KEY}"] * 2
    assert [model.id for model in models] == ["fake-model"]
    assert stored(session_id, 2)[1]["content"] == "Echo: Hello"
    assert _tables_holding(CLIENT_KEY) == set()
    assert _tables_holding(alice_token) == {"authtoken_token"}
    assert CLIENT_KEY not in novaforge.log()
    assert alice_token not in novaforge.log()


def test_the_novaforge_token_alone_is_not_sent_upstream(alice_client, upstream):
    _, session_id = chat(alice_client, model="m", messages=HELLO)

    assert "Authorization" not in upstream.requests[-1]["headers"]
    stored(session_id, 2)
