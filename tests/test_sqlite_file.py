"""The SQLite database is a plain SQLite file: the stock `sqlite3` tool and Python's own sqlite3 module can
check it and write to it without Django (docs/backup.md sends users to that tool)."""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

NOW = "2026-11-24 10:00:00"


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory) -> Path:
    """The database file a new install gets from `manage.py migrate`, whichever database this run uses."""
    data_dir = tmp_path_factory.mktemp("data")
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["NOVAFORGE_DATA_DIR"] = str(data_dir)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=settings.BASE_DIR, env=env, check=True, timeout=300,
    )
    return data_dir / "novaforge.sqlite3"


@pytest.fixture
def database(migrated_database, tmp_path) -> Path:
    """A copy of the migrated file for one test to write to."""
    return Path(shutil.copy(migrated_database, tmp_path / "novaforge.sqlite3"))


def add_user(db: sqlite3.Connection) -> int:
    return db.execute(
        "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff,"
        " is_active, date_joined) VALUES ('!', 0, 'plain', '', '', '', 0, 1, ?)",
        [NOW],
    ).lastrowid


def add_session(db: sqlite3.Connection, *, owner: int, session_id: str) -> int:
    return db.execute(
        "INSERT INTO sessions_app_chatsession (owner_id, session_id, title, system_prompt, metadata, mode,"
        " message_count, token_count, started_at, updated_at, is_pinned, is_archived)"
        " VALUES (?, ?, 'Written without Django', '', '{}', '', 1, 2, ?, ?, 0, 0)",
        [owner, session_id, NOW, NOW],
    ).lastrowid


def add_memory(db: sqlite3.Connection, *, owner: int, session: int, layer: str, category="general", month=""):
    fingerprint = "f" * 64 if layer == "long_term" else None
    db.execute(
        "INSERT INTO memory_app_memoryitem (owner_id, session_id, layer, category, title, text, fingerprint,"
        " strength, status, context, month, digest, access_count, promoted_from, created_at, updated_at,"
        " last_seen_at) VALUES (?, ?, ?, ?, '', 'remembered', ?, 1, '', '{}', ?, '{}', 0, '', ?, ?, ?)",
        [owner, session, layer, category, fingerprint, month, NOW, NOW, NOW],
    )


def add_conversation(path: Path) -> None:
    """A user, a session, a message and memory of each checked kind, written with plain SQL."""
    with sqlite3.connect(path) as db:
        owner = add_user(db)
        session = add_session(db, owner=owner, session_id="0123456789ab")
        db.execute(
            "INSERT INTO sessions_app_message (session_id, seq, role, content, metadata, token_count, created_at)"
            " VALUES (?, 1, 'user', 'hello from the sqlite3 tool', '{}', 2, ?)",
            [session, NOW],
        )
        add_memory(db, owner=owner, session=session, layer="long_term", category="work_notes-2")
        add_memory(db, owner=owner, session=session, layer="episodic", month="2026-11")


def test_plain_sqlite_writes_a_conversation_and_the_triggers_still_fire(database):
    add_conversation(database)
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM sessions_app_chatsession").fetchone() == (1,)
        # The rollup trigger marked the message's day for the analytics refresh.
        assert db.execute("SELECT day FROM sessions_app_staleday").fetchall() == [("2026-11-24",)]
        # The search index holds the fact and the episode.
        assert db.execute("SELECT count(*) FROM memory_item_fts WHERE memory_item_fts MATCH 'remembered'").fetchone() == (2,)


@pytest.mark.parametrize("session_id", ["0123456789AB", "0123456789a", "0123456789abc", "0123456789ag", "01234 6789ab"])
def test_plain_sqlite_refuses_a_session_id_that_is_not_12_lowercase_hex(database, session_id):
    with sqlite3.connect(database) as db:
        owner = add_user(db)
        with pytest.raises(sqlite3.IntegrityError, match="session_id_is_12_hex"):
            add_session(db, owner=owner, session_id=session_id)


@pytest.mark.parametrize(
    "fields, constraint",
    [
        ({"layer": "long_term", "category": ""}, "memory_category_is_slug"),
        ({"layer": "long_term", "category": "-notes"}, "memory_category_is_slug"),
        ({"layer": "long_term", "category": "Notes"}, "memory_category_is_slug"),
        ({"layer": "long_term", "category": "x" * 65}, "memory_category_is_slug"),
        ({"layer": "episodic", "month": "2026-13"}, "memory_month_only_for_episodes"),
        ({"layer": "episodic", "month": "2026-00"}, "memory_month_only_for_episodes"),
        ({"layer": "episodic", "month": "20x6-11"}, "memory_month_only_for_episodes"),
        ({"layer": "episodic", "month": "2026-110"}, "memory_month_only_for_episodes"),
        ({"layer": "long_term", "month": "2026-11"}, "memory_month_only_for_episodes"),
    ],
)
def test_plain_sqlite_refuses_memory_that_breaks_a_check(database, fields, constraint):
    with sqlite3.connect(database) as db:
        owner = add_user(db)
        session = add_session(db, owner=owner, session_id="0123456789ab")
        with pytest.raises(sqlite3.IntegrityError, match=constraint):
            add_memory(db, owner=owner, session=session, **fields)


def test_the_sqlite3_tool_checks_the_file(database):
    tool = shutil.which("sqlite3")
    if tool is None:
        pytest.skip("the sqlite3 command-line tool is not installed (Debian package sqlite3)")
    add_conversation(database)
    check = subprocess.run([tool, database, "PRAGMA integrity_check"], capture_output=True, text=True, check=False)
    assert (check.returncode, check.stdout, check.stderr) == (0, "ok\n", "")
