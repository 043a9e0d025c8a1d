from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions_app.models import ChatSession

from . import services
from .filters import MemoryItemFilter
from .models import MemoryItem
from .serializers import (
    ConsolidateInputSerializer,
    ConsolidationReportSerializer,
    ContextInputSerializer,
    ContextSerializer,
    MemoryItemCreateSerializer,
    MemoryItemSerializer,
    MemoryItemUpdateSerializer,
    SearchHitSerializer,
    SearchInputSerializer,
    SearchResultSerializer,
)


class MemoryItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your memory items in all four layers. Reading one item counts an access (see consolidation)."""

    queryset = MemoryItem.objects.none()  # the model, for schema generation; get_queryset() scopes reads
    serializer_class = MemoryItemSerializer
    filterset_class = MemoryItemFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return MemoryItem.objects.owned_by(self.request.user).select_related("session").order_by("-id")

    def retrieve(self, request, *args, **kwargs):
        item = self.get_object()
        services.record_access(items=[item])
        return Response(MemoryItemSerializer(item).data)

    @extend_schema(request=MemoryItemCreateSerializer, responses={201: MemoryItemSerializer, 200: MemoryItemSerializer})
    def create(self, request):
        """201 with the new item; 200 with the known fact when a long-term fact was added again (strengthened)."""
        incoming = MemoryItemCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        session = None
        if data.get("session_id"):
            session = get_object_or_404(ChatSession.objects.owned_by(request.user), session_id=data["session_id"])
        item, created = services.add_item(
            owner=request.user,
            layer=data["layer"],
            text=data["text"],
            category=data["category"],
            context=data.get("context"),
            session=session,
        )
        return Response(
            MemoryItemSerializer(item).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(request=MemoryItemUpdateSerializer, responses=MemoryItemSerializer)
    def partial_update(self, request, *args, **kwargs):
        item = self.get_object()
        incoming = MemoryItemUpdateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        item = services.update_item(item=item, **incoming.validated_data)
        return Response(MemoryItemSerializer(item).data)

    def perform_destroy(self, item):
        services.delete_item(item=item)


class MemorySearchView(APIView):
    """Ranked full-text search over your long-term and episodic memory and, with `scope`, your messages.

    Every memory item found counts one access.
    """

    @extend_schema(parameters=[SearchInputSerializer], responses=SearchResultSerializer)
    def get(self, request):
        incoming = SearchInputSerializer(data=request.query_params.dict())
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        hits = services.recall(
            owner=request.user,
            query=data["q"],
            scope=data["scope"],
            layers=[data["layer"]] if data.get("layer") else None,
            limit=data["limit"],
        )
        return Response({"query": data["q"], "scope": data["scope"], "results": SearchHitSerializer(hits, many=True).data})


class MemoryContextView(APIView):
    """What the assistant should see next in a session, within a token budget, each piece with its reason."""

    @extend_schema(request=ContextInputSerializer, responses=ContextSerializer)
    def post(self, request):
        incoming = ContextInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        session = get_object_or_404(ChatSession.objects.owned_by(request.user), session_id=data["session_id"])
        context = services.assemble_context(
            session=session,
            query=data.get("query", ""),
            budget_tokens=data.get("budget_tokens", settings.NOVAFORGE["CONTEXT_BUDGET_TOKENS"]),
        )
        return Response(context)


class MemoryConsolidateView(APIView):
    """Consolidate your memory now: promote items read often enough, build missing episodes."""

    @extend_schema(request=ConsolidateInputSerializer, responses=ConsolidationReportSerializer)
    def post(self, request):
        incoming = ConsolidateInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        report = services.consolidate_memory(owner=request.user, **incoming.validated_data)
        return Response(report.as_dict())
