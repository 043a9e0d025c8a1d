import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models



def install_triggers(apps, schema_editor):
    # Idempotent: a database made before the move has them already. Days with messages start stale
    # when the triggers are new; the post_migrate refresh fills their rollups.
    from analytics_app.rollups import install_stale_triggers, mark_every_day_stale

    if install_stale_triggers(schema_editor.connection):
        mark_every_day_stale(schema_editor.connection)


def uninstall_triggers(apps, schema_editor):
    from analytics_app.rollups import uninstall_stale_triggers

    uninstall_stale_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    """Takes over the rollup tables sessions_app created (state only: names and rows stay)."""

    initial = True

    dependencies = [
        ("sessions_app", "0007_analytics_moves_out"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DailyActivity",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField()),
                        ("role", models.CharField(max_length=16)),
                        ("mode", models.CharField(max_length=64)),
                        ("messages", models.PositiveIntegerField()),
                        ("tokens", models.PositiveBigIntegerField()),
                        ("replies", models.PositiveIntegerField()),
                        ("latency_total", models.FloatField()),
                        ("completion_total", models.FloatField()),
                        ("owner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "sessions_app_dailyactivity",
                        "constraints": [models.UniqueConstraint(fields=("owner", "day", "role", "mode"), name="daily_activity_unique")],
                    },
                ),
                migrations.CreateModel(
                    name="DailyLatency",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField()),
                        ("histogram", models.JSONField()),
                        ("owner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "sessions_app_dailylatency",
                        "constraints": [models.UniqueConstraint(fields=("owner", "day"), name="daily_latency_unique")],
                    },
                ),
                migrations.CreateModel(
                    name="DailyToolUse",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField()),
                        ("name", models.CharField(max_length=100)),
                        ("uses", models.PositiveIntegerField()),
                        ("owner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "sessions_app_dailytooluse",
                        "constraints": [models.UniqueConstraint(fields=("owner", "day", "name"), name="daily_tool_use_unique")],
                    },
                ),
                migrations.CreateModel(
                    name="StaleDay",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField()),
                        ("owner", models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "sessions_app_staleday",
                        "indexes": [models.Index(fields=["owner", "day"], name="stale_day_owner_day")],
                    },
                ),
            ],
        ),
        migrations.RunPython(install_triggers, uninstall_triggers),
    ]
