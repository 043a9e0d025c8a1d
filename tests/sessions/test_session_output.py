"""The hand-built session output is what DRF's ModelSerializer fields would write."""

from rest_framework import serializers

from sessions_app import services
from sessions_app.serializers import ChatSessionSerializer
from tests.factories import make_conversation


class FieldBySessionSerializer(ChatSessionSerializer):
    to_representation = serializers.ModelSerializer.to_representation


def test_a_session_is_written_as_drfs_fields_would(alice):
    session = services.end_session(session=make_conversation(alice, title="Plans", metadata={"mode": "coder"}))
    session.refresh_from_db()
    assert ChatSessionSerializer(session).data == FieldBySessionSerializer(session).data


def test_the_list_answers_sessions_as_the_detail_does(alice_api, alice):
    session = make_conversation(alice, title="Plans")
    listed = alice_api.post("/api/sessions/list", {}, format="json").json()["results"]
    detail = alice_api.get(f"/api/sessions/{session.session_id}/").json()
    assert listed == [detail]
    assert detail["started_at"].endswith("Z") and detail["ended_at"] is None
