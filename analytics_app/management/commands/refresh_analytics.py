from django.core.management.base import BaseCommand
from django.db import connection
from tqdm import tqdm

from analytics_app import rollups
from analytics_app.models import StaleDay


class Command(BaseCommand):
    help = (
        "Recompute the analytics rollups of every day marked stale (`migrate` does this too; a summary "
        "does it for its own user). With --rebuild, recompute every day that has messages: a repair."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="recompute every day, not only stale ones")

    def handle(self, *args, rebuild, verbosity, **options):
        if rebuild:
            rollups.mark_every_day_stale(connection)
        owners = StaleDay.objects.values("owner_id").distinct().count()
        days = 0
        with tqdm(total=owners, unit="user", disable=verbosity == 0) as bar:
            for _, recomputed in rollups.refresh_everyone():
                days += recomputed
                bar.update()
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"Recomputed {days:,} day(s) of analytics for {owners:,} user(s)."))
