"""Abuse: throttling, CSRF on every form and on browser-session API writes, message content inert in
every page (admin included), secure cookies and headers in production, `check --deploy` clean."""

import secrets
import subprocess
import sys
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
import requests
from django.conf import global_settings
from django.contrib import admin
from django.core.cache import cache
from django.test import Client

from curation_app.models import MessageFeedback
from tests.factories import add_messages, make_session, make_user

from .ownership import project_models
from .routes import page_urls
from .server import BASE_DIR

XSS = '<script>alert("nf-xss")</script>'
XSS_ATTRIBUTE = '"><img src=x onerror=alert("nf-xss")>'


def throttled(settings, **rates):
    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None, **rates}}


def test_anonymous_clients_are_throttled(settings, anonymous_api):
    throttled(settings, anon="3/minute")
    answers = [anonymous_api.get("/api/schema/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert int(anonymous_api.get("/api/schema/").headers["Retry-After"]) > 0
    cache.clear()


def test_each_signed_in_user_is_throttled_on_their_own(settings, alice_api, bob_api):
    throttled(settings, user="5/minute")
    answers = [alice_api.get("/api/sessions/").status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]
    assert alice_api.post("/api/sessions/start", {}, format="json").status_code == 429
    assert bob_api.get("/api/sessions/").status_code == 200
    cache.clear()


def test_throttling_defaults_leave_room_for_normal_use(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert (rates["anon"], rates["user"]) == ("120/minute", "3000/minute")


@pytest.fixture
def hostile_data(alice):
    """Alice's session whose every text is markup that must stay text."""
    session = make_session(alice, title=XSS, system_prompt=XSS_ATTRIBUTE, metadata={"mode": XSS, XSS: XSS_ATTRIBUTE})
    messages = add_messages(session, ("user", XSS), ("assistant", XSS_ATTRIBUTE), metadata={"mode": XSS, "note": XSS}, message_id=None)
    MessageFeedback.objects.create(message=messages[1], rating=-1, reason=XSS, comment=XSS_ATTRIBUTE)
    return session


class Forms(HTMLParser):
    """The POST forms of a page: their action and whether they carry a CSRF token."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self.forms.append({"action": attrs.get("action") or "", "csrf": False})
        elif tag == "input" and attrs.get("name") == "csrfmiddlewaretoken" and self.forms:
            self.forms[-1]["csrf"] = True


def admin_urls() -> list[str]:
    """The admin's index, and for every registered model its changelist (also searched), add and change pages."""
    urls = ["/admin/"]
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls += [base, f"{base}?q=nf-xss", f"{base}add/"]
        urls += [f"{base}{pk}/change/" for pk in model._default_manager.values_list("pk", flat=True)[:5]]
    return urls


def crawl(client, urls):
    """GET each URL; yield (url, status, html) for every HTML answer."""
    for url in urls:
        response = client.get(url, HTTP_ACCEPT="text/html")
        if "text/html" in response.get("Content-Type", ""):
            yield url, response.status_code, response.content.decode(errors="replace")


def site_pages(session):
    own_ids = sorted(pk for model in project_models() for pk in model._default_manager.values_list("pk", flat=True))
    pages = page_urls(session.session_id, own_ids)
    browsable_api = ["/api/sessions/", f"/api/sessions/{session.session_id}/", f"/api/sessions/{session.session_id}/messages/"]
    return pages + [f"{url}?q=nf-xss" for url in pages] + browsable_api


def test_message_content_is_inert_in_every_page_and_the_admin(alice, hostile_data, client):
    staff = make_user("root", is_staff=True, is_superuser=True)
    pages_checked = 0
    for user, urls in ((alice, site_pages(hostile_data)), (staff, admin_urls())):
        client.force_login(user)
        for url, status, html in crawl(client, urls):
            assert status < 500, url
            assert XSS not in html, f"unescaped <script> in {url}"
            assert '<img src=x onerror' not in html, f"unescaped attribute injection in {url}"
            pages_checked += status == 200
    assert pages_checked >= 8  # the admin's pages at least: the crawl really looked at pages


def test_every_post_form_carries_a_csrf_token_and_is_refused_without_it(alice, hostile_data):
    staff = make_user("root", is_staff=True, is_superuser=True)
    forms_seen = 0
    for user, urls in ((None, ["/accounts/login/"]), (alice, site_pages(hostile_data)), (staff, admin_urls())):
        browser = Client()
        strict = Client(enforce_csrf_checks=True)
        if user:
            browser.force_login(user)
            strict.force_login(user)
        for url, status, html in crawl(browser, urls):
            parser = Forms()
            parser.feed(html)
            for form in parser.forms:
                forms_seen += 1
                # The browsable API's raw-data form sends the token in a header from its script instead.
                assert form["csrf"] or url.startswith("/api/"), f"a POST form on {url} has no CSRF token"
                action = urljoin(url, form["action"]) if form["action"] else url
                assert strict.post(action, {"title": "forged"}).status_code == 403, f"{action} took a POST without CSRF token"
    assert forms_seen >= 3  # login, an admin change form and the admin's logout at least


def test_api_writes_with_a_browser_session_need_the_csrf_token(alice, alice_session):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    sid = alice_session.session_id
    writes = [
        ("post", "/api/sessions/start", {}),
        ("post", "/api/sessions/save", {"session_id": sid, "messages": [{"role": "user", "content": "forged"}]}),
        ("post", f"/api/sessions/{sid}/messages/", {"role": "user", "content": "forged"}),
        ("patch", f"/api/sessions/{sid}/", {"title": "forged"}),
        ("post", f"/api/sessions/{sid}/end/", {}),
        ("delete", f"/api/sessions/{sid}/", None),
    ]
    for method, url, body in writes:
        response = getattr(strict, method)(url, body, content_type="application/json")
        assert response.status_code == 403 and "CSRF" in response.json()["detail"], (method, url, response.status_code)
    alice_session.refresh_from_db()
    assert (alice_session.title, alice_session.message_count, alice_session.ended_at) == ("Alice's first chat", 0, None)
    token = strict.get("/accounts/login/").cookies["csrftoken"].value
    response = strict.post("/api/sessions/start", {}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201  # the same request with the token goes through


@pytest.mark.slow
def test_production_serves_secure_cookies_and_headers(gunicorn, transactional_db, settings):
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # the server checks with its own hashers
    make_user("visitor")
    server = gunicorn(workers=1, threads=2, env={"DEBUG": "0", "BEHIND_PROXY": "1", "SECURE_COOKIES": ""})
    plain = requests.get(f"{server.url}/accounts/login/", allow_redirects=False)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
    # X-Forwarded-Proto as the TLS proxy in front of gunicorn sends it.
    page = requests.get(f"{server.url}/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert page.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    csrf_cookie = page.raw.headers.getlist("Set-Cookie")[0]
    assert csrf_cookie.startswith("csrftoken=") and "Secure" in csrf_cookie
    token = csrf_cookie.split(";")[0].split("=", 1)[1]
    # Sent by hand: requests keeps Secure cookies to itself on an http:// URL.
    login = requests.post(
        f"{server.url}/accounts/login/",
        data={"username": "visitor", "password": "visitor-pw-123!", "csrfmiddlewaretoken": token},
        headers={"X-Forwarded-Proto": "https", "Cookie": f"csrftoken={token}", "Referer": f"https://127.0.0.1:{server.port}/accounts/login/"},
        allow_redirects=False,
    )
    assert login.status_code == 302, login.text[:300]
    session_cookie = next(line for line in login.raw.headers.getlist("Set-Cookie") if line.startswith("sessionid="))
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax"):
        assert attribute in session_cookie, f"the session cookie lacks {attribute}: {session_cookie}"


def test_check_deploy_is_clean_in_the_production_configuration(tmp_path):
    environment = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "BEHIND_PROXY": "1",  # production runs behind a TLS-terminating proxy (README, "Production")
        "ALLOWED_HOSTS": "novaforge.example.org",
        "NOVAFORGE_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
