"""Bob tries every operation of the API schema, and every page, on Alice's sessions, messages and
everything else she owns: by id in the path, by id in the body, by filter and by search. Nothing of
hers may appear in any answer, no answer to an address of hers may be a success, and no row of hers
may change."""

import re

import pytest

from curation_app import services
from memory_app import services as memory_services
from tests.factories import add_messages, make_session

from . import figures
from .ownership import owner_lookup, project_models, rows_owned_by, snapshot
from .routes import page_urls

# Written into everything Alice owns; Bob never sends it, so finding it in an answer is a leak.
CANARY = "alicecanary7f3"
# A word in Alice's texts that Bob searches and filters for.
BAIT = "zebra"
BOB_TEXT = "bob was here"


@pytest.fixture
def alice_data(alice):
    """A session of Alice's with messages and feedback, every text carrying the canary."""
    session = make_session(alice, title=f"{CANARY} {BAIT} plans", system_prompt=f"{CANARY} prompt", metadata={"mode": BAIT, "note": CANARY})
    messages = add_messages(
        session,
        ("user", f"{CANARY} {BAIT} question"),
        ("assistant", f"{CANARY} {BAIT} answer"),
        metadata={"mode": BAIT, "tag": CANARY},
    )
    services.rate_message(message=messages[1], rating=-1, reason=CANARY, comment=f"{CANARY} {BAIT}")
    services.curate_session(session=session, tags=[CANARY, BAIT], is_pinned=True)
    services.share_session(session=session)
    memory_services.remember_fact(owner=alice, text=f"{CANARY} {BAIT} likes tea", category=BAIT, session=session)
    memory_services.add_task(owner=alice, goal=f"{CANARY} {BAIT} task", context={"note": CANARY}, session=session)
    memory_services.add_short_term(session=session, text=f"{CANARY} {BAIT} recent")
    session.refresh_from_db()
    return session


@pytest.fixture
def bob_data(bob):
    session = make_session(bob, title=f"bob {BAIT}")
    add_messages(session, ("user", f"bob {BAIT}"))
    return session


def resolve(schema: dict, node):
    while isinstance(node, dict) and "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def example_for(schema: dict, name: str, node, session_id: str):
    """A value for a body field, aimed at Alice's session where the field names one."""
    node = resolve(schema, node) or {}
    if name == "session_id":
        return session_id
    if name == "session_ids":
        return [session_id]
    if name in ("q", "query", "search"):
        return BAIT
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "array":
        return [example_for(schema, "", node.get("items", {}), session_id)] if node.get("items") else []
    if kind == "object" or "properties" in node:
        return body_for(schema, node, session_id)
    if kind == "integer":
        return max(node.get("minimum", 1), 1)
    if kind == "boolean":
        return False
    if node.get("format") == "date-time":
        return "2026-01-01T00:00:00Z"
    return BOB_TEXT


def body_for(schema: dict, node, session_id: str) -> dict:
    """A JSON body with the required fields, and every field that can name a session or a search."""
    node = resolve(schema, node) or {}
    properties = node.get("properties", {})
    wanted = set(node.get("required", [])) | {name for name in properties if name in ("session_id", "session_ids", "q", "query", "search")}
    return {name: example_for(schema, name, properties[name], session_id) for name in properties if name in wanted}


def attacks_from_schema(schema: dict, alice_session, alice_rows) -> list[tuple[str, str, dict | None, bool]]:
    """(method, url, body, addresses_alice_by_path) for every operation, with every id of Alice's."""
    other_ids = sorted({pk for pks in alice_rows.values() for pk in pks})
    attacks = []
    for template, operations in schema["paths"].items():
        names = re.findall(r"{(\w+)}", template)
        if not names:
            urls = [template]
        elif names == ["session_id"]:
            urls = [template.replace("{session_id}", alice_session.session_id)]
        else:
            candidates = [1, 2] if "seq" in names else other_ids  # seq: Alice's messages are 1 and 2
            urls = [re.sub(r"{(\w+)}", lambda match: alice_session.session_id if match[1] == "session_id" else str(pk), template) for pk in candidates]
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            body = body_for(schema, content["schema"], alice_session.session_id) if content else None
            for url in urls:
                attacks.append((method, url, body, bool(names)))
                if method == "get":
                    for parameter in operation.get("parameters", []):
                        if parameter["in"] == "query" and parameter["name"] in ("q", "query", "search", "mode", "session_id"):
                            value = alice_session.session_id if parameter["name"] == "session_id" else BAIT
                            attacks.append((method, f"{url}?{parameter['name']}={value}", None, bool(names)))
    return attacks


def assert_nothing_of_alices_changed(before, after, alice, alice_rows_before):
    changed = [key for key, fields in before.items() if after.get(key) != fields]
    assert changed == [], f"rows changed or deleted: {changed}"
    assert rows_owned_by(alice) == alice_rows_before, "a row was added to something Alice owns"


def test_bob_cannot_reach_alices_data_through_any_api_operation(alice, alice_data, bob_api, bob_data, client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    alice_rows = rows_owned_by(alice)
    before = snapshot()
    attacks = attacks_from_schema(schema, alice_data, alice_rows)
    leaks = []
    for method, url, body, addressed in attacks:
        response = getattr(bob_api, method)(url, body, format="json") if body is not None else getattr(bob_api, method)(url)
        text = response.content.decode(errors="replace") + str(response.headers)
        if CANARY in text or (addressed and 200 <= response.status_code < 300):
            leaks.append(f"{method.upper()} {url} {body} -> {response.status_code} {text[:200]}")
        assert response.status_code < 500, f"{method.upper()} {url} -> {response.status_code}"
    figures.add("isolation: cross-user API attempts", len(attacks))
    figures.add("isolation: leaks", len(leaks))
    assert leaks == []
    assert len(attacks) >= len(schema["paths"])
    assert_nothing_of_alices_changed(before, snapshot(), alice, alice_rows)
    covered = [model for model in project_models() if owner_lookup(model) and alice_rows.get(model._meta.label_lower)]
    figures.add("isolation: owned models with rows under attack", len(covered))


def test_bob_cannot_see_alices_data_in_any_page(alice, alice_data, bob, bob_data, client):
    client.force_login(bob)
    alice_rows = rows_owned_by(alice)
    before = snapshot()
    urls = page_urls(alice_data.session_id, sorted({pk for pks in alice_rows.values() for pk in pks}))
    leaks = []
    for url in urls:
        for query in ("", f"?q={BAIT}", f"?mode={BAIT}"):
            response = client.get(url + query)
            body = response.content.decode(errors="replace")
            if CANARY in body or (alice_data.session_id in url and response.status_code == 200):
                leaks.append(f"GET {url}{query} -> {response.status_code}")
    figures.add("isolation: cross-user page attempts", len(urls) * 3)
    figures.add("isolation: leaks", len(leaks))
    assert leaks == []
    assert_nothing_of_alices_changed(before, snapshot(), alice, alice_rows)


def test_bob_gets_404_for_alices_session_on_each_sessions_endpoint(alice_data, bob_api, bob_data):
    """The table the generic sweep stands on, spelled out for the seed's actions."""
    sid = alice_data.session_id
    attempts = [
        ("get", f"/api/sessions/{sid}/", None),
        ("patch", f"/api/sessions/{sid}/", {"title": BOB_TEXT}),
        ("delete", f"/api/sessions/{sid}/", None),
        ("post", f"/api/sessions/{sid}/end/", None),
        ("get", f"/api/sessions/{sid}/messages/", None),
        ("post", f"/api/sessions/{sid}/messages/", {"role": "user", "content": BOB_TEXT}),
        ("post", "/api/sessions/load", {"session_id": sid}),
        ("post", "/api/sessions/save", {"session_id": sid, "messages": [{"role": "user", "content": BOB_TEXT}]}),
    ]
    for method, url, body in attempts:
        assert getattr(bob_api, method)(url, body, format="json").status_code == 404, (method, url)
    listed = bob_api.post("/api/sessions/list", {"q": sid}, format="json").json()
    assert listed["count"] == 0
    assert bob_api.get(f"/api/sessions/?q={BAIT}").json()["count"] == 1  # his own only
    alice_data.refresh_from_db()
    assert (alice_data.title, alice_data.message_count, alice_data.ended_at) == (f"{CANARY} {BAIT} plans", 2, None)
