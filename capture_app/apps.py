from django.apps import AppConfig


class CaptureAppConfig(AppConfig):
    name = "capture_app"
    verbose_name = "Capture proxy"
