"""The proxy remembers whose a token is for a few seconds, and forgets at once what changed here."""

import pytest
from rest_framework.authtoken.models import Token

from capture_app import tokens


@pytest.fixture(autouse=True)
def nothing_remembered():
    tokens.forget_all()
    yield
    tokens.forget_all()


def test_a_token_looked_up_is_remembered_and_an_unknown_one_is_not(alice, bob):
    key = Token.objects.create(user=alice).key

    assert tokens.remembered_user(key) is None
    assert tokens.look_up_user(key) == alice
    assert tokens.remembered_user(key) == alice
    assert tokens.look_up_user("not-a-token") is None
    assert tokens.remembered_user("not-a-token") is None


def test_a_deleted_token_is_forgotten_at_once(alice):
    token = Token.objects.create(user=alice)
    key = token.key
    tokens.look_up_user(key)

    token.delete()

    assert tokens.remembered_user(key) is None
    assert tokens.look_up_user(key) is None


def test_a_deactivated_user_is_forgotten_at_once(alice):
    key = Token.objects.create(user=alice).key
    tokens.look_up_user(key)

    alice.is_active = False
    alice.save()

    assert tokens.remembered_user(key) is None
    assert tokens.look_up_user(key) is None


def test_what_is_remembered_expires(alice, monkeypatch):
    key = Token.objects.create(user=alice).key
    tokens.look_up_user(key)

    monkeypatch.setattr(tokens, "TTL_SECONDS", -1.0)
    tokens.look_up_user(key)

    assert tokens.remembered_user(key) is None
