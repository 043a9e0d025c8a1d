"""The analytics page: the summary drawn as server-side SVG charts with their data tables."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import charts
from .forms import AnalyticsWindowForm
from .summary import PAGE_MIN_TOPIC_SESSIONS, summarize


@login_required
@require_GET
def analytics_page(request):
    form = AnalyticsWindowForm(request.GET)
    summary = None
    if form.is_valid():
        summary = summarize(
            user=request.user, window=form.cleaned_data["window"], min_topic_sessions=PAGE_MIN_TOPIC_SESSIONS
        )
    return render(
        request,
        "analytics/summary.html",
        {
            "form": form,
            "summary": summary,
            "charts": charts.summary_charts(summary) if summary else None,
            "min_topic_sessions": PAGE_MIN_TOPIC_SESSIONS,
        },
    )
