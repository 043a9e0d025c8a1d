from django.dispatch import Signal

# Retention asks for `session` to be written to the month archive before it is deleted, inside the
# deleting transaction: a receiver that raises keeps the session.
archive_requested = Signal()
