import os
import sys

from django.core.management.base import BaseCommand

from capture_app.recorder import record_jobs


class Command(BaseCommand):
    help = (
        "Record the capture proxy's calls read from standard input, until it closes. The server starts this "
        "itself (capture_app/recorder.py); it is not meant to be run by hand."
    )

    def handle(self, *args, **options):
        # Standard output carries the answers to the server; anything else printed goes to standard error.
        answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        record_jobs(sys.stdin.buffer, answers)
