"""What the Python API needs to run from a plain script: Django configured once, the account the script
names, and answers as plain data. Django's modules are imported inside the functions: scripts import
this one before Django is set up."""

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


def as_sent(data):
    """`data` exactly as the HTTP API sends it, as plain Python: written by the API's JSON renderer and read
    back, so choices are plain strings, tuples are lists and times are ISO 8601 text."""
    import orjson

    from novaforge.drf.renderers import JSONRenderer

    return orjson.loads(JSONRenderer().render(data))


def script_user(user, *, create: bool = False):
    """The account a Python API caller names: a user, or a username that must exist unless `create`
    (then it is made on first use, with no usable password)."""
    if not isinstance(user, str):
        return user
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError

    accounts = get_user_model().objects
    if create:
        account, created = accounts.get_or_create(username=user)
        if created:
            account.set_unusable_password()
            account.save(update_fields=["password"])
        return account
    try:
        return accounts.get(username=user)
    except accounts.model.DoesNotExist:
        # A typo must not quietly start a second history under a new account.
        raise ValidationError(
            {
                "user": f'No user "{user}". Create it with "python manage.py createsuperuser" '
                "(a login for the site too), or pass create_user=True to make it here."
            }
        ) from None
