from django.apps import AppConfig


class CaptureAppConfig(AppConfig):
    name = "capture_app"
    verbose_name = "Capture proxy"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save
        from rest_framework.authtoken.models import Token

        from .tokens import forget_all

        # A revoked token or a deactivated user stops working through the proxy at once.
        for model in (Token, get_user_model()):
            post_save.connect(forget_all, sender=model, dispatch_uid=f"capture-forget-tokens-{model.__name__}")
            post_delete.connect(forget_all, sender=model, dispatch_uid=f"capture-forget-tokens-{model.__name__}-del")
