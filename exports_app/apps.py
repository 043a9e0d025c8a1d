from django.apps import AppConfig


class ExportsAppConfig(AppConfig):
    name = "exports_app"
    verbose_name = "Exports"

    def ready(self):
        from curation_app.signals import archive_requested
        from sessions_app import extensions

        from .formats import FORMATS
        from .services import archive_for_retention, export_for_python_api

        for export_format in FORMATS.values():
            if export_format.label:
                extensions.register_export_format(export_format.name, export_format.label)
        extensions.register_python_api("export_sessions", export_for_python_api)
        archive_requested.connect(archive_for_retention, dispatch_uid="exports_archive_for_retention")
