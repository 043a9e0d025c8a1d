"""Who a NovaForge token belongs to, remembered for a few seconds: a call through the proxy would
otherwise spend a database round trip (and a thread hop) on its token before anything is forwarded.

A token deleted, or a user saved (deactivated), in this process is forgotten at once; in another
process (several workers) it is honoured for at most TTL_SECONDS more.
"""

import hashlib
import time

from rest_framework.authtoken.models import Token

TTL_SECONDS = 5.0
MAX_REMEMBERED = 10_000

# sha256(key) -> (monotonic time it expires, user): the keys themselves are not kept.
_remembered: dict[bytes, tuple[float, object]] = {}


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def remembered_user(key: str):
    """The active user `key` belongs to, if it was looked up less than TTL_SECONDS ago; else None."""
    entry = _remembered.get(_digest(key))
    if entry is None or entry[0] < time.monotonic():
        return None
    return entry[1]


def look_up_user(key: str):
    """The active user `key` belongs to, from the database (remembered), or None."""
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    if len(_remembered) >= MAX_REMEMBERED:
        _remembered.clear()
    _remembered[_digest(key)] = (time.monotonic() + TTL_SECONDS, token.user)
    return token.user


def forget_all(**_signal) -> None:
    _remembered.clear()
