from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from exports_app import services
from exports_app.archive import archive_files
from exports_app.importers import ImportFileError


class Command(BaseCommand):
    help = (
        "Import conversations: our archive (a file or a folder), ChatGPT's or Claude.ai's conversations.json, "
        "or OpenAI-format JSONL. Invalid conversations are named and skipped (exit status 1); importing a "
        "newer export adds only what the conversations gained."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--format", choices=list(services.PARSERS), required=True)
        parser.add_argument("--user", help="owner of the imported sessions (an archive defaults to its recorded owner)")
        parser.add_argument("--strict", action="store_true", help="import nothing if any conversation is invalid")

    def handle(self, *args, **options):
        owner = None
        if options["user"]:
            owner = get_user_model().objects.filter(username=options["user"]).first()
            if owner is None:
                raise CommandError(f"No user {options['user']!r}; check the username.")
        elif options["format"] != "archive":
            raise CommandError(f"--user is required with --format {options['format']}: whose conversations are these?")
        try:
            total = sum(file.stat().st_size for file in archive_files(Path(options["path"])))
            with tqdm(total=total, unit="B", unit_scale=True, file=self.stderr, disable=options["verbosity"] == 0) as bar:
                report = services.import_sessions(
                    path=options["path"], fmt=options["format"], owner=owner, strict=options["strict"], on_progress=bar.update
                )
        except FileNotFoundError:
            raise CommandError(f"No file {options['path']}.") from None
        except ImportFileError as error:
            raise CommandError(f"Nothing imported. {error}") from None
        if report.skipped:
            raise CommandError(report.summary(), returncode=1)
        self.stdout.write(self.style.SUCCESS(report.summary()))
