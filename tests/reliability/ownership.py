"""Which rows belong to whom, found by walking foreign keys, so isolation checks cover every model of
every app (memory items, feedback, share links ...) without a list to keep up to date."""

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import serializers
from django.db import models


def project_models() -> list[type[models.Model]]:
    """The models of every NovaForge app (the installed apps named `*_app`), so a new app is covered."""
    project_apps = [app for app in apps.get_app_configs() if app.name.endswith("_app")]
    return [model for app in project_apps for model in app.get_models()]


def rows_of_session(session) -> dict[type[models.Model], list]:
    """{model: [primary keys]} of the rows of every project model that hang off `session`."""
    from sessions_app.models import ChatSession

    rows = {}
    for model in project_models():
        lookup = "pk" if model is ChatSession else lookup_to(model, ChatSession)
        if lookup:
            rows[model] = list(model._default_manager.filter(**{lookup: session.pk}).values_list("pk", flat=True))
    return rows


def still_existing(rows: dict[type[models.Model], list]) -> dict[str, list]:
    """Those of `rows` that are still in the database (a SET_NULL would leave them behind)."""
    left = {model._meta.label_lower: list(model._default_manager.filter(pk__in=pks).values_list("pk", flat=True)) for model, pks in rows.items()}
    return {label: pks for label, pks in left.items() if pks}


def owner_lookup(model, depth: int = 4) -> str | None:
    """The ORM path from `model` to its owning user (`owner`, `session__owner` ...), or None."""
    return lookup_to(model, get_user_model(), depth)


def lookup_to(model, target, depth: int = 4) -> str | None:
    """The ORM path from `model` along foreign keys to `target` (a model class), or None."""
    paths = [(model, "")]
    for _ in range(depth):
        next_paths = []
        for current, prefix in paths:
            for field in current._meta.get_fields():
                if not (field.many_to_one or field.one_to_one) or not field.concrete:
                    continue
                path = f"{prefix}{field.name}"
                if field.related_model is target:
                    return path
                next_paths.append((field.related_model, path + "__"))
        paths = next_paths
    return None


def rows_owned_by(user) -> dict[str, list]:
    """{"app.model": [primary keys]} of every project row that belongs to `user`."""
    owned = {}
    for model in project_models():
        lookup = owner_lookup(model)
        if lookup:
            owned[model._meta.label_lower] = sorted(model._default_manager.filter(**{lookup: user}).values_list("pk", flat=True))
    return owned


# Analytics rollups and their stale marks: caches derived from messages, which a user's own summary
# rightly rewrites. Whose they are is still checked, through rows_owned_by().
DERIVED_MODELS = ("analytics_app.staleday", "analytics_app.dailyactivity", "analytics_app.dailylatency",
                  "analytics_app.dailytooluse")


def snapshot() -> dict[tuple, dict]:
    """Every project row that is not derived, plus users and tokens, as {(model, pk): fields}."""
    from rest_framework.authtoken.models import Token

    rows = {}
    stored = [model for model in project_models() if model._meta.label_lower not in DERIVED_MODELS]
    for model in [*stored, get_user_model(), Token]:
        for row in serializers.serialize("python", model._default_manager.all()):
            rows[(row["model"], row["pk"])] = row["fields"]
    return rows
