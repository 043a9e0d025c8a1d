"""What the site shows around its pages: its own 404 and 500 pages (JSON under /api/), the admin's name,
the favicon."""

import re

import pytest
from django.test import Client
from django.urls import path

from novaforge import urls as site_urls
from tests.factories import make_user


def fail(request):
    raise RuntimeError("a bug")


# The site's routes and handlers plus two views that fail, for the 500 tests (ROOT_URLCONF points here).
urlpatterns = [path("broken/", fail), path("api/broken/", fail), *site_urls.urlpatterns]
handler404 = getattr(site_urls, "handler404", None)
handler500 = getattr(site_urls, "handler500", None)


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False


@pytest.fixture
def with_broken_views(settings):
    settings.ROOT_URLCONF = __name__


def test_an_unknown_page_is_our_404_page(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<title>Page not found · NovaForge</title>" in page
    assert "css/novaforge.css" in page and 'class="site-header"' in page
    assert 'href="/sessions/"' in page


def test_an_unknown_api_path_is_still_json(client):
    response = client.get("/api/no/such/thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_failing_page_is_our_500_page_without_the_database(with_broken_views):
    # No `db` fixture: the page must not need the database, which may be what failed.
    response = Client(raise_request_exception=False).get("/broken/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<title>Server error · NovaForge</title>" in page
    assert "css/novaforge.css" in page and 'class="site-header"' in page
    assert "a bug" not in page  # nothing of the failure is shown to visitors


def test_a_failing_api_call_answers_json(with_broken_views):
    response = Client(raise_request_exception=False).get("/api/broken/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Server error."}


def test_the_admin_is_named_after_novaforge(db):
    client = Client()
    client.force_login(make_user("staff", is_staff=True, is_superuser=True))
    page = client.get("/admin/").content.decode()
    assert re.search(r"<title>[^<]*NovaForge administration</title>", page)
    assert '<a href="/admin/">NovaForge administration</a>' in page
    assert "Django" not in page


def test_pages_carry_a_favicon_served_at_favicon_ico_too(client):
    page = client.get("/accounts/login/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(response.streaming_content)
