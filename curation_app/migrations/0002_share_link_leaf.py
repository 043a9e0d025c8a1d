

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('curation_app', '0001_tables_from_sessions_app'),
    ]

    operations = [
        migrations.AddField(
            model_name='sharelink',
            name='leaf_seq',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
