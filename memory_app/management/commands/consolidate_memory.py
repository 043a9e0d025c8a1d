from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from memory_app import services


def positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise CommandError(f"--threshold must be a whole number; got {raw!r}.") from None
    if value < 1:
        raise CommandError("--threshold must be 1 or more.")
    return value


class Command(BaseCommand):
    help = (
        "Promote memory items read --threshold times or more to long-term memory (once), and build the "
        "episodes of ended or idle sessions. Safe to rerun and to run from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--threshold", type=positive_int, help="reads that earn promotion (default: PROMOTE_AFTER_ACCESSES, 3)"
        )
        parser.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")

    def handle(self, *args, **options):
        with tqdm(unit="row", disable=options["verbosity"] == 0, file=self.stderr) as bar:
            try:
                report = services.consolidate_memory(
                    threshold=options["threshold"], dry_run=options["dry_run"], on_progress=bar.update
                )
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(self.style.SUCCESS(report.summary()))
