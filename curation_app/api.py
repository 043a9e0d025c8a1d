"""Curation endpoints: ratings of assistant messages, share links, and the retention policy."""

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.response import Response

from sessions_app.models import ChatSession, Message

from . import services
from .filters import ShareLinkFilter
from .models import RetentionPolicy, ShareLink
from .serializers import (
    FeedbackSerializer,
    NewShareLinkSerializer,
    RetentionPolicySerializer,
    ShareInputSerializer,
    ShareLinkSerializer,
)


class MessageFeedbackView(generics.GenericAPIView):
    """Your thumbs up or down on one assistant message of one of your sessions; rating again replaces it."""

    serializer_class = FeedbackSerializer
    queryset = Message.objects.none()  # the model, for schema generation; get_message() scopes reads

    def get_message(self) -> Message:
        messages = Message.objects.owned_by(self.request.user).with_feedback().select_related("session")
        return get_object_or_404(messages, session__session_id=self.kwargs["session_id"], seq=self.kwargs["seq"])

    @extend_schema(
        responses={200: FeedbackSerializer, 404: OpenApiResponse(description="No such message, or unrated.")}
    )
    def get(self, request, session_id, seq):
        message = self.get_message()
        feedback = getattr(message, "feedback", None)
        if feedback is None:
            return Response({"detail": f"Message {seq} has no feedback."}, status=status.HTTP_404_NOT_FOUND)
        return Response(FeedbackSerializer(feedback).data)

    @extend_schema(
        responses={
            201: FeedbackSerializer,
            200: OpenApiResponse(FeedbackSerializer, description="An earlier rating was replaced."),
            400: OpenApiResponse(description="Bad rating, or the message is not an assistant message."),
        }
    )
    def post(self, request, session_id, seq):
        message = self.get_message()
        incoming = FeedbackSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        feedback, created = services.rate_message(message=message, **incoming.validated_data)
        return Response(
            FeedbackSerializer(feedback).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(responses={204: None, 404: OpenApiResponse(description="No such message, or unrated.")})
    def delete(self, request, session_id, seq):
        if not services.remove_feedback(message=self.get_message()):
            return Response({"detail": f"Message {seq} has no feedback."}, status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ShareLinkViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Read-only links to your sessions. A link's URL is shown once, when it is made; DELETE revokes it."""

    queryset = ShareLink.objects.none()  # the model, for schema generation; get_queryset() scopes reads
    serializer_class = ShareLinkSerializer
    filterset_class = ShareLinkFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return ShareLink.objects.owned_by(self.request.user).select_related("session")

    @extend_schema(request=ShareInputSerializer, responses={201: NewShareLinkSerializer})
    def create(self, request):
        incoming = ShareInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        session = get_object_or_404(
            ChatSession.objects.owned_by(request.user), session_id=incoming.validated_data["session_id"]
        )
        link, token = services.share_session(session=session, expires_at=incoming.validated_data.get("expires_at"))
        url = request.build_absolute_uri(reverse("shared-session", args=[token]))
        return Response(NewShareLinkSerializer(link, context={"url": url}).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, link):
        services.revoke_share_link(link=link)


class RetentionPolicyView(generics.GenericAPIView):
    """How long your sessions are kept; apply_retention (run by cron) deletes older, unpinned ones."""

    serializer_class = RetentionPolicySerializer

    def _answer(self, policy: RetentionPolicy | None) -> Response:
        return Response(
            {
                "delete_after_days": policy.delete_after_days if policy else None,
                "archive_before_delete": policy.archive_before_delete if policy else False,
                "max_days": settings.NOVAFORGE["RETENTION_MAX_DAYS"],
                "effective_days": services.effective_retention_days(policy),
            }
        )

    def get_object(self) -> RetentionPolicy | None:
        # Also what OPTIONS calls to describe PUT: GenericAPIView's own needs a queryset we do not have.
        return RetentionPolicy.objects.filter(owner=self.request.user).first()

    def get(self, request):
        return self._answer(self.get_object())

    def put(self, request):
        incoming = RetentionPolicySerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        return self._answer(services.set_retention_policy(owner=request.user, **incoming.validated_data))
