from django.db import migrations


class Migration(migrations.Migration):
    """The curation tables now belong to curation_app; their rows and names stay (state only)."""

    dependencies = [
        ('sessions_app', '0007_analytics_moves_out'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='retentionpolicy',
                    name='owner',
                ),
                migrations.RemoveField(
                    model_name='sessiontag',
                    name='session',
                ),
                migrations.RemoveField(
                    model_name='sessiontag',
                    name='tag',
                ),
                migrations.RemoveField(
                    model_name='chatsession',
                    name='tags',
                ),
                migrations.RemoveField(
                    model_name='sharelink',
                    name='session',
                ),
                migrations.RemoveField(
                    model_name='tag',
                    name='owner',
                ),
                migrations.DeleteModel(
                    name='MessageFeedback',
                ),
                migrations.DeleteModel(
                    name='RetentionPolicy',
                ),
                migrations.DeleteModel(
                    name='SessionTag',
                ),
                migrations.DeleteModel(
                    name='ShareLink',
                ),
                migrations.DeleteModel(
                    name='Tag',
                ),
            ],
        ),
    ]
