from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "Chat sessions"

    def ready(self):
        from django.urls import register_converter

        from .ids import SessionIdConverter

        register_converter(SessionIdConverter, "session_id")
