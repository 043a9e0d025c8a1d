from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from .forms import AnalyticsWindowForm
from .summary import GRANULARITIES, summarize


class AnalyticsSummaryView(APIView):
    """Your sessions, messages, tokens, tools, assistant performance and topics over a date range."""

    @extend_schema(
        parameters=[
            OpenApiParameter("since", str, description="ISO 8601 date or date-time, inclusive (default: a span before until)."),
            OpenApiParameter("until", str, description="ISO 8601 date-time, exclusive, or a date (included); default now."),
            OpenApiParameter("granularity", str, enum=list(GRANULARITIES), description="Period of the series; default day."),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        window = AnalyticsWindowForm(request.query_params)
        if not window.is_valid():
            raise ValidationError({field: list(errors) for field, errors in window.errors.items()})
        return Response(summarize(user=request.user, window=window.cleaned_data["window"]))
