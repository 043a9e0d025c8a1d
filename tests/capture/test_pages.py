"""Proxy sessions read like any other: the page and the API show each reply's model, tokens, latency and
time to first token, and the page lists the upstream's errors."""

import openai
from django.test import Client

from sessions_app.templatetags.novaforge_tags import milliseconds

from .fake_upstream import USAGE
from .helpers import chat_streamed, errors_noted, stored

HELLO = [{"role": "user", "content": "Hello page"}]


def test_a_streamed_reply_shows_its_model_tokens_latency_and_first_token_on_the_page_and_in_the_api(
    alice_client, alice, alice_api
):
    _, session_id = chat_streamed(alice_client, model="m", messages=HELLO)
    reply = stored(session_id, 2)[1]["metadata"]
    browser = Client()
    browser.force_login(alice)

    page = browser.get(f"/sessions/{session_id}/").content.decode()

    assert "Echo: Hello page" in page
    assert 'title="Model">m<' in page
    assert f"first token {milliseconds(reply['ttft_ms'])}" in page
    assert f'title="Latency">{milliseconds(reply["latency_ms"])}' in page
    assert f"{USAGE['prompt_tokens']} prompt · {USAGE['completion_tokens']} completion tokens" in page
    listed = alice_api.get(f"/api/sessions/{session_id}/messages/").json()["results"][1]["metadata"]
    assert listed["model"] == "m"
    assert listed["usage"] == USAGE
    assert listed["ttft_ms"] == reply["ttft_ms"]
    assert listed["latency_ms"] == reply["latency_ms"]


def test_an_upstream_error_is_listed_on_the_session_page(alice_client, alice):
    try:
        alice_client.chat.completions.create(model="rate-limited", messages=HELLO)
    except openai.RateLimitError as error:
        session_id = error.response.headers["X-NovaForge-Session-Id"]
    errors_noted(session_id)
    browser = Client()
    browser.force_login(alice)

    page = browser.get(f"/sessions/{session_id}/").content.decode()

    assert "Upstream errors" in page
    assert "429 after message 1" in page
    assert "Rate limit reached, slow down." in page
