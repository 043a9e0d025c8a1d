"""Full-text search over memory items and messages: FTS5 tables and triggers on SQLite, stored tsvector
columns with GIN indexes on PostgreSQL (see memory_app/search.py; 0003 moved existing databases from the
first release's expression indexes). The SQL depends on the database, hence RunPython."""

from django.db import migrations


def install(apps, schema_editor):
    from memory_app.search import install_search_index

    install_search_index(schema_editor.connection)


def uninstall(apps, schema_editor):
    from memory_app.search import uninstall_search_index

    uninstall_search_index(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("memory_app", "0001_memory_items"),
        ("sessions_app", "0002_message_feedback"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
