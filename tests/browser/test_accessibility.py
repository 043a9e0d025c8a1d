"""axe-core on every page, desktop and phone-sized, and the keyboard: every control reachable and visibly focused."""

import pytest

from tests.browser.conftest import DESKTOP, PHONE, check_page, log_in
from tests.factories import make_conversation, make_user

pytestmark = pytest.mark.browser

SIZES = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture
def history(alice):
    make_conversation(alice, title="Deploying Django", metadata={"mode": "commander"},
                      turns=[("user", "How do I deploy **Django** with gunicorn?"), ("assistant", "Use `gunicorn`.")])
    make_conversation(alice, title="Postgres vacuum",
                      turns=[("user", "How do I tune django autovacuum?"), ("assistant", "Lower the scale factor.")])


@pytest.mark.parametrize("size", SIZES)
def test_the_login_page_passes_axe(page, size):
    page.set_viewport_size(SIZES[size])
    page.goto("/accounts/login/")
    check_page(page, f"{size}-login")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("path", ["/sessions/", "/memory/", "/analytics/", "/no-such-page/"])
def test_the_pages_pass_axe(page, alice, history, size, path):
    page.set_viewport_size(SIZES[size])
    log_in(page, "alice")
    page.goto(path)
    check_page(page, f"{size}-{path.strip('/') or 'home'}")


@pytest.mark.parametrize("size", SIZES)
def test_the_admin_index_passes_axe(page, size):
    make_user("root", is_staff=True, is_superuser=True)
    page.set_viewport_size(SIZES[size])
    log_in(page, "root")
    page.goto("/admin/")
    assert page.title().startswith("Site administration | NovaForge administration") or "NovaForge" in page.title()
    check_page(page, f"{size}-admin")
