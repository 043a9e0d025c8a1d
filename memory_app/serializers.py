from django.conf import settings
from rest_framework import serializers

from sessions_app.serializers import JSONObjectField, SessionIdField, StrictCharField, StrictFieldsMixin

from .models import CATEGORY_PATTERN, DEFAULT_CATEGORY, SEARCHABLE_LAYERS, Layer, MemoryItem, TaskStatus

CATEGORY_ERROR = "Use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit."


class CategoryField(serializers.RegexField):
    def __init__(self, **kwargs):
        super().__init__(CATEGORY_PATTERN, error_messages={"invalid": CATEGORY_ERROR}, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class MemoryItemSerializer(serializers.ModelSerializer):
    """A memory item of any layer. Built by hand: lists of hundreds must not cost a query or a field walk each."""

    # Declared for the schema: these are null where a layer has no such value.
    session_id = serializers.CharField(read_only=True, allow_null=True, help_text="The session's 12-hex id.")
    status = serializers.ChoiceField(choices=TaskStatus.choices, read_only=True, allow_null=True)
    month = serializers.CharField(read_only=True, allow_null=True, help_text="YYYY-MM, for episodes.")
    promoted_from = serializers.ChoiceField(choices=Layer.choices, read_only=True, allow_null=True)

    class Meta:
        model = MemoryItem
        fields = [
            "id", "layer", "category", "session_id", "title", "text", "strength", "status", "context", "month",
            "digest", "access_count", "last_accessed_at", "promoted_from", "promoted_at", "created_at",
            "updated_at", "last_seen_at",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, item):
        return {
            "id": item.pk,
            "layer": item.layer,
            "category": item.category,
            # The session's 12-hex id (get_queryset joins the session); null for items of no session.
            "session_id": item.session.session_id if item.session_id else None,
            "title": item.title,
            "text": item.text,
            "strength": item.strength,
            "status": item.status or None,
            "context": item.context,
            "month": item.month or None,
            "digest": item.digest,
            "access_count": item.access_count,
            "last_accessed_at": _iso(item.last_accessed_at),
            "promoted_from": item.promoted_from or None,
            "promoted_at": _iso(item.promoted_at),
            "created_at": _iso(item.created_at),
            "updated_at": _iso(item.updated_at),
            "last_seen_at": _iso(item.last_seen_at),
        }


def _iso(moment):
    return moment.isoformat().replace("+00:00", "Z") if moment else None


class MemoryItemCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    """POST /api/memory/items/: a short-term line, a long-term fact or a working task (`text` is its goal).

    Episodes are built from sessions (when one ends, or by consolidation), not posted.
    """

    layer = serializers.ChoiceField(choices=[Layer.SHORT_TERM, Layer.LONG_TERM, Layer.WORKING])
    text = StrictCharField(trim_whitespace=False)
    category = CategoryField(required=False, default=DEFAULT_CATEGORY)
    session_id = SessionIdField(required=False, allow_null=True)
    context = JSONObjectField(required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict) and data.get("layer") == Layer.EPISODIC:
            raise serializers.ValidationError(
                {"layer": ["Episodes are built from sessions: end the session or run consolidation."]}
            )
        return super().to_internal_value(data)

    def validate_text(self, text):
        limit = settings.NOVAFORGE["MAX_CONTENT_CHARS"]
        if not text.strip():
            raise serializers.ValidationError("Must be non-empty text.")
        if len(text) > limit:
            raise serializers.ValidationError(f"Text is {len(text)} characters; the limit is {limit}.")
        return text

    def validate(self, data):
        if data["layer"] == Layer.SHORT_TERM and not data.get("session_id"):
            raise serializers.ValidationError({"session_id": ["Short-term memory belongs to a session; name it."]})
        if "context" in data and data["layer"] != Layer.WORKING:
            raise serializers.ValidationError({"context": ["Only working tasks have a context."]})
        return data


class MemoryItemUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    """PATCH: which of these a layer lets change is the service's rule (services.EDITABLE_FIELDS)."""

    text = StrictCharField(required=False, trim_whitespace=False)
    category = CategoryField(required=False)
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    context = JSONObjectField(required=False)
    title = StrictCharField(required=False, max_length=200, allow_blank=True)


class SearchInputSerializer(StrictFieldsMixin, serializers.Serializer):
    q = serializers.CharField(max_length=1000, help_text="Words to find; punctuation and operators are ignored.")
    layer = serializers.ChoiceField(
        choices=list(SEARCHABLE_LAYERS), required=False, help_text="Only this layer (memory scope)."
    )
    scope = serializers.ChoiceField(
        choices=["memory", "messages", "all"],
        default="memory",
        help_text="memory: long-term and episodic items; messages: your sessions' messages; all: both.",
    )
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class SearchHitSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["memory", "message"])
    score = serializers.FloatField()
    item = MemoryItemSerializer(required=False)
    message = serializers.DictField(required=False, help_text="session_id, seq, role, content, created_at")

    def to_representation(self, hit):
        body = {"kind": hit["kind"], "score": round(hit["score"], 6)}
        if hit["kind"] == "memory":
            body["item"] = MemoryItemSerializer(hit["item"]).data
        else:
            message = hit["message"]
            body["message"] = {
                "session_id": message.session.session_id,
                "seq": message.seq,
                "role": message.role,
                "content": message.content,
                "created_at": _iso(message.created_at),
            }
        return body


class SearchResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    scope = serializers.CharField()
    results = SearchHitSerializer(many=True)


class ContextInputSerializer(StrictFieldsMixin, serializers.Serializer):
    session_id = SessionIdField()
    query = StrictCharField(required=False, allow_blank=True, max_length=10_000)
    budget_tokens = serializers.IntegerField(required=False, min_value=1)

    def validate_budget_tokens(self, budget):
        most = settings.NOVAFORGE["CONTEXT_MAX_BUDGET_TOKENS"]
        if budget > most:
            raise serializers.ValidationError(f"At most {most} tokens.")
        return budget


class ContextPieceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    layer = serializers.ChoiceField(choices=Layer.choices)
    text = serializers.CharField()
    tokens = serializers.IntegerField()
    reason = serializers.CharField(help_text="Why this piece was chosen.")
    score = serializers.FloatField(allow_null=True, help_text="Search rank of a match; null otherwise.")


class ContextSerializer(serializers.Serializer):
    session_id = serializers.CharField()
    query = serializers.CharField(help_text="The words matched: the request's query, else the latest user message.")
    budget_tokens = serializers.IntegerField()
    used_tokens = serializers.IntegerField()
    items = ContextPieceSerializer(many=True)


class ConsolidateInputSerializer(StrictFieldsMixin, serializers.Serializer):
    threshold = serializers.IntegerField(required=False, min_value=1)
    dry_run = serializers.BooleanField(required=False, default=False)


class ConsolidationReportSerializer(serializers.Serializer):
    threshold = serializers.IntegerField()
    dry_run = serializers.BooleanField()
    promoted = serializers.IntegerField()
    strengthened = serializers.IntegerField()
    episodes = serializers.IntegerField()
