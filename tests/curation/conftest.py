import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The personas' passwords are hashed on creation; PBKDF2's deliberate slowness buys tests nothing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
