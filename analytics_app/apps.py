from django.apps import AppConfig
from django.db.models.signals import post_migrate

ROLLUPS_MIGRATION = ("analytics_app", "0001_rollups_from_sessions_app")


class AnalyticsAppConfig(AppConfig):
    name = "analytics_app"
    verbose_name = "Analytics"

    def ready(self):
        from sessions_app import extensions

        from .summary import overview

        extensions.register_list_overview(overview)
        post_migrate.connect(refresh_analytics_rollups, sender=self, dispatch_uid="analytics_refresh_rollups")


def refresh_analytics_rollups(sender, using, verbosity=1, **kwargs):
    """After every `migrate`: recreate rollup triggers a later migration dropped (Django rebuilds SQLite
    tables to alter them), then fill the rollups of every stale day, so no summary pays for a backfill."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from .rollups import install_stale_triggers, mark_every_day_stale, refresh_everyone

    connection = connections[using]
    if ROLLUPS_MIGRATION not in MigrationRecorder(connection).applied_migrations():
        return
    if install_stale_triggers(connection):
        mark_every_day_stale(connection)  # writes made while a trigger was missing went unmarked
    days = sum(recomputed for _, recomputed in refresh_everyone())
    if days and verbosity:
        print(f"  Analytics rollups refreshed for {days:,} day(s).")
