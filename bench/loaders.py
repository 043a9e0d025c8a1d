"""Large corpora written straight into the tables (executemany on SQLite, COPY on PostgreSQL), never
through the ORM: every concrete column of the model, values prepared by its fields, defaults for the rest."""

from django.db import connection, models

from .limit import Plain

# Values of these fields go to the driver as they are; others (JSON, datetimes) through the field.
AS_THEY_ARE = (models.CharField, models.TextField, models.IntegerField, models.ForeignKey, models.BooleanField)


def load(plain: Plain, model, rows, *, chunk: int = 20_000) -> None:
    """Insert `rows` (dicts by field attname; a missing field takes its default) into `model`'s table."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = [field.column for field in fields]

    def prepare(row: dict) -> list:
        values = []
        for field in fields:
            value = row[field.attname] if field.attname in row else field.get_default()
            values.append(value if isinstance(field, AS_THEY_ARE) else field.get_db_prep_save(value, connection))
        return values

    batch = []
    for row in rows:
        batch.append(prepare(row))
        if len(batch) >= chunk:
            plain.load_rows(model._meta.db_table, columns, batch)
            batch = []
    if batch:
        plain.load_rows(model._meta.db_table, columns, batch)
    if not plain.is_sqlite:
        # What autovacuum does within a minute of a bulk load. Without statistics the planner took the
        # owner's 51,000 sessions for 47 and nested-looped over a million messages for each, and read
        # 200,000 memory items through the owner index for a rare word (seconds, not the GIN index);
        # without the visibility map an index-only scan reads the table anyway.
        plain.execute(f"VACUUM ANALYZE {model._meta.db_table}")
