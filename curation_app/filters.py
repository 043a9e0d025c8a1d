import django_filters

from .models import ShareLink


class ShareLinkFilter(django_filters.FilterSet):
    session_id = django_filters.CharFilter(field_name="session__session_id", help_text="Only this session's links.")

    class Meta:
        model = ShareLink
        fields = ["session_id"]
