"""Fixtures for tests that attack a running server: real gunicorn processes and users with tokens."""

import pytest
from rest_framework.authtoken.models import Token

from tests.factories import make_user

from .server import Gunicorn


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """Start gunicorn servers on the test database: `gunicorn(workers=2, threads=4)`; all stopped after."""
    servers = []

    def start(**options) -> Gunicorn:
        server = Gunicorn(data_dir=tmp_path, **options)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def token_headers(transactional_db):
    """`token_headers(username)`: a new user, and the headers that authenticate as them."""

    def headers_for(username: str) -> dict:
        user = make_user(username)
        return {"Authorization": f"Token {Token.objects.create(user=user).key}"}

    return headers_for


def pytest_terminal_summary(terminalreporter):
    from .figures import FIGURES

    if FIGURES:
        terminalreporter.section("reliability figures")
        for name, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {value}")
