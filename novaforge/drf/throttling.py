from rest_framework import throttling
from rest_framework.settings import api_settings


class RateFromSettingsMixin:
    """Read the rate on every request (DRF reads it once at import), so a changed setting applies."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonRateThrottle(RateFromSettingsMixin, throttling.AnonRateThrottle):
    """Requests without credentials, counted per client address."""


class UserRateThrottle(RateFromSettingsMixin, throttling.UserRateThrottle):
    """Requests of a signed-in user (token or browser session), counted per user."""
