from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from exports_app.api import SessionExportView
from memory_app.api import MemoryConsolidateView, MemoryContextView, MemoryItemViewSet, MemorySearchView
from sessions_app.analytics_api import AnalyticsSummaryView
from sessions_app.api import ChatSessionViewSet
from sessions_app.curation_api import MessageFeedbackView, RetentionPolicyView, ShareLinkViewSet
from sessions_app.share_views import shared_session


class OptionalSlashRouter(DefaultRouter):
    """Every API path answers with and without its trailing slash, as CONTRACT.md promises."""

    include_format_suffixes = False

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("sessions", ChatSessionViewSet, basename="session")
router.register("memory/items", MemoryItemViewSet, basename="memory-item")
router.register("shares", ShareLinkViewSet, basename="share")

urlpatterns = [
    # A plain view beside the session viewset's actions: it streams a file rather than JSON.
    re_path(r"^api/sessions/export/?$", SessionExportView.as_view(), name="session-export"),
    re_path(r"^api/memory/search/?$", MemorySearchView.as_view(), name="memory-search"),
    re_path(r"^api/memory/context/?$", MemoryContextView.as_view(), name="memory-context"),
    re_path(r"^api/memory/consolidate/?$", MemoryConsolidateView.as_view(), name="memory-consolidate"),
    re_path(r"^memory/?", include("memory_app.urls")),
    re_path(
        r"^api/sessions/(?P<session_id>[0-9a-f]{12})/messages/(?P<seq>[0-9]{1,9})/feedback/?$",
        MessageFeedbackView.as_view(),
        name="message-feedback",
    ),
    re_path(r"^api/retention/?$", RetentionPolicyView.as_view(), name="retention-policy"),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/schema", SpectacularAPIView.as_view()),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema")),
    path("v1/", include("capture_app.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    re_path(r"^share/(?P<token>[^/]+)/?$", shared_session, name="shared-session"),
    re_path(r"^api/analytics/summary/?$", AnalyticsSummaryView.as_view(), name="analytics-summary"),
    path("", include("sessions_app.urls")),
]

handler404 = "novaforge.api.not_found"
