"""Check-constraint conditions written with functions SQLite and PostgreSQL both have.

Django's `__regex` lookup becomes `REGEXP` on SQLite, a function only Django's connection defines: the
stock `sqlite3` tool then cannot check, recover or write the database file. These build the same rules
from `LTRIM`, `LENGTH` and `SUBSTR`, which both databases have.
"""

from django.db.models import CharField, Func, Q, Value
from django.db.models.lookups import Exact

DIGITS = "0123456789"
LOWERCASE_ALPHANUMERICS = DIGITS + "abcdefghijklmnopqrstuvwxyz"


def made_of(expression, characters: str) -> Q:
    """True when every character of `expression` (a field name or an expression) is one of `characters`;
    also true for an empty string."""
    # LTRIM(text, set) strips leading characters found in the set: nothing is left when all of them are.
    stripped = Func(expression, Value(characters), function="LTRIM", output_field=CharField())
    return Q(Exact(stripped, ""))
