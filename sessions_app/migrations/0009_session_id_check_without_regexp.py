import django.db.models.functions.text
import django.db.models.lookups
from django.conf import settings
from django.db import migrations, models

from novaforge.db.triggers import drop_sqlite_triggers


class Migration(migrations.Migration):
    """The session id check without REGEXP (a function only Django defines), so the stock sqlite3 tool
    can check and write the file. SQLite rebuilds the table for it: triggers step aside meanwhile."""

    dependencies = [
        ('sessions_app', '0008_curation_moves_out'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_sqlite_triggers, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name='chatsession',
            name='session_id_is_12_hex',
        ),
        migrations.AddConstraint(
            model_name='chatsession',
            constraint=models.CheckConstraint(condition=models.Q(django.db.models.lookups.Exact(django.db.models.functions.text.Length('session_id'), 12), django.db.models.lookups.Exact(models.Func('session_id', models.Value('0123456789abcdef'), function='LTRIM', output_field=models.CharField()), '')), name='session_id_is_12_hex'),
        ),
        migrations.RunPython(migrations.RunPython.noop, drop_sqlite_triggers),  # the same, when unapplied
    ]
