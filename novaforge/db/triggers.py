"""A migration step for SQLite: Django alters a table there by rebuilding it (create, copy, drop,
rename), and SQLite refuses the rename while a trigger on another table names the table. Such
migrations drop every trigger first; the apps that own triggers (analytics rollups, search) create
them again after every `migrate`, in their post_migrate handlers."""


def drop_sqlite_triggers(apps, schema_editor) -> None:
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
