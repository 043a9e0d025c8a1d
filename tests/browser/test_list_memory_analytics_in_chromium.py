"""The list, memory and analytics pages in Chromium, desktop and phone-sized: what issue 18 asked of them.
Every page is screenshotted and checked with axe-core; the page fixture refuses any request off the server."""

import pytest

from memory_app import services as memory
from sessions_app.models import ChatSession
from sessions_app.services import end_session
from tests.browser.conftest import DESKTOP, PHONE, check_page, log_in
from tests.factories import add_messages, make_conversation

pytestmark = pytest.mark.browser

SIZES = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture
def history(alice):
    sessions = [
        make_conversation(alice, title=f"Chat about django {n}",
                          turns=[("user", f"How do I tune **django** caching, case {n}? See https://example.com/{n}"),
                                 ("assistant", "Use the cache framework.")])
        for n in range(3)
    ]
    add_messages(sessions[0], ("assistant", "Searched."), metadata={"latency_ms": 900, "tools": ["web_search"]})
    return sessions


@pytest.fixture
def remembered(alice, history):
    memory.remember_fact(owner=alice, text="Prefers **dark** mode", category="preferences")
    memory.add_task(owner=alice, goal="Draft the *memo*", context={"session": history[1].session_id, "due": "Friday"},
                    session=history[1])
    end_session(session=history[2])
    return history


@pytest.mark.parametrize("size", SIZES)
def test_the_list_previews_each_conversation_and_acts_on_the_selection(page, alice, history, size):
    page.set_viewport_size(SIZES[size])
    log_in(page, "alice")
    row = page.locator("tbody tr", has_text="Chat about django 1")
    assert row.locator(".preview").inner_text().startswith("How do I tune **django** caching, case 1?")
    assert page.get_by_role("button", name="Archive").is_disabled()  # nothing selected yet
    page.get_by_label("Select every session on this page").check()
    assert page.locator("[data-selected]").inner_text() == "3"
    row.get_by_role("checkbox").uncheck()
    assert page.locator("[data-selected]").inner_text() == "2"
    page.get_by_label("Tag to add").fill("caching")
    page.get_by_role("button", name="Add tag").click()
    page.wait_for_url("**/sessions/")
    assert page.get_by_role("status").inner_text() == "Tagged 2 sessions “caching”."
    assert page.locator("tbody tr", has_text="Chat about django 0").locator(".tag", has_text="caching").is_visible()
    check_page(page, f"{size}-sessions-list-tagged")


def test_bulk_export_downloads_the_selected_sessions(page, alice, history):
    log_in(page, "alice")
    page.locator("tbody tr", has_text="Chat about django 2").get_by_role("checkbox").check()
    page.get_by_text("Export…").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="JSONL").click()
    text = download.value.path().read_text()
    assert "case 2" in text and "case 1" not in text


@pytest.mark.parametrize("size", SIZES)
def test_bulk_delete_says_how_many_before_deleting(page, alice, history, size):
    page.set_viewport_size(SIZES[size])
    log_in(page, "alice")
    for n in (0, 1):
        page.locator("tbody tr", has_text=f"Chat about django {n}").get_by_role("checkbox").check()
    page.get_by_role("button", name="Delete…").click()
    assert page.get_by_role("heading", name="Delete 2 sessions?").is_visible()
    check_page(page, f"{size}-sessions-bulk-delete")
    assert ChatSession.objects.count() == 3
    page.get_by_role("button", name="Yes, delete 2 sessions").click()
    page.wait_for_url("**/sessions/")
    assert ChatSession.objects.count() == 1


def test_on_a_phone_the_filters_fold_away_and_the_stats_stay_small(page, alice, history):
    page.set_viewport_size(PHONE)
    log_in(page, "alice")
    assert not page.get_by_label("Mode").is_visible()
    assert page.locator(".stats").bounding_box()["height"] < PHONE["height"] / 5
    assert page.locator("tbody tr").first.bounding_box()["y"] < PHONE["height"]  # a session on the first screen
    page.get_by_text("Filters and sort").click()
    assert page.get_by_label("Mode").is_visible()
    page.set_viewport_size(DESKTOP)
    page.reload()
    assert page.get_by_label("Mode").is_visible()  # open on a wide screen


@pytest.mark.parametrize("size", SIZES)
def test_the_memory_page_renders_links_edits_and_deletes(page, alice, remembered, size):
    page.set_viewport_size(SIZES[size])
    log_in(page, "alice")
    page.goto("/memory/")
    fact = page.locator(".memory-item", has_text="Prefers")
    assert fact.locator("strong").inner_text() == "dark"  # Markdown rendered
    task = page.locator(".memory-item", has_text="Draft the")
    assert task.locator("dt").all_inner_texts() == ["due", "session"]
    task.get_by_role("link", name=remembered[1].session_id).first.click()
    page.wait_for_url(f"**/sessions/{remembered[1].session_id}/")
    page.goto("/memory/")
    check_page(page, f"{size}-memory")

    fact.get_by_text("Edit").click()
    fact.get_by_label("Text").fill("Prefers light mode")
    fact.get_by_role("button", name="Save").click()
    assert page.get_by_role("status").inner_text() == "Saved."
    assert page.locator(".memory-item", has_text="Prefers light mode").is_visible()
    fact = page.locator(".memory-item", has_text="Prefers light mode")
    fact.get_by_text("Delete…").click()
    assert fact.get_by_text("Forget this item?").is_visible()
    fact.get_by_role("button", name="Yes, delete it").click()
    assert page.get_by_role("status").inner_text() == "Deleted from memory."
    assert page.locator(".memory-item", has_text="Prefers light mode").count() == 0


def test_memory_search_marks_the_matched_words(page, alice, remembered):
    log_in(page, "alice")
    page.goto("/memory/")
    page.get_by_label("Search memory and messages").fill("caching")
    page.get_by_role("button", name="Search").click()
    assert page.locator(".memory-results mark").first.inner_text() == "caching"
    check_page(page, "desktop-memory-search")


@pytest.mark.parametrize("size", SIZES)
def test_analytics_topics_and_charts_at_the_newest_data(page, alice, history, size):
    page.set_viewport_size(SIZES[size])
    log_in(page, "alice")
    page.goto("/analytics/?granularity=day")
    topics = page.locator("#chart-topics .bar-label").all_text_contents()
    assert "caching" in topics and "tune" in topics
    assert not {"https", "com", "example"} & set(topics)
    # The newest column (today) is on screen: a phone's chart opens at its right end.
    newest = page.locator("#chart-messages .column").last.bounding_box()
    assert 0 <= newest["x"] and newest["x"] + newest["width"] <= SIZES[size]["width"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    by_mode = page.locator("#by-mode-heading + .table-wrap")
    assert by_mode.evaluate("element => getComputedStyle(element).overflowX") == "auto"
    check_page(page, f"{size}-analytics")


CONTROLS = "a[href], button:not([disabled]), input:not([type=hidden]), select, textarea, summary, [tabindex='0']"


def test_every_control_is_reachable_by_keyboard_and_visibly_focused(page, alice, remembered):
    log_in(page, "alice")
    for path in ("/sessions/", "/memory/", "/analytics/"):
        page.goto(path)
        visible = page.evaluate(f"""() => [...document.querySelectorAll("{CONTROLS}")]
            .filter(element => element.checkVisibility()).length""")
        for _ in range(visible * 3):  # a date field takes a Tab per part
            focused = page.evaluate("""() => {
                const element = document.activeElement;
                element.dataset.reached = "yes";
                const style = getComputedStyle(element);
                return {html: element.outerHTML.slice(0, 120), ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2};
            }""") if page.evaluate("document.activeElement !== document.body") else None
            assert focused is None or focused["ring"], f"{path}: no visible focus on {focused['html']}"
            page.keyboard.press("Tab")
        missed = page.evaluate(f"""() => [...document.querySelectorAll("{CONTROLS}")]
            .filter(element => element.checkVisibility() && !element.dataset.reached)
            .map(element => element.outerHTML.slice(0, 120))""")
        assert missed == [], path
