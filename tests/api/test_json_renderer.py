"""The API's JSON renderer writes what DRF's own would, byte for byte."""

from datetime import UTC, datetime
from decimal import Decimal

from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer

from novaforge.drf.renderers import JSONRenderer

ODD_VALUES = {
    "text": "line\u2028separator, é, 👍, \"quoted\"",
    "numbers": [1, 2.5, -0.0, 10**30],
    "aware": datetime(2026, 1, 1, tzinfo=UTC),
    "naive": datetime(2026, 1, 1, 1, 2, 3, 456789),
    "decimal": Decimal("1.10"),
    "lazy": gettext_lazy("Hello"),
    "errors": [ErrorDetail("bad", code="invalid")],
    "nothing": None,
}


def test_the_renderer_writes_the_same_bytes_as_drf():
    assert JSONRenderer().render(ODD_VALUES) == DRFJSONRenderer().render(ODD_VALUES)


def test_indented_output_is_drfs():
    media_type = "application/json; indent=2"
    assert JSONRenderer().render(ODD_VALUES, media_type) == DRFJSONRenderer().render(ODD_VALUES, media_type)


def test_a_loaded_session_comes_back_whole(alice_api, alice_session):
    body = {"session_id": alice_session.session_id,
            "messages": [{"role": "user", "content": "Hi \u2028 there", "metadata": {"n": 1.5}}]}
    alice_api.post("/api/sessions/save", body, format="json")
    loaded = alice_api.post("/api/sessions/load", {"session_id": alice_session.session_id}, format="json")
    assert b"\\u2028" in loaded.content
    (message,) = loaded.json()["messages"]
    assert (message["content"], message["metadata"], message["seq"]) == ("Hi \u2028 there", {"n": 1.5}, 1)
    assert message["created_at"].endswith("Z")
