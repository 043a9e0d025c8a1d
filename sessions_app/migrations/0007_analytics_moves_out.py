from django.db import migrations


class Migration(migrations.Migration):
    """The rollup tables now belong to analytics_app; their rows and names stay (state only)."""

    dependencies = [
        ("sessions_app", "0006_session_owner_unarchived"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="DailyActivity"),
                migrations.DeleteModel(name="DailyLatency"),
                migrations.DeleteModel(name="DailyToolUse"),
                migrations.DeleteModel(name="StaleDay"),
            ],
        ),
    ]
