"""One headless Debian Chromium for the whole run, driven by Playwright against pytest-django's live server.

Never `playwright install`: the browser is the system's `chromium` (apt-get install chromium). Without
it these tests skip with that reason; .ci/run installs it first, so CI always runs them.
"""

import os
import shutil
from importlib.resources import files
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


# Impacts that fail a page: axe's "minor" and "moderate" findings are reported by axe but not gated on.
AXE_FAILING_IMPACTS = ("serious", "critical")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def page(browser, live_server, transactional_db, settings):
    """A tab on the live server that refuses (and reports) every request to anywhere else."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server is plain HTTP
    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    context.set_default_timeout(10_000)
    left_the_server = []

    def only_our_server(route):
        if route.request.url.startswith(live_server.url + "/"):
            route.continue_()
        else:
            left_the_server.append(route.request.url)
            route.abort()

    context.route("**/*", only_our_server)
    tab = context.new_page()
    yield tab
    context.close()
    assert left_the_server == [], "pages must load nothing from outside the server"


def axe_script() -> Path:
    """axe-core as shipped in the axe-playwright-python package (requirements-dev.txt): served from disk."""
    try:
        return Path(str(files("axe_playwright_python") / "axe.min.js"))
    except ModuleNotFoundError:
        pytest.fail("axe-playwright-python is in requirements-dev.txt: `pip install -r requirements-dev.txt`")


def run_axe(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now, as {id, impact, help, targets}."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=axe_script())
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": violation["id"], "impact": violation["impact"], "help": violation["help"],
         "targets": [node["target"] for node in violation["nodes"]][:5]}
        for violation in results["violations"]
        if violation["impact"] in AXE_FAILING_IMPACTS
    ]


def check_page(page, name: str) -> None:
    """Keep a screenshot of the page and fail on axe's serious or critical findings."""
    screenshot(page, name)
    violations = run_axe(page)
    assert violations == [], f"{name}: {violations}"


def log_in(page, username: str):
    page.goto("/sessions/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"{username}-pw-123!")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/sessions/")


def screenshot(page, name: str):
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
