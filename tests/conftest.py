"""Personas: alice owns things, bob must never see them. Each has an API client with a token."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import make_session, make_user


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


def _client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def alice_api(alice):
    return _client_for(alice)


@pytest.fixture
def bob_api(bob):
    return _client_for(bob)


@pytest.fixture
def anonymous_api():
    return APIClient()


@pytest.fixture
def alice_session(alice):
    return make_session(alice, title="Alice's first chat")


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    """Every test writes files (exports, archives) under its own temporary data directory."""
    settings.DATA_DIR = tmp_path / "memory"
    settings.DATA_DIR.mkdir()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users are made in most tests; the production hasher's deliberate slowness buys nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
