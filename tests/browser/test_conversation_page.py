"""The conversation page in Chromium at desktop and phone sizes: tool calls, thinking, parts, branches,
highlighted code and copy buttons, the grouped toolbar, share links, the keyboard, and no request that
leaves the server. Every state is kept as a screenshot in test-artifacts/screenshots/."""

import base64
import struct
import zlib
from urllib.parse import urlsplit

import pytest

from sessions_app.services import NewMessage, append_messages
from tests.browser.conftest import SCREENSHOTS, check_page, log_in
from tests.factories import make_session

pytestmark = pytest.mark.browser

SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2},
}
CODE = "def greet(name):\n    return f\"Hello, {name}!\""


def png(width: int = 24, height: int = 24) -> bytes:
    """A real PNG (a red square), stored uncompressed so that its data URL is long enough to be a blob."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b"")


@pytest.fixture
def conversation(alice):
    session = make_session(alice, title="Weather and code")
    image = "data:image/png;base64," + base64.b64encode(png()).decode()
    append_messages(session=session, messages=[
        NewMessage(role="user", content="What's the weather in Paris? Here is a map.\nAnd this one.", parts=[
            {"type": "text", "text": "What's the weather in Paris? Here is a map."},
            {"type": "image_url", "image_url": {"url": image}},
            {"type": "text", "text": "And this one."},
            {"type": "image_url", "image_url": {"url": "https://images.example.com/paris.png"}},
        ]),
        NewMessage(role="assistant", content="", reasoning="The user wants the **forecast**.", tool_calls=[
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Paris","unit":"celsius"}'}}]),
        NewMessage(role="tool", content='{"temperature": 21, "sky": "clear"}', tool_call_id="call_1"),
        NewMessage(role="assistant", content=f"It is 21 °C. A function for it:\n\n```python\n{CODE}\n```",
                   metadata={"model": "gpt-test", "latency_ms": 840}),
    ])
    # A regenerated answer: a sibling of seq 4, now the active branch.
    append_messages(session=session, messages=[
        NewMessage(role="assistant", content="Sunny, 21 degrees.", parent_seq=3)])
    session.refresh_from_db()
    return session


@pytest.fixture(params=list(SIZES))
def tab(request, browser, live_server, transactional_db, settings):
    """A logged-out tab at one screen size whose requests to anywhere but the live server are aborted
    and recorded: tab.outside lists them, and must stay empty."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server is plain HTTP
    context = browser.new_context(base_url=live_server.url, **SIZES[request.param])
    context.set_default_timeout(10_000)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    outside = []

    def guard(route):
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("localhost", "127.0.0.1"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.size = request.param
    page.outside = outside
    yield page
    context.close()
    assert outside == [], f"requests left the server: {outside}"


def shot(tab, name: str):
    """Keep a screenshot of this state, which must fit the screen's width (no sideways scrolling)."""
    tab.wait_for_load_state("load")  # a click that submits a form returns before the next page's CSS is in
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= tab.viewport_size["width"], f"{name}: the page is {width}px wide"
    tab.screenshot(path=SCREENSHOTS / f"conversation-{name}-{tab.size}.png", full_page=True)


def menu(tab, name: str):
    """A toolbar menu's button (on a phone only its icon shows; the name is still there for readers)."""
    return tab.locator("section.toolbar summary").filter(has_text=name)


def open_conversation(tab, session):
    log_in(tab, "alice")
    tab.goto(f"/sessions/{session.session_id}/")


def test_tool_calls_thinking_and_images_read_as_they_happened(tab, conversation):
    open_conversation(tab, conversation)
    shot(tab, "read")
    call = tab.locator("details.tool-call").first
    assert call.locator("summary").inner_text().startswith("get_weather")
    assert not call.locator(".tool-body").is_visible()  # folded until asked
    call.locator("summary").click()
    body = call.locator(".tool-body").inner_text()
    assert '"city": "Paris",\n  "unit": "celsius"' in body and '"temperature": 21' in body
    thinking = tab.locator("details.reasoning")
    thinking.locator("summary").click()
    assert thinking.locator("strong").inner_text() == "forecast"
    image = tab.locator(".part-image img")
    image.scroll_into_view_if_needed()
    assert tab.evaluate("img => img.complete && img.naturalWidth", image.element_handle()) == 24
    remote = tab.get_by_role("link", name="Image at https://images.example.com/paris.png")
    assert remote.is_visible() and tab.locator('img[src^="http"]').count() == 0
    assert tab.locator("li#m3").count() == 0  # the tool's answer sits inside its call
    shot(tab, "tool-call-and-thinking-open")


def test_code_is_highlighted_and_code_and_messages_copy(tab, conversation):
    open_conversation(tab, conversation)
    with tab.expect_navigation():  # styles are read below: wait until the new page has loaded them
        tab.get_by_role("button", name="Previous version").click()  # the answer with the code
    keyword = tab.locator(".codehilite .k").first
    assert keyword.inner_text() == "def"
    assert keyword.evaluate("el => getComputedStyle(el).color") != tab.locator(".codehilite pre").first.evaluate(
        "el => getComputedStyle(el).color")
    tab.get_by_role("button", name="Copy code").click()
    assert tab.evaluate("navigator.clipboard.readText()") == CODE
    tab.wait_for_selector('.code-copy[aria-label="Copied"]')  # said to screen readers too
    tab.locator("#m4").get_by_role("button", name="Copy message").click()
    copied = tab.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("It is 21 °C.") and "def greet(name):" in copied
    shot(tab, "code-copied")


def test_the_branch_switcher_changes_the_active_branch(tab, conversation):
    open_conversation(tab, conversation)
    answer = tab.locator("#m5")
    assert answer.locator(".branch-position").inner_text() == "2/2"
    assert answer.get_by_role("button", name="Next version").is_disabled()
    shot(tab, "branch-2-of-2")
    answer.get_by_role("button", name="Previous version").click()
    tab.wait_for_url("**#m4")
    assert tab.locator("#m5").count() == 0 and tab.locator("#m4 .branch-position").inner_text() == "1/2"
    shot(tab, "branch-1-of-2")
    tab.locator("#m4").get_by_role("button", name="Next version").click()
    tab.wait_for_url("**#m5")
    assert "Sunny, 21 degrees." in tab.locator("#m5").inner_text()


def test_the_toolbar_fits_and_its_menus_open(tab, conversation):
    open_conversation(tab, conversation)
    toolbar = tab.get_by_role("region", name="Session actions")
    box = toolbar.bounding_box()
    assert box["height"] < 70, "the toolbar wraps onto a second line"
    assert box["width"] <= tab.viewport_size["width"]
    # Icons are SVG with a size of their own: nothing depends on an emoji font.
    thumbs = tab.locator("#m5").get_by_role("button", name="Good answer")
    assert thumbs.locator("svg").bounding_box()["width"] > 10
    menu(tab, "Export").click()
    assert tab.get_by_role("button", name="Markdown").is_visible()
    shot(tab, "export-menu")
    menu(tab, "Export").click()
    menu(tab, "More").click()
    assert tab.get_by_label("Title").is_visible() and tab.get_by_text("Delete…").is_visible()
    tab.get_by_text("Delete…").click()
    assert tab.get_by_role("button", name="Yes, delete it").is_visible()
    panel = tab.locator(".menu-end > .menu-panel").bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= tab.viewport_size["width"] + 1
    shot(tab, "more-menu")


def test_share_a_link_copy_it_open_it_and_revoke_it(tab, conversation):
    open_conversation(tab, conversation)
    menu(tab, "Share").click()
    shot(tab, "share-panel")
    tab.get_by_label("New link opens").select_option("7")
    tab.get_by_role("button", name="Share read-only link").click()
    link = tab.locator("#new-share-url")
    url = link.get_attribute("href")
    assert link.is_visible() and url.startswith(tab.url.split("/sessions/")[0] + "/share/")
    shot(tab, "share-created")
    tab.get_by_role("button", name="Copy link").click()
    assert tab.evaluate("navigator.clipboard.readText()") == url
    tab.reload()
    assert tab.locator("#new-share-url").count() == 0  # shown once: only its hash is kept
    tab.goto(url)
    assert tab.get_by_role("heading", name="Weather and code").is_visible()
    shot(tab, "shared-page")
    tab.goto("/shares/")
    assert tab.get_by_role("link", name="Weather and code").is_visible()
    shot(tab, "shares")
    tab.locator("summary").filter(has_text="Revoke…").click()
    shot(tab, "shares-revoke-confirm")
    tab.get_by_role("button", name="Yes, revoke it").click()
    assert tab.get_by_text("no longer opens").is_visible()
    assert tab.get_by_text("No share links.").is_visible()
    assert tab.request.get(url).status == 404


def test_every_control_is_reached_by_the_keyboard_and_visibly_focused(tab, conversation):
    open_conversation(tab, conversation)
    tab.get_by_role("button", name="Previous version").click()  # the branch with a code block
    tab.goto(f"/sessions/{conversation.session_id}/")
    reached = set()
    for _ in range(60):
        tab.keyboard.press("Tab")
        focused = tab.evaluate("""() => {
            const el = document.activeElement;
            if (!el || el === document.body || el.tabIndex < 0) return {name: '', outline: true};
            const style = getComputedStyle(el);
            return {name: (el.getAttribute('aria-label') || el.innerText || el.value || '').trim(),
                    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2};
        }""")
        if focused["name"]:
            reached.add(focused["name"].split("\n")[0])
            assert focused["outline"], f"{focused['name']!r} has no visible focus"
    for control in ("Export", "Pin", "Archive", "Share", "More", "Copy message", "Good answer", "Bad answer",
                    "Next version", "get_weather", "Thinking", "Copy code", "Image at https://"):
        assert any(name.startswith(control) for name in reached), f"{control} is not reachable: {sorted(reached)}"
    shot(tab, "keyboard")


def test_without_javascript_the_conversation_still_reads(browser, live_server, transactional_db, settings, conversation):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False, **SIZES["desktop"])
    tab = context.new_page()
    tab.size = "no-js"
    log_in(tab, "alice")
    tab.goto(f"/sessions/{conversation.session_id}/")
    tab.locator("details.tool-call summary").first.click()
    assert '"temperature": 21' in tab.locator("details.tool-call .tool-body").first.inner_text()
    assert tab.get_by_role("button", name="Copy message").count() == 0  # shown only where they work
    tab.get_by_role("button", name="Previous version").click()
    assert tab.locator(".codehilite .k").first.inner_text() == "def"
    shot(tab, "no-javascript")
    context.close()


def test_the_conversation_and_share_pages_pass_axe_with_every_fold_open(tab, conversation):
    open_conversation(tab, conversation)
    tab.get_by_role("button", name="Previous version").click()
    tab.wait_for_load_state("load")
    for fold in tab.locator("details").all():
        fold.evaluate("el => el.open = true")  # tool calls, thinking, the toolbar's menus, the share panel
    check_page(tab, f"conversation-axe-{tab.size}")
    tab.goto("/shares/")
    check_page(tab, f"shares-axe-{tab.size}")
