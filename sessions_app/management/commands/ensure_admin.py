import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Make sure a local admin account exists; a new one gets a random password, printed once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        users = get_user_model().objects
        if users.filter(username=username).exists():
            self.stdout.write(f"Admin account '{username}' already exists; its password is unchanged.")
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser(username=username, email="", password=password)
        self.stdout.write(self.style.SUCCESS(f"Created admin account '{username}' with password: {password}"))
        self.stdout.write("It is shown only this once; change it at /admin/password_change/.")
