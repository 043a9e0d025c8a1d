from django.apps import AppConfig


class CurationAppConfig(AppConfig):
    name = "curation_app"
    verbose_name = "Curation"

    def ready(self):
        from sessions_app import extensions

        from .serializers import curation_session_fields, rate_for_python_api

        extensions.register_session_fields(curation_session_fields)
        extensions.register_python_api("rate_message", rate_for_python_api)
