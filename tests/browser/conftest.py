"""One headless Debian Chromium for the whole run, driven by Playwright against pytest-django's live server.

Never `playwright install`: the browser is the system's `chromium` (apt-get install chromium). Without
it these tests skip with that reason; .ci/run installs it first, so CI always runs them.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed: `apt-get install -y chromium` (.ci/run does this) to run browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt")
    # Playwright's sync API keeps an event loop running in this thread; the ORM refuses to run
    # beside one unless told that this test code is not async code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server, transactional_db, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server is plain HTTP
    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def log_in(page, username: str):
    page.goto("/sessions/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"{username}-pw-123!")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/sessions/")


def screenshot(page, name: str):
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
