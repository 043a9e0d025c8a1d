from datetime import UTC, datetime, timedelta

from django import forms
from django.utils import timezone

from sessions_app.serializers import parse_moment

from .summary import GRANULARITIES, Window

# Without `since`, a window reaches this far back from `until`.
DEFAULT_SPAN = {"day": timedelta(days=30), "week": timedelta(weeks=12), "month": timedelta(days=365)}
MAX_PERIODS = 1000
LONGEST_PERIOD_DAYS = {"day": 1, "week": 7, "month": 31}
# Far enough from datetime's limits (years 1 and 9999) that a window's default span, its day and period
# arithmetic never overflow.
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(9998, 12, 31, tzinfo=UTC)


class AnalyticsWindowForm(forms.Form):
    """since/until/granularity of the analytics API and page; errors are keyed by those names."""

    since = forms.CharField(required=False, help_text="ISO 8601 date or date-time, inclusive.")
    until = forms.CharField(
        required=False, help_text="ISO 8601 date-time (exclusive) or date (that whole day is included)."
    )
    granularity = forms.ChoiceField(choices=[(name, name) for name in GRANULARITIES], required=False)

    def clean_since(self):
        return self._instant("since", end_of_day=False)

    def clean_until(self):
        return self._instant("until", end_of_day=True)

    def _instant(self, name, *, end_of_day):
        raw = self.cleaned_data[name].strip()
        if not raw:
            return None
        moment = parse_moment(raw, end_of_day=end_of_day)
        if not EARLIEST <= moment <= LATEST:
            raise forms.ValidationError(f"Must fall between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}.")
        return moment

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        granularity = data.get("granularity") or "day"
        until = data.get("until") or timezone.now()
        since = data.get("since") or until - DEFAULT_SPAN[granularity]
        if since >= until:
            self.add_error("until", "Must be later than since.")
            return data
        window = Window(since=since, until=until, granularity=granularity)
        # The day count first: listing the periods of a century by day would itself take seconds.
        too_many = (until - since).days // LONGEST_PERIOD_DAYS[granularity] > MAX_PERIODS
        if too_many or len(window.periods()) > MAX_PERIODS:
            self.add_error("granularity", f"More than {MAX_PERIODS} periods; choose a coarser granularity.")
            return data
        data["window"] = window
        return data
