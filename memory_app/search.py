"""Ranked full-text search over memory and messages: SQLite FTS5 or PostgreSQL tsvector, behind `search()`.

SQLite: two FTS5 tables with external content (the index only, no second copy of the text), kept in sync
by triggers: `memory_item_fts` over long-term and episodic items, `message_fts` over all messages (indexed
in batches: see MESSAGE_INDEX_BATCH).
PostgreSQL: GIN indexes over stored `to_tsvector('english', ...)` columns, with the same WHERE as the queries.
Both rank first and then limit, so a common word costs a ranking of its matches, never a scan by id.
"""

import re
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from django.db import connection, transaction

from .models import SEARCHABLE_LAYERS

MAX_QUERY_TERMS = 16
MAX_TERM_CHARS = 64
# PostgreSQL refuses a tsvector over 1 MB; indexing the first 100,000 characters of a text keeps
# every write possible (message content may be 1,000,000 characters) and covers almost every text.
PG_INDEXED_CHARS = 100_000

STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing done down during each few for from further get
    got had has have having he her here hers herself him himself his how i if in into is it its itself
    just let like me more most my myself no nor not now of off on once only or other our ours ourselves
    out over own please same she should so some such than that the their theirs them themselves then
    there these they this those through to too under until up us very was we were what when where which
    while who whom why will with would you your yours yourself yourselves""".split()
)

# Ranking costs time per match (bm25, ts_rank), and so does counting them on PostgreSQL, which reads
# every match's row. Measured over 1,000,000 messages: a word found in half of them took over a second
# to rank, one found in a few thousand ~50 ms; counting 5,001 matches took 17-25 ms, 1,001 ~5 ms. Past
# this many matches (a common word of the corpus) the newest matches answer instead, which the index
# gives without ranking.
RANKED_MATCHES_MAX = 1000

_WORD = re.compile(r"[^\W_]+")  # letters and digits: nothing FTS5 or to_tsquery could read as syntax


@dataclass(frozen=True)
class Hit:
    kind: str  # "memory" or "message"
    pk: int
    score: float  # higher is better; comparable within one kind and one engine


def query_terms(query: str) -> list[str]:
    """The words of a user's query that can match: no syntax, no stop words, no repeats."""
    terms = []
    for word in _WORD.findall(query.casefold()):
        if word not in STOP_WORDS and word not in terms and len(word) <= MAX_TERM_CHARS:
            terms.append(word)
    return terms[:MAX_QUERY_TERMS]


def search(
    *, owner_id: int, query: str, scope: str = "memory", layers=SEARCHABLE_LAYERS, limit: int = 20
) -> list[Hit]:
    """The owner's best matches for `query`, best first: memory items, messages, or both (`scope="all"`).

    Every word must match; when that finds nothing, any word may (so a question in plain words still
    finds the fact that shares its key word). Reads only: callers count accesses (services.recall).
    """
    terms = query_terms(query)
    if not terms:
        return []
    engine = _postgresql if connection.vendor == "postgresql" else _sqlite
    with engine.reading():
        hits = _ranked(engine, owner_id=owner_id, terms=terms, scope=scope, layers=layers, limit=limit, match_all=True)
        if not hits and len(terms) > 1:
            hits = _ranked(
                engine, owner_id=owner_id, terms=terms, scope=scope, layers=layers, limit=limit, match_all=False
            )
    return hits


def _ranked(engine, *, owner_id, terms, scope, layers, limit, match_all) -> list[Hit]:
    hits = []
    if scope in ("memory", "all"):
        hits += [Hit("memory", pk, score) for pk, score in engine.memory(owner_id, terms, layers, limit, match_all)]
    if scope in ("messages", "all"):
        hits += [Hit("message", pk, score) for pk, score in engine.messages(owner_id, terms, limit, match_all)]
    hits.sort(key=lambda hit: hit.score, reverse=True)
    return hits[:limit]


def _fetch(sql: str, params) -> list[tuple[int, float]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(pk, float(score)) for pk, score in cursor.fetchall()]


class _sqlite:
    reading = nullcontext

    @staticmethod
    def match_expression(terms, match_all) -> str:
        quoted = [f'"{term}"' for term in terms]
        return " ".join(quoted) if match_all else " OR ".join(quoted)

    @staticmethod
    def order(table: str, expression: str, rank: str) -> str:
        """ORDER BY the rank, or by the index's own rowid order (newest first) when matches are too many."""
        counted = _fetch(
            f"SELECT count(*), 0 FROM (SELECT 1 FROM {table} WHERE {table} MATCH %s LIMIT %s)",
            [expression, RANKED_MATCHES_MAX + 1],
        )
        if counted[0][0] > RANKED_MATCHES_MAX:
            return f"0 AS score FROM {table}", f"{table}.rowid DESC"
        return f"{rank} AS score FROM {table}", f"score DESC, {table}.rowid DESC"

    @classmethod
    def memory(cls, owner_id, terms, layers, limit, match_all):
        placeholders = ", ".join(["%s"] * len(layers))
        expression = cls.match_expression(terms, match_all)
        # bm25 is lower for better matches; a title word weighs twice a word of the text.
        select, order = cls.order("memory_item_fts", expression, "-bm25(memory_item_fts, 2.0, 1.0)")
        return _fetch(
            f"""SELECT item.id, {select} JOIN memory_app_memoryitem AS item ON item.id = memory_item_fts.rowid
                WHERE memory_item_fts MATCH %s AND item.owner_id = %s AND item.layer IN ({placeholders})
                ORDER BY {order} LIMIT %s""",
            [expression, owner_id, *layers, limit],
        )

    @classmethod
    def messages(cls, owner_id, terms, limit, match_all):
        index_pending_messages()
        expression = cls.match_expression(terms, match_all)
        select, order = cls.order("message_fts", expression, "-bm25(message_fts)")
        return _fetch(
            f"""SELECT message.id, {select}
                JOIN sessions_app_message AS message ON message.id = message_fts.rowid
                JOIN sessions_app_chatsession AS session ON session.id = message.session_id
                WHERE message_fts MATCH %s AND session.owner_id = %s
                ORDER BY {order} LIMIT %s""",
            [expression, owner_id, limit],
        )


# Each searchable row's tsvector, stored in a generated column (PostgreSQL computes it on every insert and
# update) and indexed by GIN. Ranking reads the stored vector: from an expression index, ts_rank had to
# parse every match's text again (3 s for a two-word query over 1,000,000 messages; stored, 100 ms).
PG_MEMORY_VECTOR = "item.search_vector"
PG_MESSAGE_VECTOR = "message.search_vector"
PG_SEARCHABLE = "item.layer IN ('long_term', 'episodic')"  # the partial index's predicate, verbatim


class _postgresql:
    @staticmethod
    @contextmanager
    def reading():
        """The search's statements in one transaction, planned without parallel workers: starting one
        took ~8 ms here, ten times the whole search for a rare word. Other queries (the analytics
        rollups) keep their parallel plans; inside a caller's transaction the setting lasts until it
        ends, and only light reads follow a search (recall, context assembly)."""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            yield

    @staticmethod
    def tsquery(terms, match_all) -> str:
        return (" & " if match_all else " | ").join(terms)

    @staticmethod
    def order(matching_sql: str, params) -> tuple[str, str]:
        """ORDER BY ts_rank, or by id (newest first) when matches are too many to rank quickly.

        Only then by id: for a rare word, PostgreSQL would walk the id index backwards past millions
        of rows looking for a match (193 ms against 0.9 ms ranked, MEASURED.md).
        """
        counted = _fetch(f"SELECT count(*), 0 FROM (SELECT 1 {matching_sql} LIMIT %s) AS matches", [*params, RANKED_MATCHES_MAX + 1])
        if counted[0][0] > RANKED_MATCHES_MAX:
            return "0", "id DESC"
        return "ts_rank({vector}, query)", "score DESC, id DESC"

    @classmethod
    def memory(cls, owner_id, terms, layers, limit, match_all):
        matching = f"""FROM memory_app_memoryitem AS item, to_tsquery('english'::regconfig, %s) AS query
                WHERE {PG_SEARCHABLE} AND item.layer = ANY(%s) AND item.owner_id = %s
                  AND {PG_MEMORY_VECTOR} @@ query"""
        params = [cls.tsquery(terms, match_all), list(layers), owner_id]
        rank, order = cls.order(matching, params)
        return _fetch(
            f"SELECT item.id, {rank.format(vector=PG_MEMORY_VECTOR)} AS score {matching} "
            f"ORDER BY {order.replace('id', 'item.id')} LIMIT %s",
            [*params, limit],
        )

    @classmethod
    def messages(cls, owner_id, terms, limit, match_all):
        # Each match's session by primary key (OFFSET 0 keeps the LATERAL a lookup per match): as a join,
        # the planner hashed all of the owner's sessions first, 13-16 ms for 51,000 sessions.
        matching = f"""FROM sessions_app_message AS message,
                to_tsquery('english'::regconfig, %s) AS query,
                LATERAL (SELECT owner_id FROM sessions_app_chatsession WHERE id = message.session_id OFFSET 0) AS session
                WHERE {PG_MESSAGE_VECTOR} @@ query AND session.owner_id = %s"""
        params = [cls.tsquery(terms, match_all), owner_id]
        rank, order = cls.order(matching, params)
        return _fetch(
            f"SELECT message.id, {rank.format(vector=PG_MESSAGE_VECTOR)} AS score {matching} "
            f"ORDER BY {order.replace('id', 'message.id')} LIMIT %s",
            [*params, limit],
        )


# The index itself. install_search_index() is idempotent: the migration calls it, and so does every
# `migrate` afterwards (post_migrate), because Django rebuilds a SQLite table to alter it and that drops
# the table's triggers; a missing trigger is recreated and its index resynchronised.

_LAYERS_SQL = "('long_term', 'episodic')"
_SQLITE_TOKENIZER = "porter unicode61 remove_diacritics 2"

SQLITE_MEMORY_TRIGGERS = {
    "memory_item_fts_insert": f"""
        CREATE TRIGGER IF NOT EXISTS memory_item_fts_insert AFTER INSERT ON memory_app_memoryitem
        WHEN new.layer IN {_LAYERS_SQL} BEGIN
            INSERT INTO memory_item_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
        END""",
    "memory_item_fts_delete": f"""
        CREATE TRIGGER IF NOT EXISTS memory_item_fts_delete AFTER DELETE ON memory_app_memoryitem
        WHEN old.layer IN {_LAYERS_SQL} BEGIN
            INSERT INTO memory_item_fts(memory_item_fts, rowid, title, text)
            VALUES ('delete', old.id, old.title, old.text);
        END""",
    # One trigger, so the old entry is removed before the new one is added (the order of two would not be ours).
    "memory_item_fts_update": f"""
        CREATE TRIGGER IF NOT EXISTS memory_item_fts_update
        AFTER UPDATE OF layer, title, text ON memory_app_memoryitem
        WHEN old.layer IN {_LAYERS_SQL} OR new.layer IN {_LAYERS_SQL} BEGIN
            INSERT INTO memory_item_fts(memory_item_fts, rowid, title, text)
            SELECT 'delete', old.id, old.title, old.text WHERE old.layer IN {_LAYERS_SQL};
            INSERT INTO memory_item_fts(rowid, title, text)
            SELECT new.id, new.title, new.text WHERE new.layer IN {_LAYERS_SQL};
        END""",
}
# Messages are indexed in batches, not one by one: FTS5 writes a new segment for every transaction that
# touches it, so a single append spent ~170 us indexing its message, against ~30 us a message in batches
# of 64 (the whole single append: ~570 us for the bare driver). message_fts_state.indexed_through is the
# id up to which the index is complete: the insert trigger indexes the backlog once it reaches a batch,
# and a search indexes what is left before it reads (index_pending_messages). Message ids only grow
# (AUTOINCREMENT) and SQLite has one writer at a time, so every message at or below the mark is in the
# index and none above it is; deletes and edits touch the index only below the mark.
MESSAGE_INDEX_BATCH = 64
_INDEXED_THROUGH = "(SELECT indexed_through FROM message_fts_state)"
_INDEX_BACKLOG = f"""INSERT INTO message_fts(rowid, content)
    SELECT id, content FROM sessions_app_message WHERE id > {_INDEXED_THROUGH} ORDER BY id"""
_MARK_ALL_INDEXED = """UPDATE message_fts_state
    SET indexed_through = coalesce((SELECT max(id) FROM sessions_app_message), indexed_through)"""
SQLITE_MESSAGE_STATE = [
    "CREATE TABLE IF NOT EXISTS message_fts_state (id integer PRIMARY KEY CHECK (id = 1), indexed_through integer NOT NULL)",
    "INSERT OR IGNORE INTO message_fts_state (id, indexed_through) VALUES (1, 0)",
]
SQLITE_MESSAGE_TRIGGERS = {
    "message_fts_insert_batch": f"""
        CREATE TRIGGER IF NOT EXISTS message_fts_insert_batch AFTER INSERT ON sessions_app_message
        WHEN new.id - {_INDEXED_THROUGH} >= {MESSAGE_INDEX_BATCH} BEGIN
            {_INDEX_BACKLOG};
            UPDATE message_fts_state SET indexed_through = new.id;
        END""",
    "message_fts_delete": f"""
        CREATE TRIGGER IF NOT EXISTS message_fts_delete AFTER DELETE ON sessions_app_message
        WHEN old.id <= {_INDEXED_THROUGH} BEGIN
            INSERT INTO message_fts(message_fts, rowid, content) VALUES ('delete', old.id, old.content);
        END""",
    "message_fts_update": f"""
        CREATE TRIGGER IF NOT EXISTS message_fts_update AFTER UPDATE OF content ON sessions_app_message
        WHEN old.id <= {_INDEXED_THROUGH} BEGIN
            INSERT INTO message_fts(message_fts, rowid, content) VALUES ('delete', old.id, old.content);
            INSERT INTO message_fts(rowid, content) VALUES (new.id, new.content);
        END""",
}
# The first releases indexed every message as it was inserted, and their delete and update triggers had
# no mark to respect.
_SQLITE_PER_MESSAGE_TRIGGERS = ("message_fts_insert", "message_fts_delete", "message_fts_update")
# Resynchronising: the memory index holds only searchable layers, so it is refilled by a query
# (FTS5's 'rebuild' would index every row of the table); the message index holds every message.
SQLITE_MEMORY_RESYNC = [
    "INSERT INTO memory_item_fts(memory_item_fts) VALUES ('delete-all')",
    f"""INSERT INTO memory_item_fts(rowid, title, text)
        SELECT id, title, text FROM memory_app_memoryitem WHERE layer IN {_LAYERS_SQL}""",
]
SQLITE_MESSAGE_RESYNC = ["INSERT INTO message_fts(message_fts) VALUES ('rebuild')", _MARK_ALL_INDEXED]


def index_pending_messages() -> None:
    """Index the messages written since the last full batch (SQLite), so that a search sees all of them."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT (SELECT max(id) FROM sessions_app_message) > {_INDEXED_THROUGH}")
        if not cursor.fetchone()[0]:
            return
    with transaction.atomic(), connection.cursor() as cursor:  # the write lock: the backlog is read once
        cursor.execute(_INDEX_BACKLOG)
        cursor.execute(_MARK_ALL_INDEXED)


# The generated columns are not model fields: only PostgreSQL has them, and nothing but search reads them.
# (A later migration changing the type of `content`, `title` or `text` must drop them first.)
PG_INDEXES = [
    f"""ALTER TABLE memory_app_memoryitem ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS
        (to_tsvector('english'::regconfig, left(title || ' ' || text, {PG_INDEXED_CHARS}))) STORED""",
    f"""CREATE INDEX IF NOT EXISTS memory_item_vector_search ON memory_app_memoryitem
        USING gin (search_vector) WHERE {PG_SEARCHABLE.replace("item.", "")}""",
    f"""ALTER TABLE sessions_app_message ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS
        (to_tsvector('english'::regconfig, left(content, {PG_INDEXED_CHARS}))) STORED""",
    "CREATE INDEX IF NOT EXISTS message_vector_search ON sessions_app_message USING gin (search_vector)",
    # The expression indexes of the first release, replaced by the two above.
    "DROP INDEX IF EXISTS memory_item_search",
    "DROP INDEX IF EXISTS message_content_search",
]


def install_search_index(db) -> None:
    """Create whatever part of the search index is missing on connection `db`, then fill it."""
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            for statement in PG_INDEXES:
                cursor.execute(statement)
            return
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {name for (name,) in cursor.fetchall()}
        if not present.issuperset(["memory_item_fts", *SQLITE_MEMORY_TRIGGERS]):
            cursor.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS memory_item_fts USING fts5(title, text, "
                f"content='memory_app_memoryitem', content_rowid='id', tokenize='{_SQLITE_TOKENIZER}')"
            )
            for statement in [*SQLITE_MEMORY_TRIGGERS.values(), *SQLITE_MEMORY_RESYNC]:
                cursor.execute(statement)
        if not present.issuperset(["message_fts", "message_fts_state", *SQLITE_MESSAGE_TRIGGERS]):
            # An index kept by the per-message triggers is complete: it needs its mark, not a rebuild.
            complete = present.issuperset(["message_fts", *_SQLITE_PER_MESSAGE_TRIGGERS])
            for name in {*_SQLITE_PER_MESSAGE_TRIGGERS, *SQLITE_MESSAGE_TRIGGERS}:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5(content, "
                f"content='sessions_app_message', content_rowid='id', tokenize='{_SQLITE_TOKENIZER}')"
            )
            for statement in [*SQLITE_MESSAGE_STATE, *SQLITE_MESSAGE_TRIGGERS.values()]:
                cursor.execute(statement)
            for statement in [_MARK_ALL_INDEXED] if complete else SQLITE_MESSAGE_RESYNC:
                cursor.execute(statement)


def uninstall_search_index(db) -> None:
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            for table in ("memory_app_memoryitem", "sessions_app_message"):
                cursor.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")  # drops its index
            cursor.execute("DROP INDEX IF EXISTS memory_item_search")
            cursor.execute("DROP INDEX IF EXISTS message_content_search")
            return
        for name in [*SQLITE_MEMORY_TRIGGERS, *SQLITE_MESSAGE_TRIGGERS, *_SQLITE_PER_MESSAGE_TRIGGERS]:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        for table in ("memory_item_fts", "message_fts", "message_fts_state"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
