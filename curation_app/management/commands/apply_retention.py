from django.core.management.base import BaseCommand

from curation_app import services


class Command(BaseCommand):
    help = (
        "Delete sessions older than their owner's retention policy or the administrators' maximum "
        "(NOVAFORGE_RETENTION_MAX_DAYS), measured from their last activity. Pinned sessions are always kept. "
        "Safe to run from cron, and to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what would be deleted; delete nothing")

    def handle(self, *args, dry_run, verbosity, **options):
        verb = "would delete" if dry_run else "deleted"

        def show(expired: services.ExpiredSession):
            if verbosity >= 1:
                archived = ", archived first" if expired.archived else ""
                self.stdout.write(
                    f"{verb} {expired.session_id} of {expired.owner} "
                    f"(last activity {expired.updated_at:%Y-%m-%d}{archived})"
                )

        report = services.apply_retention(dry_run=dry_run, on_deleted=show)
        self.stdout.write(self.style.SUCCESS(report.summary()))
