"""The backup recipes of docs/backup.md, run for real: back up, delete, restore, find the data again."""

import shutil
import sqlite3
import subprocess

import pytest
from django.db import connection

from sessions_app.models import ChatSession
from tests.factories import make_conversation

from .server import database_url_of_this_run, integrity_check, is_sqlite  # noqa: F401  (is_sqlite: in the skipif strings)

pytestmark = [pytest.mark.slow]


@pytest.fixture
def precious(transactional_db, alice):
    """A conversation committed to the database, where a backup made from outside can see it."""
    return make_conversation(alice, title="precious", turns=[("user", "keep me"), ("assistant", "kept")])


def assert_restored(session_id):
    connection.close()  # the restore replaced what an open connection may still be looking at
    restored = ChatSession.objects.get(session_id=session_id)
    assert list(restored.messages.values_list("seq", "content")) == [(1, "keep me"), (2, "kept")]
    assert restored.message_count == 2


@pytest.mark.skipif("not is_sqlite()", reason="SQLite's online backup; PostgreSQL has its own test")
def test_sqlite_online_backup_and_restore(precious, alice_api, tmp_path):
    live = connection.settings_dict["NAME"]
    backup = tmp_path / "novaforge-backup.sqlite3"
    # docs/backup.md: the online backup, safe while the server is writing.
    with sqlite3.connect(live) as source, sqlite3.connect(backup) as target:
        source.backup(target)
    assert integrity_check(backup) == [("ok",)]

    assert alice_api.delete(f"/api/sessions/{precious.session_id}/").status_code == 204
    assert not ChatSession.objects.filter(session_id=precious.session_id).exists()

    connection.close()
    # docs/backup.md: restore with the server stopped, copying the backup over the live file page by page.
    with sqlite3.connect(backup) as source, sqlite3.connect(live) as target:
        source.backup(target)
    assert_restored(precious.session_id)
    assert integrity_check(live) == [("ok",)]


@pytest.mark.skipif("is_sqlite()", reason="pg_dump/pg_restore; SQLite has its own test")
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="PostgreSQL's client tools are not installed")
def test_postgresql_dump_and_restore(precious, alice_api, tmp_path):
    url = database_url_of_this_run()
    dump = tmp_path / "novaforge.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", url], check=True, timeout=120)

    assert alice_api.delete(f"/api/sessions/{precious.session_id}/").status_code == 204
    assert not ChatSession.objects.filter(session_id=precious.session_id).exists()

    connection.close()  # pg_restore --clean drops the tables: hold no connection that could block it
    subprocess.run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={url}", str(dump)], check=True, timeout=120
    )
    assert_restored(precious.session_id)


def test_archive_round_trip_restores_a_deleted_session(alice, alice_api, tmp_path):
    from django.core.management import call_command

    original = make_conversation(alice, title="archived", turns=[("user", "keep me"), ("assistant", "kept")])
    # docs/backup.md: one JSON file a session, readable without NovaForge.
    call_command("archive_sessions", output=str(tmp_path), verbosity=0)
    assert list(tmp_path.rglob(f"{original.session_id}.json"))

    assert alice_api.delete(f"/api/sessions/{original.session_id}/").status_code == 204
    call_command("import_sessions", str(tmp_path), format="archive", user="alice", verbosity=0)

    restored = ChatSession.objects.get(owner=alice, title="archived")
    assert list(restored.messages.values_list("seq", "role", "content")) == [(1, "user", "keep me"), (2, "assistant", "kept")]
    assert restored.message_count == 2
