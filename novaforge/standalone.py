"""Lets the Python API run from a plain script: configures Django once if nobody has yet."""

import os


def ensure_django() -> None:
    from django.conf import settings

    if settings.configured:
        from django.apps import apps

        if apps.ready:
            return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novaforge.settings")
    import django

    django.setup()
