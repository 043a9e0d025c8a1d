import django.utils.timezone
from django.db import migrations, models

from novaforge.db.triggers import drop_sqlite_triggers


def link_existing_messages(apps, schema_editor):
    """Every stored message follows the one before it, and each session's leaf is its last message: the
    conversations read and export exactly as before."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("UPDATE sessions_app_message SET parent_seq = seq - 1 WHERE seq > 1")
        cursor.execute("UPDATE sessions_app_chatsession SET current_seq = message_count")


class Migration(migrations.Migration):
    """Messages keep content parts, tool calls, reasoning and their parent; sessions their active leaf
    and tools. SQLite rebuilds both tables for it: triggers step aside meanwhile."""

    dependencies = [
        ('sessions_app', '0009_session_id_check_without_regexp'),
    ]

    operations = [
        migrations.RunPython(drop_sqlite_triggers, migrations.RunPython.noop),
        migrations.CreateModel(
            name='Blob',
            fields=[
                ('sha256', models.CharField(max_length=64, primary_key=True, serialize=False)),
                ('data', models.TextField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.AddField(
            model_name='chatsession',
            name='current_seq',
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='chatsession',
            name='is_branched',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name='chatsession',
            name='tools',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='message',
            name='name',
            field=models.CharField(blank=True, db_default='', default='', max_length=128),
        ),
        migrations.AddField(
            model_name='message',
            name='parent_seq',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='message',
            name='part_blobs',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='message',
            name='parts',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='message',
            name='reasoning',
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='message',
            name='tool_call_id',
            field=models.CharField(blank=True, db_default='', default='', max_length=256),
        ),
        migrations.AddField(
            model_name='message',
            name='tool_calls',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(link_existing_messages, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='message',
            constraint=models.CheckConstraint(condition=models.Q(('parent_seq__isnull', True), models.Q(('parent_seq__gte', 1), ('parent_seq__lt', models.F('seq'))), _connector='OR'), name='message_parent_is_earlier'),
        ),
        migrations.AddConstraint(
            model_name='message',
            constraint=models.CheckConstraint(condition=models.Q(('tool_calls__isnull', True), ('role', 'assistant'), _connector='OR'), name='message_tool_calls_on_assistant'),
        ),
        migrations.RunPython(migrations.RunPython.noop, drop_sqlite_triggers),  # the same, when unapplied
    ]
