"""Running exports as a user would, and reading back what they wrote."""

import io
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from curation_app.models import MessageFeedback


def run_export(fmt: str, *args: str) -> tuple[str, list[Path]]:
    """Run `export_sessions --format fmt *args`; the summary line and the files this run wrote."""
    directory = Path(settings.DATA_DIR) / "training_data"
    before = set(directory.iterdir()) if directory.exists() else set()
    out = io.StringIO()
    call_command("export_sessions", "--format", fmt, *args, verbosity=0, stdout=out)
    # A default name never replaces an earlier export, so this run's files are the new ones.
    return out.getvalue().strip(), sorted(set(directory.iterdir()) - before) if directory.exists() else []


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def rate(message, rating: int) -> MessageFeedback:
    return MessageFeedback.objects.create(message=message, rating=rating)
