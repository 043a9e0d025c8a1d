from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from analytics_app.api import AnalyticsSummaryView
from curation_app.api import MessageFeedbackView, RetentionPolicyView, ShareLinkViewSet
from curation_app.share_views import shared_session
from exports_app.api import SessionExportView
from memory_app.api import MemoryConsolidateView, MemoryContextView, MemoryItemViewSet, MemorySearchView
from memory_app.views import index as memory_page
from sessions_app.api import ChatSessionViewSet
from sessions_app.ids import SESSION_ID_REGEX


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
    path("memory/", include("memory_app.urls")),
    path("memory", memory_page),  # the page without its slash too; an include would reverse to /memoryitems/
    re_path(
        rf"^api/sessions/(?P<session_id>{SESSION_ID_REGEX})/messages/(?P<seq>[0-9]{{1,9}})/feedback/?$",
        MessageFeedbackView.as_view(),
        name="message-feedback",
    ),
    re_path(r"^api/retention/?$", RetentionPolicyView.as_view(), name="retention-policy"),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/schema", SpectacularAPIView.as_view()),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema")),
    path("admin/", admin.site.urls),
    # For clients that never read a page's <link rel="icon">: browsers on JSON and files, feed readers.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"))),
    path("accounts/", include("django.contrib.auth.urls")),
    re_path(r"^share/(?P<token>[^/]+)/?$", shared_session, name="shared-session"),
    re_path(r"^api/analytics/summary/?$", AnalyticsSummaryView.as_view(), name="analytics-summary"),
    path("", include("analytics_app.urls")),
    path("", include("curation_app.urls")),
    path("", include("sessions_app.urls")),
]

handler404 = "novaforge.views.not_found"
handler500 = "novaforge.views.server_error"

admin.site.site_header = admin.site.site_title = "NovaForge administration"
admin.site.index_title = "Sessions, memory and accounts"
