"""The limit: the same statements our code sends, through the bare driver with the same settings.

SQLite: `sqlite3` with the PRAGMAs of novaforge/settings.py (WAL, synchronous=FULL, foreign keys) and
BEGIN IMMEDIATE, as Django's transaction_mode="IMMEDIATE" does. PostgreSQL: psycopg, one transaction per
call, the session row locked FOR UPDATE as select_for_update() does.
"""

import json
import sqlite3
from datetime import UTC, datetime

SESSION_TABLE = "sessions_app_chatsession"
MESSAGE_TABLE = "sessions_app_message"
MEMORY_TABLE = "memory_app_memoryitem"
MEMORY_COLUMNS = ("owner_id", "session_id", "layer", "category", "title", "text", "strength", "status", "context",
                  "month", "digest", "access_count", "promoted_from", "created_at", "updated_at", "last_seen_at")
SHORT_TERM_LIMIT = 50  # the default of NOVAFORGE_SHORT_TERM_LIMIT
MESSAGE_COLUMNS = ("session_id", "seq", "role", "content", "metadata", "message_id", "token_count", "created_at")


class Plain:
    """One bare driver connection to the benchmark database."""

    def __init__(self, database: dict):
        self.is_sqlite = database["ENGINE"].endswith("sqlite3")
        if self.is_sqlite:
            # autocommit: we issue BEGIN IMMEDIATE / COMMIT ourselves, as Django does.
            self.connection = sqlite3.connect(database["NAME"], timeout=20, isolation_level=None,
                                              check_same_thread=False)
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=FULL")
            self.connection.execute("PRAGMA foreign_keys=ON")
        else:
            import psycopg

            self.connection = psycopg.connect(
                dbname=database["NAME"], user=database["USER"], password=database["PASSWORD"] or None,
                host=database["HOST"] or None, port=database["PORT"] or None, autocommit=True)

    def sql(self, statement: str) -> str:
        return statement if self.is_sqlite else statement.replace("?", "%s")

    def begin(self):
        self.connection.execute("BEGIN IMMEDIATE" if self.is_sqlite else "BEGIN")

    def commit(self):
        self.connection.execute("COMMIT")

    def execute(self, statement: str, params=()):
        return self.connection.execute(self.sql(statement), params)

    def executemany(self, statement: str, rows):
        cursor = self.connection.cursor()
        cursor.executemany(self.sql(statement), rows)
        return cursor

    def timestamp(self, moment: datetime):
        # Django stores SQLite datetimes as text in this form; psycopg takes the datetime itself.
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ") if self.is_sqlite else moment

    def json(self, value) -> str:
        return json.dumps(value)

    def close(self):
        self.connection.close()

    def settle(self) -> None:
        """Do now the upkeep a burst of writes leaves to the database's background (PostgreSQL's
        autovacuum, SQLite's WAL checkpoint), so reads measured next do not share the machine with it."""
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)" if self.is_sqlite else "VACUUM (ANALYZE)")

    # The statements of one append, as services.append_messages and its memory receiver send them.

    def append(self, session_pk: int, messages: list[dict], now: datetime) -> int:
        """Lock the session, skip stored message_ids, insert, move the counters, add the short-term memory
        lines, commit. Without message_ids, one UPDATE locks the session and moves its counters."""
        self.begin()
        stamp = self.timestamp(now)
        retry_keys = [message["message_id"] for message in messages if message.get("message_id")]
        if retry_keys:
            lock = "" if self.is_sqlite else " FOR UPDATE"
            count, tokens, owner_pk = self.execute(
                f"SELECT message_count, token_count, owner_id FROM {SESSION_TABLE} WHERE id = ?{lock}", (session_pk,)
            ).fetchone()
            marks = ", ".join("?" * len(retry_keys))
            seen = {row[0] for row in self.execute(
                f"SELECT message_id FROM {MESSAGE_TABLE} WHERE session_id = ? AND message_id IN ({marks})",
                (session_pk, *retry_keys))}
            messages = [message for message in messages if message.get("message_id") not in seen]
        else:
            count, owner_pk = self.execute(
                f"UPDATE {SESSION_TABLE} SET message_count = message_count + ?, token_count = token_count + ?, "
                "mode = CASE WHEN mode = '' THEN ? ELSE mode END, updated_at = ? WHERE id = ? AND ended_at IS NULL "
                "RETURNING message_count, owner_id",
                (len(messages), sum(message.get("token_count", 0) for message in messages), "", stamp, session_pk),
            ).fetchone()
            count -= len(messages)
        rows = [
            (session_pk, count + n, message["role"], message["content"], self.json(message.get("metadata", {})),
             message.get("message_id"), message.get("token_count", 0), stamp)
            for n, message in enumerate(messages, 1)
        ]
        columns = ", ".join(MESSAGE_COLUMNS)
        marks = ", ".join("?" * len(MESSAGE_COLUMNS))
        if len(rows) == 1:
            self.execute(f"INSERT INTO {MESSAGE_TABLE} ({columns}) VALUES ({marks}) RETURNING id", rows[0]).fetchone()
        else:
            self.executemany(f"INSERT INTO {MESSAGE_TABLE} ({columns}) VALUES ({marks})", rows)
        if retry_keys:
            self.execute(
                f"UPDATE {SESSION_TABLE} SET message_count = ?, token_count = ?, updated_at = ? WHERE id = ?",
                (count + len(rows), tokens + sum(row[6] for row in rows), stamp, session_pk),
            )
        self.remember(owner_pk, session_pk, rows, count + len(rows))
        self.commit()
        return len(rows)

    def remember(self, owner_pk: int, session_pk: int, rows: list[tuple], message_count: int) -> None:
        """Short-term memory, as memory_app.services.remember_messages: one line per message (the batch's
        newest SHORT_TERM_LIMIT) in one INSERT, and the lines past the newest SHORT_TERM_LIMIT trimmed in
        one DELETE once the session holds more."""
        values = "(?, ?, 'short_term', 'general', '', ?, 1, '', '{}', '', '{}', 0, '', ?, ?, ?)"
        lines = rows[-SHORT_TERM_LIMIT:]  # older lines of a batch would be trimmed at once
        params = []
        for row in lines:
            params += [owner_pk, session_pk, f"{row[2].title()}: {row[3]}", row[7], row[7], row[7]]
        self.execute(
            f"INSERT INTO {MEMORY_TABLE} ({', '.join(MEMORY_COLUMNS)}) VALUES {', '.join([values] * len(lines))}", params)
        if message_count > SHORT_TERM_LIMIT:
            self.execute(
                f"DELETE FROM {MEMORY_TABLE} WHERE session_id = ? AND layer = 'short_term' AND id < ("
                f"SELECT id FROM {MEMORY_TABLE} WHERE session_id = ? AND layer = 'short_term' "
                "ORDER BY id DESC LIMIT 1 OFFSET ?)", (session_pk, session_pk, SHORT_TERM_LIMIT - 1))

    # Building large corpora: straight into the tables, never through the ORM.

    def load_rows(self, table: str, columns: list[str], rows) -> None:
        """Insert `rows` (tuples in `columns` order) in one transaction: executemany on SQLite, COPY on
        PostgreSQL."""
        names = ", ".join(f'"{column}"' for column in columns)
        self.begin()
        if self.is_sqlite:
            marks = ", ".join("?" * len(columns))
            self.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        else:
            with self.connection.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        self.commit()
