"""Django's SQLite backend, with the threads of one process taking turns at the write lock.

SQLite's busy handler retries a locked database with growing sleeps, so under load one writer can lose
every retry for the whole timeout and fail with "database is locked" while others keep winning. Here a
process-wide lock is taken before BEGIN IMMEDIATE and released at commit or rollback: threads (gunicorn's
gthreads, scripts) queue in order instead of polling, and only other processes still meet the busy handler.
"""

import threading

from django.db.backends.sqlite3 import base

_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()


def _write_lock_for(database_name: str) -> threading.Lock:
    with _write_locks_guard:
        return _write_locks.setdefault(database_name, threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    _held_write_lock = None

    def _start_transaction_under_autocommit(self):
        lock = _write_lock_for(str(self.settings_dict["NAME"]))
        lock.acquire()
        self._held_write_lock = lock
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self):
        lock, self._held_write_lock = self._held_write_lock, None
        if lock is not None:
            lock.release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_write_lock()
