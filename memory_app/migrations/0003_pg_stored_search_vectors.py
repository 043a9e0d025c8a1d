"""PostgreSQL: search reads a stored tsvector column per searchable table instead of GIN expression
indexes, so ranking no longer parses every match's text again (see memory_app/search.py). Adding the
columns rewrites both tables once: about 3 minutes for 1,000,000 messages on a 2-core machine.
SQLite is unchanged (FTS5).

Nothing to undo going back: 0002 installs the search index as memory_app/search.py defines it now, and
migrate's post_migrate step keeps it installed while 0002 is applied."""

from django.db import migrations


def store_vectors(apps, schema_editor):
    from memory_app.search import install_search_index

    if schema_editor.connection.vendor == "postgresql":
        install_search_index(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("memory_app", "0002_search_index"),
    ]

    operations = [migrations.RunPython(store_vectors, migrations.RunPython.noop)]
