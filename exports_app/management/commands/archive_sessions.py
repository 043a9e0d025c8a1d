from django.core.management.base import BaseCommand
from django.db.models import Sum
from tqdm import tqdm

from exports_app import services
from sessions_app.models import ChatSession


class Command(BaseCommand):
    help = "Write every session to <data dir>/sessions/YYYY-MM/<session_id>.json (unchanged files are left alone)."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="directory to write the month folders in (default <data dir>/sessions)")

    def handle(self, *args, **options):
        sessions = ChatSession.objects.all()
        total = sessions.aggregate(total=Sum("message_count"))["total"] or 0
        with tqdm(total=total, unit="msg", disable=options["verbosity"] == 0) as bar:
            report = services.archive_sessions(sessions=sessions, output_dir=options["output"], on_progress=bar.update)
        self.stdout.write(self.style.SUCCESS(report.summary()))
