import json

import pytest
from django.test import Client

from tests.exports.openai_rules import chat_errors
from tests.factories import make_conversation


def body_lines(response) -> list[str]:
    return b"".join(response.streaming_content).decode().splitlines()


@pytest.mark.parametrize("path", ["/api/sessions/export", "/api/sessions/export/"])
def test_export_streams_the_callers_sessions_as_an_attachment(alice, bob, alice_api, bob_api, path):
    make_conversation(alice, turns=(("user", "alice asks"), ("assistant", "alice's answer")))
    make_conversation(bob, turns=(("user", "bob asks"), ("assistant", "bob's answer")))

    response = bob_api.post(path, {"format": "jsonl"}, format="json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/jsonl")
    assert response["Content-Disposition"].startswith('attachment; filename="chat_sessions_')
    [line] = body_lines(response)
    assert chat_errors(line) == [] and "bob asks" in line and "alice" not in line


def test_another_users_or_an_unknown_session_id_is_404(alice, bob, bob_api):
    alices = make_conversation(alice)
    bobs = make_conversation(bob)

    for ids in ([alices.session_id], [bobs.session_id, alices.session_id], ["0123456789ab"]):
        response = bob_api.post("/api/sessions/export", {"format": "csv", "session_ids": ids}, format="json")
        assert response.status_code == 404


def test_session_ids_and_list_filters_select_what_is_exported(alice, alice_api):
    chosen = make_conversation(alice, title="chosen", turns=(("user", "one"), ("assistant", "1")))
    make_conversation(alice, title="other", turns=(("user", "two"), ("assistant", "2")))
    coding = make_conversation(alice, metadata={"mode": "coding"}, turns=(("user", "three"), ("assistant", "3")))

    by_id = alice_api.post("/api/sessions/export", {"format": "csv", "session_ids": [chosen.session_id]}, format="json")
    by_mode = alice_api.post("/api/sessions/export", {"format": "jsonl", "mode": "coding"}, format="json")

    rows = body_lines(by_id)
    assert rows[0].startswith("session_id,seq,role") and {row.split(",")[0] for row in rows[1:]} == {chosen.session_id}
    assert by_id["Content-Type"].startswith("text/csv")
    [line] = body_lines(by_mode)
    assert json.loads(line)["messages"][0]["content"] == "three"
    assert coding.session_id


@pytest.mark.parametrize(
    "body, field",
    [
        ({"format": "pdf"}, "format"),
        ({}, "format"),
        ({"format": "jsonl", "session_ids": ["not-an-id"]}, "session_ids"),
        ({"format": "jsonl", "max_tokens": 0}, "max_tokens"),
        ({"format": "dpo", "rating": "positive"}, "rating"),
        ({"format": "jsonl", "started_after": "someday"}, "started_after"),
        ({"format": "jsonl", "min_messages": "many"}, "min_messages"),
    ],
)
def test_bad_input_is_400_naming_the_field(alice_api, body, field):
    response = alice_api.post("/api/sessions/export", body, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_anonymous_callers_are_refused(anonymous_api):
    assert anonymous_api.post("/api/sessions/export", {"format": "jsonl"}, format="json").status_code in (401, 403)


def test_a_page_form_with_its_csrf_token_can_post_the_export(alice):
    make_conversation(alice, title="Form export", turns=(("user", "via form"), ("assistant", "ok")))
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.get("/accounts/login/")  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value

    refused = browser.post("/api/sessions/export", {"format": "markdown"})
    response = browser.post("/api/sessions/export", {"format": "markdown", "csrfmiddlewaretoken": token})

    assert refused.status_code == 403
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode().startswith("# Form export")


def test_the_export_reads_all_sessions_in_a_fixed_number_of_queries(alice, alice_api, django_assert_max_num_queries):
    for n in range(25):
        make_conversation(alice, turns=(("user", f"q{n}"), ("assistant", f"a{n}")))

    with django_assert_max_num_queries(5):  # the token, then the sessions and all their messages
        response = alice_api.post("/api/sessions/export", {"format": "jsonl"}, format="json")
        lines = body_lines(response)

    assert len(lines) == 25
