"""The server-rendered pages: /sessions/, /sessions/<id>/ and what they let the owner do."""

import base64
import html as html_module
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone
from pygments.formatters import HtmlFormatter

from curation_app import services
from sessions_app.models import ChatSession
from sessions_app.services import NewMessage, append_messages
from tests.factories import add_messages, make_conversation, make_session


@pytest.fixture
def alice_browser(client, alice):
    client.force_login(alice)
    return client


def test_pages_need_a_login(client, alice_session):
    for path in ("/sessions/", "/sessions.html", f"/sessions/{alice_session.session_id}/", "/analytics/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_the_list_shows_statistics_and_this_week_against_last(alice_browser, alice):
    make_conversation(alice, title="Fresh")
    old = make_session(alice, title="Last week", started_at=timezone.now() - timedelta(days=9))
    add_messages(old, ("user", "hi"))  # written now: a message of this week in a session of last week
    page = alice_browser.get("/sessions/").content.decode()
    assert re.search(r'data-stat="sessions">2<', page)
    assert re.search(r'data-stat="messages">3<', page)
    assert "1 in the last 7 days" in page and "±0%" in page  # one session each week
    assert "Fresh" in page and "Last week" in page


def test_the_seeds_sessions_html_is_the_same_list(alice_browser, alice_session):
    response = alice_browser.get("/sessions.html")
    assert response.status_code == 200
    assert "Alice&#x27;s first chat" in response.content.decode()


def test_search_filters_and_sorts_the_list(alice_browser, alice):
    make_conversation(alice, title="Postgres tuning", metadata={"mode": "research"})
    make_conversation(alice, title="Django forms", turns=[("user", "a"), ("assistant", "b"), ("user", "c")])
    assert "Django forms" not in alice_browser.get("/sessions/", {"q": "postgres"}).content.decode()
    page = alice_browser.get("/sessions/", {"mode": "research"}).content.decode()
    assert "Postgres tuning" in page and "Django forms" not in page
    page = alice_browser.get("/sessions/", {"min_messages": 3}).content.decode()
    assert "Django forms" in page and "Postgres tuning" not in page
    page = alice_browser.get("/sessions/", {"ordering": "title"}).content.decode()
    assert page.index("Django forms") < page.index("Postgres tuning")


def test_a_bad_filter_shows_its_error_instead_of_results(alice_browser, alice_session):
    response = alice_browser.get("/sessions/", {"min_messages": "many"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "min_messages:" in page and "Alice&#x27;s first chat" not in page


def test_the_list_pages_with_a_fixed_number_of_queries(alice_browser, alice, django_assert_max_num_queries):
    for number in range(30):
        make_conversation(alice, title=f"Chat {number:02d}")
    alice_browser.get("/sessions/")  # the first view after writes also refreshes the day's analytics rollups
    with django_assert_max_num_queries(16):
        page = alice_browser.get("/sessions/", {"ordering": "title"}).content.decode()
    assert "Chat 24" in page and "Chat 25" not in page and "Page 1 of 2" in page
    assert "Chat 25" in alice_browser.get("/sessions/", {"ordering": "title", "page": 2}).content.decode()


def test_another_users_sessions_are_not_listed_and_their_page_is_404(client, bob, alice_session):
    client.force_login(bob)
    assert "Alice" not in client.get("/sessions/").content.decode()
    assert client.get(f"/sessions/{alice_session.session_id}/").status_code == 404
    assert client.get(f"/sessions/{alice_session.session_id}/new-messages").status_code == 404
    for action in ("rename", "end", "delete"):
        assert client.post(f"/sessions/{alice_session.session_id}/{action}", {"title": "x"}).status_code == 404
    assert ChatSession.objects.filter(pk=alice_session.pk, title="Alice's first chat", ended_at=None).exists()


def test_the_conversation_renders_markdown_and_code_by_role(alice_browser, alice_session):
    add_messages(alice_session, ("user", "Show me **bold**"), ("assistant", "```python\nprint('<b>hi</b>')\n```"))
    add_messages(alice_session, ("assistant", "Done."), metadata={"mode": "coder", "tools": ["web_search"], "latency_ms": 840})
    page = alice_browser.get(f"/sessions/{alice_session.session_id}/").content.decode()
    assert '<li class="turn turn-user"' in page and '<li class="turn turn-assistant"' in page
    assert "<strong>bold</strong>" in page
    # Highlighted by Pygments on the server, the HTML in the code still shown as text.
    assert (
        '<div class="codehilite"><pre><span></span><code><span class="nb">print</span><span class="p">(</span>'
        '<span class="s1">\'&lt;b&gt;hi&lt;/b&gt;\'</span>'
    ) in page
    assert "mode: coder" in page and "tools: web_search" in page and "840 ms" in page


def test_a_latency_is_shown_only_when_it_is_a_non_negative_number(alice_browser, alice_api, alice_session):
    latencies = ["fast", -5, True, [1], {"ms": 3}, "840", 0, 12.5]
    messages = [
        {"role": "assistant", "content": f"Reply {n}", "metadata": {"latency_ms": latency}}
        for n, latency in enumerate(latencies)
    ]
    # The API refuses a latency that is not a number; data written before that check, or by plain SQL,
    # may still hold one.
    refused = alice_api.post("/api/sessions/save", {"session_id": alice_session.session_id, "messages": messages}, format="json")
    assert refused.status_code == 400 and "latency_ms" in str(refused.json())
    append_messages(session=alice_session, messages=[NewMessage(**message) for message in messages])
    page = alice_browser.get(f"/sessions/{alice_session.session_id}/").content.decode()
    shown = re.findall(r'<span title="Latency">([^<]*)</span>', page)
    assert shown == ["0 ms", "12.5 ms"]


def test_html_in_a_message_is_shown_as_text_and_never_runs(alice_browser, alice_session):
    add_messages(
        alice_session,
        ("user", "<script>alert('x')</script> <img src=x onerror=alert(1)> [link](javascript:alert(1))"),
    )
    page = alice_browser.get(f"/sessions/{alice_session.session_id}/").content.decode()
    conversation = page[page.index('id="conversation"'):]
    assert "<script>alert" not in conversation and "<img" not in conversation
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in conversation  # shown as text
    assert "javascript:" not in conversation


def test_export_buttons_post_every_format_for_this_session(alice_browser, alice_session):
    page = alice_browser.get(f"/sessions/{alice_session.session_id}/").content.decode()
    form = re.search(r'<form method="post" action="/api/sessions/export".*?</form>', page, re.S).group()
    assert 'name="csrfmiddlewaretoken"' in form
    assert f'name="session_ids" value="{alice_session.session_id}"' in form
    assert re.findall(r'name="format" value="(\w+)"', form) == ["jsonl", "sharegpt", "csv", "markdown", "hf"]


def test_new_messages_render_after_a_seq_for_live_updates(alice_browser, alice_session):
    add_messages(alice_session, ("user", "one"), ("assistant", "two **2**"))
    fragment = alice_browser.get(f"/sessions/{alice_session.session_id}/new-messages", {"after_seq": 1})
    assert 'data-seq="2"' in fragment.content.decode() and 'data-seq="1"' not in fragment.content.decode()
    assert "<strong>2</strong>" in fragment.content.decode()
    page = alice_browser.get(f"/sessions/{alice_session.session_id}/").content.decode()
    assert 'data-last-seq="2"' in page


def test_rename_end_and_delete_go_through_the_page_with_csrf(alice, alice_session):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    path = f"/sessions/{alice_session.session_id}"
    assert browser.post(f"{path}/rename", {"title": "New"}).status_code == 403  # no CSRF token
    browser.get(f"{path}/")
    token = browser.cookies["csrftoken"].value
    assert browser.post(f"{path}/rename", {"title": "Renamed", "csrfmiddlewaretoken": token}).status_code == 302
    assert browser.post(f"{path}/end", {"csrfmiddlewaretoken": token}).status_code == 302
    alice_session.refresh_from_db()
    assert alice_session.title == "Renamed" and alice_session.ended_at is not None
    response = browser.post(f"{path}/delete", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/sessions/"
    assert not ChatSession.objects.filter(pk=alice_session.pk).exists()


def test_a_too_long_title_is_refused_with_a_message(alice_browser, alice_session):
    response = alice_browser.post(f"/sessions/{alice_session.session_id}/rename", {"title": "x" * 201}, follow=True)
    assert "Title: Ensure this value has at most 200 characters" in response.content.decode()
    alice_session.refresh_from_db()
    assert alice_session.title == "Alice's first chat"


def test_the_analytics_page_draws_its_charts_as_inline_svg(alice_browser, alice, alice_session):
    add_messages(alice_session, ("user", "kubernetes deploy question"),
                 ("assistant", "Answer"), metadata={"latency_ms": 1200, "tools": ["web_search"]})
    make_conversation(alice, turns=[("user", "kubernetes again")])  # the page's topics span 2+ sessions
    page = alice_browser.get("/analytics/", {"granularity": "day"}).content.decode()
    for chart in ("chart-messages", "chart-tools", "chart-topics", "chart-latency"):
        figure = page[page.index(f'id="{chart}"'):]
        assert figure.index("<svg") < figure.index("</figure>")
    assert "kubernetes" in page and "web_search" in page


def test_the_analytics_page_names_a_bad_parameter(alice_browser):
    response = alice_browser.get("/analytics/", {"since": "soon"})
    assert response.status_code == 200
    assert "since: Enter an ISO 8601 date" in response.content.decode()
    assert "<svg" not in response.content.decode()


def test_a_long_conversation_pages_with_a_fixed_number_of_queries(alice_browser, alice_session, django_assert_max_num_queries):
    add_messages(alice_session, *[("user" if n % 2 else "assistant", f"turn {n}") for n in range(1, 151)])
    with django_assert_max_num_queries(6):  # 6: the curation toolbar reads the session's tags once
        page = alice_browser.get(f"/sessions/{alice_session.session_id}/").content.decode()
    assert 'data-seq="100"' in page and 'data-seq="101"' not in page
    assert "data-poll-url" not in page  # only the last page follows new messages
    last = alice_browser.get(f"/sessions/{alice_session.session_id}/", {"page": 2}).content.decode()
    assert 'data-seq="150"' in last and 'data-last-seq="150"' in last


def test_the_list_shows_pins_and_tags_and_hides_archived_sessions_unless_asked(alice_browser, alice):
    pinned = make_session(alice, title="Pinned one")
    services.curate_session(session=pinned, is_pinned=True, tags=["work"])
    archived = make_session(alice, title="Old archived")
    services.curate_session(session=archived, is_archived=True)
    make_session(alice, title="Plain newest")
    page = alice_browser.get("/sessions/").content.decode()
    assert page.index("Pinned one") < page.index("Plain newest")  # pinned first
    assert '<span class="tag">work</span>' in page
    assert "Old archived" not in page
    assert "Old archived" in alice_browser.get("/sessions/", {"q": "archived:any"}).content.decode()


# The conversation as it really is: tool calls, thinking, content parts, branches.

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000).decode()


def save(api, session, *messages):
    response = api.post(
        "/api/sessions/save", {"session_id": session.session_id, "messages": list(messages)}, format="json"
    )
    assert response.status_code in (200, 201), response.content
    return response


def text_of_html(html: str) -> str:
    return html_module.unescape(re.sub(r"<[^>]+>", "", html))


def turn(page: str, seq: int) -> str:
    match = re.search(rf'<li class="turn [^"]*" id="m{seq}".*?\n</li>', page, re.S)
    assert match, f"message {seq} is not on the page"
    return match.group(0)


def test_code_is_highlighted_and_what_is_dangerous_still_removed(alice_browser, alice_session):
    add_messages(
        alice_session,
        ("assistant", "```python\ndef f():\n    return 1\n```\n\n<span class=\"k\" onclick=\"x()\">raw</span> "
                      "[link](javascript:alert(1)) <script>alert(2)</script>"),
    )
    page = alice_browser.get(f"/sessions/{alice_session.session_id}/").content.decode()
    assert '<span class="k">def</span><span class="w"> </span><span class="nf">f</span>' in page
    content = turn(page, 1)
    assert not re.search(r"<[^>]*onclick", content) and "<script>" not in content and "javascript:" not in content
    assert "&lt;span class=" in content  # raw HTML in a message is shown as text
    assert "css/conversation.css" in page


def test_the_code_colours_are_served_by_us_and_match_the_pinned_pygments():
    stylesheet = finders.find("css/pygments.css")
    assert stylesheet, "static/css/pygments.css is missing"
    rules = Path(stylesheet).read_text().split("*/\n", 1)[1]
    assert rules.strip() == HtmlFormatter().get_style_defs(".codehilite").strip()
    assert '@import url("pygments.css")' in Path(finders.find("css/conversation.css")).read_text()


def test_tool_calls_show_their_arguments_and_results_folded(alice_browser, alice_api, alice_session):
    save(
        alice_api, alice_session,
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "reasoning": "The user wants **weather**.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris","days":2}'}},
            {"id": "call_2", "type": "function", "function": {"name": "raw_tool", "arguments": "not {json"}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
        {"role": "tool", "tool_call_id": "call_2", "content": "plain result"},
        {"role": "assistant", "content": "It is 21 degrees."},
    )
    page = alice_browser.get(f"/sessions/{alice_session.session_id}/").content.decode()
    calls = turn(page, 2)
    assert calls.count('<details class="tool-call">') == 2
    assert '<span class="tool-name">get_weather</span>' in calls
    assert '{\n  "city": "Paris",\n  "days": 2\n}' in text_of_html(calls)  # pretty-printed
    assert '<pre class="plain tool-arguments">not {json</pre>' in calls  # exactly as sent
    assert '"temp": 21' in text_of_html(calls) and "plain result" in calls
    assert re.search(r'<details class="reasoning">\s*<summary>.*Thinking</summary>', calls, re.S)
    assert "<strong>weather</strong>" in calls
    # The results are shown in their calls, not again as messages of their own.
    assert 'id="m3"' not in page and 'id="m4"' not in page and 'id="m5"' in page


def test_a_tool_result_whose_call_is_on_another_page_is_shown_on_its_own(alice_browser, alice_session):
    add_messages(alice_session, *[("user", f"turn {n}") for n in range(99)])
    append_messages(session=alice_session, messages=[NewMessage(role="assistant", content="", tool_calls=[
        {"id": "c9", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}])])
    append_messages(session=alice_session, messages=[NewMessage(role="tool", content="found it", tool_call_id="c9", name="lookup")])
    page = alice_browser.get(f"/sessions/{alice_session.session_id}/", {"page": 2}).content.decode()
    result = turn(page, 101)
    assert "tool-result-only" in result and "found it" in result and "lookup" in result


def test_images_and_files_are_served_by_us_and_remote_images_are_only_links(alice_browser, alice_api, alice_session, bob):
    save(alice_api, alice_session, {"role": "user", "content": [
        {"type": "text", "text": "Look at **these**"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lGODlhAQABAAAAACw="}},
        {"type": "image_url", "image_url": {"url": "https://images.example.com/cat.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/svg+xml;base64," + base64.b64encode(b"<svg onload='x()'/>").decode()}},
        {"type": "file", "file": {"filename": "notes.txt", "file_data": "data:text/plain;base64," + base64.b64encode(b"hello").decode()}},
    ]})
    detail = f"/sessions/{alice_session.session_id}/"
    page = alice_browser.get(detail).content.decode()
    message = turn(page, 1)
    assert "<strong>these</strong>" in message
    assert f'<img src="{detail}messages/1/parts/1"' in message and f'<img src="{detail}messages/1/parts/2"' in message
    assert not re.search(r'<(img|audio|video|source|iframe)[^>]+src="(?!/)', page)  # nothing loads from elsewhere
    assert '<a href="https://images.example.com/cat.png" rel="noopener noreferrer nofollow">' in message
    assert f'<img src="{detail}messages/1/parts/4"' not in message  # an SVG is offered, never shown inline
    image = alice_browser.get(f"{detail}messages/1/parts/1")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.content == base64.b64decode(PNG)
    assert "sandbox" in image["Content-Security-Policy"]
    svg = alice_browser.get(f"{detail}messages/1/parts/4")
    assert svg["Content-Type"] == "application/octet-stream" and svg["Content-Disposition"].startswith("attachment")
    text_file = alice_browser.get(f"{detail}messages/1/parts/5")
    assert text_file.content == b"hello" and 'filename="notes.txt"' in text_file["Content-Disposition"]
    assert alice_browser.get(f"{detail}messages/1/parts/3").status_code == 404  # remote: nothing stored here
    assert alice_browser.get(f"{detail}messages/1/parts/9").status_code == 404
    other = Client()
    other.force_login(bob)
    assert other.get(f"{detail}messages/1/parts/1").status_code == 404


def test_the_branch_switcher_shows_siblings_and_switches_to_the_newest_leaf(alice_browser, alice_session, bob):
    add_messages(alice_session, ("user", "Question"), ("assistant", "First answer"))
    append_messages(session=alice_session, messages=[NewMessage(role="assistant", content="Second answer", parent_seq=1)])
    add_messages(alice_session, ("user", "Follow-up on second"))
    detail = f"/sessions/{alice_session.session_id}/"
    page = alice_browser.get(detail).content.decode()
    assert "First answer" not in page and "Second answer" in page and "Follow-up on second" in page
    switcher = turn(page, 3)
    assert '<span class="branch-position">2/2</span>' in switcher
    assert 'name="seq" value="2"' in switcher and re.search(r'aria-label="Next version"\s+disabled', switcher)
    assert "branch-position" not in turn(page, 1)

    response = alice_browser.post(f"{detail}branch", {"seq": "2"})
    assert response.status_code == 302 and response["Location"].endswith("#m2")
    alice_session.refresh_from_db()
    assert alice_session.current_seq == 2
    page = alice_browser.get(detail).content.decode()
    assert "First answer" in page and "Second answer" not in page and "Follow-up" not in page
    assert '<span class="branch-position">1/2</span>' in turn(page, 2)

    alice_browser.post(f"{detail}branch", {"seq": "3"})
    alice_session.refresh_from_db()
    assert alice_session.current_seq == 4  # the sibling's newest leaf, not the sibling itself

    for bad in ("", "two", "99"):
        response = alice_browser.post(f"{detail}branch", {"seq": bad})
        assert response.status_code == 400 and b"seq" in response.content
    other = Client()
    other.force_login(bob)
    assert other.post(f"{detail}branch", {"seq": "2"}).status_code == 404


def test_every_message_has_a_copy_button_and_ratings_are_svg_icons(alice_browser, alice_session):
    add_messages(alice_session, ("user", "Hi"), ("assistant", "Hello"))
    page = alice_browser.get(f"/sessions/{alice_session.session_id}/").content.decode()
    assert page.count('data-copy-from="m') == 2
    assert "👍" not in page and "👎" not in page
    assert re.search(r'title="Good answer" aria-label="Good answer"><svg class="icon"', page)
    assert "js/copy.js" in page
