"""The capture threads' and the recorder's database connections, checked as Django checks them around
each request (too old, or broken), but at most once a second per thread: with CONN_HEALTH_CHECKS each
check sends a query, on PostgreSQL one more round trip before every call."""

import threading
import time

from django.db import close_old_connections

CHECK_EVERY_SECONDS = 1.0
_last_check = threading.local()


def check_connection_now_and_then() -> None:
    now = time.monotonic()
    if now - getattr(_last_check, "at", float("-inf")) >= CHECK_EVERY_SECONDS:
        close_old_connections()
        _last_check.at = now
