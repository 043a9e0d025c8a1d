"""What a session id is (12 lowercase hex characters), defined once for every place that checks one:
the database constraint, serializer fields, URL patterns and filters."""

import re
import secrets

SESSION_ID_LENGTH = 12
SESSION_ID_ALPHABET = "0123456789abcdef"  # the database constraint checks these without REGEXP
# For URL patterns and regex validators.
SESSION_ID_REGEX = f"[{SESSION_ID_ALPHABET}]{{{SESSION_ID_LENGTH}}}"
SESSION_ID_PATTERN = f"^{SESSION_ID_REGEX}$"
SESSION_ID_ERROR = f"Must be {SESSION_ID_LENGTH} lowercase hex characters."
_SESSION_ID = re.compile(SESSION_ID_PATTERN)


def new_session_id() -> str:
    return secrets.token_hex(SESSION_ID_LENGTH // 2)


def is_session_id(value) -> bool:
    return isinstance(value, str) and _SESSION_ID.fullmatch(value) is not None


class SessionIdConverter:
    """`<session_id:...>` in URL patterns (registered when sessions_app loads)."""

    regex = SESSION_ID_REGEX

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value
