import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """Takes over the curation tables sessions_app created (state only: names and rows stay)."""

    initial = True

    dependencies = [
        ('sessions_app', '0008_curation_moves_out'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='SessionTag',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('session', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='session_tags', to='sessions_app.chatsession')),
                    ],
                    options={
                        'db_table': 'sessions_app_sessiontag',
                    },
                ),
                migrations.CreateModel(
                    name='Tag',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=50)),
                        ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tags', to=settings.AUTH_USER_MODEL)),
                        ('sessions', models.ManyToManyField(blank=True, related_name='tags', through='curation_app.SessionTag', to='sessions_app.chatsession')),
                    ],
                    options={
                        'db_table': 'sessions_app_tag',
                        'ordering': ['name'],
                    },
                ),
                migrations.AddField(
                    model_name='sessiontag',
                    name='tag',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='session_tags', to='curation_app.tag'),
                ),
                migrations.CreateModel(
                    name='MessageFeedback',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('rating', models.SmallIntegerField(choices=[(1, 'Up'), (-1, 'Down')])),
                        ('reason', models.CharField(blank=True, max_length=200)),
                        ('comment', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('message', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='feedback', to='sessions_app.message')),
                    ],
                    options={
                        'db_table': 'sessions_app_messagefeedback',
                        'constraints': [models.CheckConstraint(condition=models.Q(('rating__in', [1, -1])), name='feedback_rating_valid')],
                    },
                ),
                migrations.CreateModel(
                    name='RetentionPolicy',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('delete_after_days', models.PositiveIntegerField(blank=True, null=True)),
                        ('archive_before_delete', models.BooleanField(default=False)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('owner', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='retention_policy', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name_plural': 'retention policies',
                        'db_table': 'sessions_app_retentionpolicy',
                        'constraints': [models.CheckConstraint(condition=models.Q(('delete_after_days__isnull', True), ('delete_after_days__gte', 1), _connector='OR'), name='retention_days_positive')],
                    },
                ),
                migrations.CreateModel(
                    name='ShareLink',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('token_hash', models.CharField(editable=False, max_length=64)),
                        ('title', models.CharField(blank=True, max_length=200)),
                        ('message_count', models.PositiveIntegerField()),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('expires_at', models.DateTimeField(blank=True, null=True)),
                        ('session', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='share_links', to='sessions_app.chatsession')),
                    ],
                    options={
                        'db_table': 'sessions_app_sharelink',
                        'ordering': ['-created_at', '-id'],
                        'constraints': [models.UniqueConstraint(fields=('token_hash',), name='share_link_token_hash_unique')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='tag',
                    constraint=models.UniqueConstraint(fields=('owner', 'name'), name='tag_name_unique_per_owner'),
                ),
                migrations.AddConstraint(
                    model_name='tag',
                    constraint=models.CheckConstraint(condition=models.Q(('name', ''), _negated=True), name='tag_name_not_empty'),
                ),
                migrations.AddIndex(
                    model_name='sessiontag',
                    index=models.Index(fields=['tag', 'session'], name='session_tag_by_tag'),
                ),
                migrations.AddConstraint(
                    model_name='sessiontag',
                    constraint=models.UniqueConstraint(fields=('session', 'tag'), name='session_tag_unique'),
                ),
            ],
        ),
    ]
