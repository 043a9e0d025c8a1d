from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from exports_app import services
from exports_app.importers import ImportFileError


class Command(BaseCommand):
    help = (
        "Import conversations: our archive (a file or a folder), ChatGPT's or Claude.ai's conversations.json, "
        "or OpenAI-format JSONL. All or nothing; importing the same file again adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--format", choices=list(services.PARSERS), required=True)
        parser.add_argument("--user", help="owner of the imported sessions (an archive defaults to its recorded owner)")

    def handle(self, *args, **options):
        owner = None
        if options["user"]:
            owner = get_user_model().objects.filter(username=options["user"]).first()
            if owner is None:
                raise CommandError(f"No user {options['user']!r}; check the username.")
        elif options["format"] != "archive":
            raise CommandError(f"--user is required with --format {options['format']}: whose conversations are these?")
        try:
            report = services.import_sessions(path=options["path"], fmt=options["format"], owner=owner)
        except FileNotFoundError:
            raise CommandError(f"No file {options['path']}.") from None
        except ImportFileError as error:
            raise CommandError(f"Nothing imported. {error}") from None
        self.stdout.write(self.style.SUCCESS(report.summary()))
