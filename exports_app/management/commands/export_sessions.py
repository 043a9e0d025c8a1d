import argparse
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Sum
from django.utils import timezone
from tqdm import tqdm

from exports_app import services
from exports_app.formats import FORMATS
from sessions_app.models import ChatSession


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day; write YYYY-MM-DD") from None


def start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: write a fraction at least 0 and less than 1, e.g. 0.1")
    return number


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: write a whole number, 1 or more")
    return number


class Command(BaseCommand):
    # A long read-only job: the system checks (2 s at start) guard nothing it uses.
    requires_system_checks = []
    help = (
        "Write chat sessions as training data, by default to <data dir>/training_data/chat_sessions_YYYYMMDD.<ext> "
        "(when that exists, chat_sessions_YYYYMMDD_HHMMSS.<ext>)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=list(FORMATS), required=True)
        parser.add_argument(
            "--output",
            help="file to write (default: a new name under <data dir>/training_data/; an existing file is never replaced)",
        )
        parser.add_argument("--overwrite", action="store_true", help="replace the --output file if it exists")
        parser.add_argument("--user", help="only this user's sessions (username)")
        parser.add_argument("--since", type=parse_day, help="first day of sessions to include, YYYY-MM-DD")
        parser.add_argument("--until", type=parse_day, help="last day of sessions to include, YYYY-MM-DD")
        parser.add_argument("--mode", help="only sessions in this mode")
        parser.add_argument("--min-messages", type=positive_int, help="only sessions with at least N messages")
        parser.add_argument("--max-tokens", type=positive_int, help="leave out examples over N tokens")
        parser.add_argument(
            "--validation-fraction", type=fraction, default=0.0,
            help="write this share of examples (chosen by session id, stable across runs) to a second file",
        )
        parser.add_argument("--redact-pii", action="store_true", help="replace e-mails, phones, cards and secrets")
        parser.add_argument(
            "--dedupe", action=argparse.BooleanOptionalAction, default=None,
            help="write duplicate conversations once (default for jsonl, sharegpt, hf and dpo; csv and markdown keep every session)",
        )
        parser.add_argument(
            "--reasoning", action="store_true",
            help="include the model's thinking where the format has a place for it (hf, markdown; csv always has it)",
        )
        parser.add_argument(
            "--rating", choices=services.RATING_FILTERS, default="any",
            help="positive: only sessions with rated answers, all rated up",
        )

    def handle(self, *args, **options):
        sessions = ChatSession.objects.all()
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}; check the username.")
            sessions = sessions.owned_by(user)
        sessions = sessions.started_between(
            after=start_of(options["since"]) if options["since"] else None,
            before=start_of(options["until"] + timedelta(days=1)) if options["until"] else None,
        )
        if options["mode"]:
            sessions = sessions.filter(mode=options["mode"])
        if options["min_messages"]:
            sessions = sessions.filter(message_count__gte=options["min_messages"])
        total = sessions.aggregate(total=Sum("message_count"))["total"] or 0
        try:
            with tqdm(total=total, unit="msg", disable=options["verbosity"] == 0) as bar:
                report = services.export_sessions(
                    sessions=sessions,
                    fmt=options["format"],
                    output=options["output"],
                    overwrite=options["overwrite"],
                    on_progress=bar.update,
                    redact_pii=options["redact_pii"],
                    dedupe=options["dedupe"],
                    reasoning=options["reasoning"],
                    max_tokens=options["max_tokens"],
                    validation_fraction=options["validation_fraction"],
                    rating=options["rating"],
                )
        except services.NothingToExport as error:
            raise CommandError(f"{error} No file was written.") from None
        except ValidationError as error:
            raise CommandError(" ".join(f"--{name.replace('_', '-')}: {' '.join(messages)}" for name, messages in error.message_dict.items())) from None
        self.stdout.write(self.style.SUCCESS(report.summary()))
