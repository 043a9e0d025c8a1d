"""The error pages: JSON under /api/, where every answer is JSON, and the site's own pages elsewhere."""

from django.http import JsonResponse
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    """handler404: templates/404.html, or JSON for a path under /api/ that matches no route."""
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: templates/500.html, or JSON under /api/. Django renders the page without the request
    context, so it needs neither the database nor the session, which may be what failed."""
    if _is_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
