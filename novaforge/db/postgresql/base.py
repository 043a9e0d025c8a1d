"""Django's PostgreSQL backend, with timestamps parsed by psycopg's C loader.

Django reads every timestamptz through a subclass of psycopg's loader written in Python, so it can set
the tzinfo it wants: ~3 us a value, a fifth of loading a 10,000-message session. Here psycopg's own
loader (its C one, from psycopg[binary]) parses the text and only Django's tzinfo is set afterwards:
the same values, ~1.3 us each.
"""

import psycopg
from django.db.backends.postgresql import base
from psycopg.adapt import Loader
from psycopg.pq import Format

TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid
# The global map holds psycopg's optimised loader when its C module is installed, else the Python one.
_PSYCOPG_LOADER = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


class TimestamptzLoader(Loader):
    """psycopg's loader, then the tzinfo of Django's loader (None when USE_TZ is off: naive values)."""

    timezone = None

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        self._parse = _PSYCOPG_LOADER(oid, context).load

    def load(self, data):
        return self._parse(data).replace(tzinfo=self.timezone)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        loader = type("TimestamptzLoader", (TimestamptzLoader,), {"timezone": self.timezone})
        connection.adapters.register_loader(TIMESTAMPTZ_OID, loader)
        return connection
