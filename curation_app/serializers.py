from rest_framework import serializers

from sessions_app.extensions import SessionFields
from sessions_app.serializers import (
    MomentField,
    SessionIdField,
    StrictBooleanField,
    StrictCharField,
    StrictFieldsMixin,
)

from . import services
from .models import TAG_MAX_CHARS, MessageFeedback, Rating, ShareLink
from .services import FEEDBACK_COMMENT_MAX_CHARS, FEEDBACK_REASON_MAX_CHARS, MAX_TAGS_PER_SESSION


def tag_names(session) -> list[str]:
    # Reads the tags the session's queryset prefetched (with_tags()): no query per session.
    return [tag.name for tag in session.tags.all()]


class TagListField(serializers.ListField):
    """A session's tag names; read from the (prefetched) tags, written as a list that replaces them."""

    child = StrictCharField(max_length=TAG_MAX_CHARS + 20)  # the service trims, then checks the exact limit

    def __init__(self, **kwargs):
        super().__init__(max_length=MAX_TAGS_PER_SESSION, **kwargs)

    def get_attribute(self, session):
        return tag_names(session)


class FeedbackSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A rating of one assistant message: the body of POST .../messages/<seq>/feedback/ and its answer."""

    rating = serializers.ChoiceField(choices=Rating.choices, help_text="1 (thumbs up) or -1 (thumbs down).")
    reason = StrictCharField(max_length=FEEDBACK_REASON_MAX_CHARS, required=False, allow_blank=True, default="")
    comment = StrictCharField(
        max_length=FEEDBACK_COMMENT_MAX_CHARS, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    seq = serializers.IntegerField(source="message.seq", read_only=True)

    class Meta:
        model = MessageFeedback
        fields = ["seq", "rating", "reason", "comment", "created_at", "updated_at"]
        read_only_fields = ["seq", "created_at", "updated_at"]


class ShareLinkSerializer(serializers.ModelSerializer):
    session_id = serializers.CharField(source="session.session_id", read_only=True)

    class Meta:
        model = ShareLink
        fields = ["id", "session_id", "title", "message_count", "created_at", "expires_at"]
        read_only_fields = fields


class NewShareLinkSerializer(ShareLinkSerializer):
    """The answer to creating a link: the only time its URL (which holds the token) is shown."""

    url = serializers.SerializerMethodField()

    class Meta(ShareLinkSerializer.Meta):
        fields = [*ShareLinkSerializer.Meta.fields, "url"]
        read_only_fields = fields

    def get_url(self, link) -> str:
        return self.context["url"]


class ShareInputSerializer(StrictFieldsMixin, serializers.Serializer):
    session_id = SessionIdField()
    expires_at = MomentField(required=False, allow_null=True, help_text="When the link stops working.")


class RetentionPolicySerializer(StrictFieldsMixin, serializers.Serializer):
    delete_after_days = serializers.IntegerField(
        min_value=1,
        max_value=36_500,
        allow_null=True,
        help_text="Delete sessions this many days after their last activity (pinned ones are kept); "
        "null keeps everything.",
    )
    archive_before_delete = StrictBooleanField(
        required=False, default=False, help_text="Write each session to the month archive before deleting it."
    )
    max_days = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The administrators' maximum for everyone, or null."
    )
    effective_days = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="What apply_retention uses: the shorter of the two."
    )


def _session_field_serializers() -> dict:
    return {
        "tags": TagListField(required=False, help_text="Replaces the tags; stored trimmed and lowercase."),
        "is_pinned": StrictBooleanField(required=False, help_text="Pinned sessions come first in the list."),
        "is_archived": StrictBooleanField(
            required=False, help_text="Archived sessions are left out of the list unless q has archived:true or any."
        ),
    }


def _session_field_values(session) -> dict:
    return {
        "tags": tag_names(session),
        "is_pinned": session.is_pinned,
        "is_archived": session.is_archived,
    }


def _apply_session_fields(*, session, **values):
    return services.curate_session(session=session, **values)


# The session object of the API shows and takes tags, is_pinned and is_archived.
curation_session_fields = SessionFields(
    fields=_session_field_serializers, read=_session_field_values, apply=_apply_session_fields
)


def rate_for_python_api(*, message, rating: int, reason: str = "", comment: str = "") -> dict:
    """LoggingSystem.rate: rate `message` and answer as the feedback API does."""
    feedback, _ = services.rate_message(message=message, rating=rating, reason=reason, comment=comment)
    return FeedbackSerializer(feedback).data
