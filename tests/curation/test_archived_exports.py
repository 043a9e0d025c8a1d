import json

from django.core.management import call_command

from tests.factories import make_conversation


def exported(client, **body):
    response = client.post("/api/sessions/export", {"format": "jsonl", **body}, format="json")
    assert response.status_code == 200
    return [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]


def test_an_archived_session_exports_by_id_and_with_archived_in_q(alice_api, alice):
    archived = make_conversation(alice, title="archived", turns=[("user", "old q"), ("assistant", "old a")])
    make_conversation(alice, title="live", turns=[("user", "new q"), ("assistant", "new a")])
    alice_api.patch(f"/api/sessions/{archived.session_id}/", {"is_archived": True}, format="json")
    by_id = exported(alice_api, session_ids=[archived.session_id])
    assert [example["messages"][0]["content"] for example in by_id] == ["old q"]
    assert [example["messages"][0]["content"] for example in exported(alice_api)] == ["new q"]
    everything = exported(alice_api, q="archived:any")
    assert sorted(example["messages"][0]["content"] for example in everything) == ["new q", "old q"]


def test_the_export_command_includes_archived_sessions(alice_api, alice, tmp_path):
    archived = make_conversation(alice, title="archived", turns=[("user", "old q"), ("assistant", "old a")])
    alice_api.patch(f"/api/sessions/{archived.session_id}/", {"is_archived": True}, format="json")
    output = tmp_path / "out.jsonl"
    call_command("export_sessions", format="jsonl", output=str(output), user="alice", verbosity=0)
    assert [json.loads(line)["messages"][0]["content"] for line in output.read_text().splitlines()] == ["old q"]
