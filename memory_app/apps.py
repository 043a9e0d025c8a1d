from django.apps import AppConfig
from django.db.models.signals import post_migrate

SEARCH_INDEX_MIGRATION = ("memory_app", "0002_search_index")


class MemoryAppConfig(AppConfig):
    name = "memory_app"
    verbose_name = "Memory"

    def ready(self):
        from sessions_app.signals import messages_appended, session_ended

        messages_appended.connect(remember_messages, dispatch_uid="memory_remember_messages")
        session_ended.connect(close_session_memory, dispatch_uid="memory_close_session")
        post_migrate.connect(repair_search_index, sender=self, dispatch_uid="memory_repair_search_index")


def remember_messages(sender, session, messages, live=True, **kwargs):
    from . import services

    # Short-term memory is a live conversation's recent lines; imported history gets an episode instead.
    if live:
        services.remember_messages(session=session, messages=messages)


def close_session_memory(sender, session, **kwargs):
    from . import services

    services.close_session_memory(session=session)


def repair_search_index(sender, using, **kwargs):
    """Recreate search triggers a later migration dropped (Django rebuilds SQLite tables to alter them)."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from .search import install_search_index

    connection = connections[using]
    if SEARCH_INDEX_MIGRATION in MigrationRecorder(connection).applied_migrations():
        install_search_index(connection)
