import django_filters
from django import forms

from sessions_app.ids import SESSION_ID_ERROR, SESSION_ID_PATTERN

from .models import CATEGORY_PATTERN, MONTH_PATTERN, Layer, MemoryItem, TaskStatus
from .serializers import CATEGORY_ERROR


class PatternFilter(django_filters.CharFilter):
    """An exact-match filter whose value must fit a pattern; anything else is a 400 naming the filter."""

    field_class = forms.RegexField

    def __init__(self, *args, regex, message, **kwargs):
        super().__init__(*args, regex=regex, error_messages={"invalid": message}, **kwargs)


class MemoryItemFilter(django_filters.FilterSet):
    layer = django_filters.ChoiceFilter(choices=Layer.choices)
    category = PatternFilter(regex=CATEGORY_PATTERN, message=CATEGORY_ERROR)
    session_id = PatternFilter(
        field_name="session__session_id", regex=SESSION_ID_PATTERN, message=SESSION_ID_ERROR
    )
    status = django_filters.ChoiceFilter(choices=TaskStatus.choices)
    month = PatternFilter(regex=MONTH_PATTERN, message="Use YYYY-MM.")
    q = django_filters.CharFilter(
        field_name="text",
        lookup_expr="icontains",
        help_text="Text containing this (any layer); /api/memory/search/ ranks long-term and episodic matches.",
    )

    class Meta:
        model = MemoryItem
        fields = ["layer", "category", "session_id", "status", "month", "q"]
