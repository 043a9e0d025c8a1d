from django.conf import settings
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from novaforge.drf.pagination import page_of, page_response
from novaforge.collector import collector_paused

from . import blobs, extensions, services
from .filters import ChatSessionFilter, MessageFilter
from .ids import SESSION_ID_REGEX
from .models import ChatSession
from .serializers import (
    ChatSessionSerializer,
    ListInputSerializer,
    LoadInputSerializer,
    MessageInputSerializer,
    MessageSerializer,
    SaveInputSerializer,
    SaveResultSerializer,
    SessionPageSerializer,
    SessionWithMessagesSerializer,
    StartSessionSerializer,
)


class ChatSessionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your chat sessions: the seed's start/save/list/load actions and REST reads and edits beside them."""

    queryset = ChatSession.objects.none()  # the model, for schema generation; get_queryset() scopes reads
    serializer_class = ChatSessionSerializer
    filterset_class = ChatSessionFilter
    lookup_field = "session_id"
    lookup_value_regex = SESSION_ID_REGEX
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    paginate_ids_first = True  # a user may have 100,000 sessions: see IdsFirstPaginator
    # Actions whose answer shows no session: its tags are not loaded (a query per request saved).
    ACTIONS_WITHOUT_SESSION_OUTPUT = frozenset({"save", "messages", "destroy"})

    def get_queryset(self):
        sessions = ChatSession.objects.owned_by(self.request.user)
        if self.action in self.ACTIONS_WITHOUT_SESSION_OUTPUT:
            return sessions
        return sessions.with_tags().in_list_order()

    def filter_queryset(self, sessions):
        # The list's filters (q hides archived sessions by default) are for lists: an archived session
        # still opens, un-archives and ends by its id.
        return super().filter_queryset(sessions) if self.action == "list" else sessions

    def _owned_session(self, session_id: str) -> ChatSession:
        return get_object_or_404(self.get_queryset(), session_id=session_id)

    def perform_update(self, serializer):
        changes = dict(serializer.validated_data)
        session = serializer.instance
        with transaction.atomic():
            for extension in extensions.session_fields:
                values = {name: changes.pop(name) for name in extension.fields() if name in changes}
                if values:
                    session = extension.apply(session=session, **values)
            if changes:
                session = services.update_session(session=session, **changes)
        serializer.instance = session

    def perform_destroy(self, session):
        services.delete_session(session=session)

    @extend_schema(request=None, responses=ChatSessionSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, session_id=None):
        session = services.end_session(session=self.get_object())
        return Response(ChatSessionSerializer(session).data)

    @extend_schema(
        methods=["GET"],
        parameters=[
            OpenApiParameter("after_seq", int, description="Only messages after this seq."),
            OpenApiParameter("role", str, enum=["system", "user", "assistant", "tool"]),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses=MessageSerializer(many=True),
    )
    @extend_schema(methods=["POST"], request=MessageInputSerializer, responses={201: MessageSerializer, 200: MessageSerializer})
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def messages(self, request, session_id=None):
        session = self.get_object()
        if request.method == "POST":
            return self._append_one(request, session)
        messages = MessageFilter(request.query_params, queryset=session.messages.as_rows(), session=session)
        if not messages.is_valid():
            raise ValidationError(messages.errors)
        page = self.paginate_queryset(messages.qs)
        blobs.restore(page)
        return self.get_paginated_response(MessageSerializer(page, many=True).data)

    def _append_one(self, request, session):
        """One message, 201; a retry carrying a stored message_id answers 200 with the stored message."""
        incoming = MessageInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        new_message = incoming.to_new_message()
        result = services.append_messages(session=session, messages=[new_message])
        if result.messages:
            return Response(MessageSerializer(result.messages[0]).data, status=status.HTTP_201_CREATED)
        stored = session.messages.get(message_id=new_message.message_id)
        return Response(MessageSerializer(stored).data, status=status.HTTP_200_OK)

    # The seed's actions. Each is POST with a JSON body, at /api/sessions/<action>.

    @extend_schema(request=StartSessionSerializer, responses={201: ChatSessionSerializer})
    @action(detail=False, methods=["post"], url_path="start", filterset_class=None, pagination_class=None)
    def start(self, request):
        incoming = StartSessionSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        session = services.start_session(owner=request.user, **incoming.validated_data)
        return Response(ChatSessionSerializer(session).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SaveInputSerializer, responses=SaveResultSerializer)
    @action(detail=False, methods=["post"], url_path="save", filterset_class=None, pagination_class=None)
    def save(self, request):
        incoming = SaveInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        session = self._owned_session(data["session_id"])
        changes = {name: data[name] for name in ("title", "metadata", "tools") if name in data}
        to_new_message = MessageInputSerializer().to_new_message  # one serializer: building one costs ~50 µs
        new_messages = [to_new_message(message) for message in data["messages"]]
        result = services.save_to_session(session=session, messages=new_messages, **changes)
        return Response(
            {
                "session_id": result.session.session_id,
                "saved": result.saved,
                "duplicates": result.duplicates,
                "message_count": result.session.message_count,
            }
        )

    @extend_schema(request=ListInputSerializer, responses=SessionPageSerializer)
    @action(detail=False, methods=["post"], url_path="list", filterset_class=None, pagination_class=None)
    def list_sessions(self, request):
        incoming = ListInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        filters = {key: value for key, value in data.items() if key not in ("page", "page_size")}
        sessions = ChatSessionFilter(filters, queryset=self.get_queryset())
        if not sessions.is_valid():
            raise ValidationError(sessions.errors)
        page = page_of(
            sessions.qs,
            page=data.get("page", 1),
            page_size=data.get("page_size", settings.REST_FRAMEWORK["PAGE_SIZE"]),
            ids_first=self.paginate_ids_first,
        )
        return Response(page_response(page, ChatSessionSerializer(page.object_list, many=True).data))

    @extend_schema(request=LoadInputSerializer, responses=SessionWithMessagesSerializer)
    @action(detail=False, methods=["post"], url_path="load", filterset_class=None, pagination_class=None)
    def load(self, request):
        incoming = LoadInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        session = self._owned_session(data["session_id"])
        with collector_paused():
            # One more than asked for tells whether there is a next part without a count query.
            branch = session.messages.on_branch(session, data["branches"])
            messages = list(branch.after_seq(data["after_seq"]).as_rows()[: data["limit"] + 1])
            blobs.restore(messages)
            has_more = len(messages) > data["limit"]
            messages = messages[: data["limit"]]
            body = ChatSessionSerializer(session).data
            body["messages"] = MessageSerializer(messages, many=True).data
        body["next_after_seq"] = messages[-1]["seq"] if has_more else None
        return Response(body)

