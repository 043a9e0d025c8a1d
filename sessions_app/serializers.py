import json
import re
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from . import blobs, extensions
from .ids import SESSION_ID_ERROR, SESSION_ID_PATTERN
from .models import MESSAGE_READER_FIELDS, ChatSession, Message, Role
from .services import NewMessage

# The largest seq or count a filter may name: PositiveIntegerField's bound on every database. Beyond it
# SQLite overflows and PostgreSQL refuses the value, so the request is refused before the query.
MAX_SEQ = 2_147_483_647
# Deeper metadata is refused: PostgreSQL's jsonb (and Python's own recursion) give out long before
# any real client needs more.
MAX_JSON_DEPTH = 32


# PostgreSQL refuses a UTC offset of 16 hours or more ("time zone displacement out of range"); the
# zones in use stay within -12:00 and +14:00.
UTC_OFFSET_LIMIT = timedelta(hours=16)
MOMENT_FORMAT_ERROR = "Enter an ISO 8601 date (2026-01-31) or date-time (2026-01-31T12:00:00Z)."


def parse_moment(raw, *, end_of_day: bool = False) -> datetime:
    """The one reading of a date-time from a client: an ISO 8601 date-time, or a date meaning its
    midnight (with `end_of_day`, the next midnight), naive ones in the current time zone; from Python,
    a datetime. Returned in UTC, so every database stores and compares it alike; Django's
    ValidationError for anything a database could not take: a UTC offset PostgreSQL refuses, or a
    moment outside years 1-9999 in UTC."""
    moment = day = None
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, str):
        raw = raw.strip()
        try:
            moment = parse_datetime(raw) if "T" in raw or " " in raw else None
            day = None if moment else parse_date(raw)
        except ValueError:  # well formed, but no such day or time: 2026-02-30
            pass
    try:
        if day:
            moment = datetime.combine(day + timedelta(days=1) if end_of_day else day, time.min)
        if moment is None:
            raise DjangoValidationError(MOMENT_FORMAT_ERROR, code="invalid")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        if abs(moment.utcoffset()) >= UTC_OFFSET_LIMIT:
            raise DjangoValidationError("The UTC offset must be less than 16 hours.", code="offset")
        return moment.astimezone(UTC)
    except OverflowError:  # the day after 9999-12-31, or a moment that leaves years 1-9999 in UTC
        raise DjangoValidationError("Must fall between the years 1 and 9999 in UTC.", code="overflow") from None


class MomentField(serializers.DateTimeField):
    """A date-time in a request body, read by parse_moment."""

    def to_internal_value(self, value):
        try:
            return parse_moment(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages, code=error.code) from None


def iso_datetime(moment, zone=None):
    """A datetime as DRF writes it: ISO 8601 in the current time zone (or `zone`), UTC as "Z"."""
    if moment is None:
        return None
    text = moment.astimezone(zone or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class StrictFieldsMixin:
    """Refuse unknown and read-only keys, so a misspelt field is a 400, not silently dropped."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for key in data:
                field = self.fields.get(key)
                if field is None:
                    errors[str(key)] = ["Unknown field."]
                elif field.read_only:
                    errors[str(key)] = ["This field is read-only."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


SURROGATE = re.compile("[\ud800-\udfff]")
ROLES = frozenset(Role.values)


class SurrogateValidator(ProhibitSurrogateCharactersValidator):
    """DRF's check with the same message, in one regular-expression scan: DRF's own loops over every
    character in Python, a quarter of the time of a 100-message save."""

    def __call__(self, value):
        found = SURROGATE.search(str(value))
        if found:
            raise serializers.ValidationError(self.message.format(code_point=ord(found.group())), code=self.code)


class StrictCharField(serializers.CharField):
    """A CharField that takes only strings: DRF's own would turn 42 into "42"."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [
            SurrogateValidator() if isinstance(validator, ProhibitSurrogateCharactersValidator) else validator
            for validator in self.validators
        ]

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class JSONObjectField(serializers.JSONField):
    """A JSON object (dict); lists, strings and numbers are refused."""

    default_error_messages = {
        "not_object": "Must be a JSON object.",
        "too_deep": f"Nested more than {MAX_JSON_DEPTH} levels deep.",
        "null_character": "Must not contain NUL (\\u0000) characters.",
    }

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_object")
        problem = unstorable_json(value)
        if problem:
            self.fail(problem)
        return value


def unstorable_json(value, *, depth: int = 1) -> str | None:
    """Why PostgreSQL's jsonb could not store `value` (NUL in a string, nesting too deep), or None."""
    if depth > MAX_JSON_DEPTH:
        return "too_deep"
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return "null_character"
            problem = unstorable_json(item, depth=depth + 1)
            if problem:
                return problem
    elif isinstance(value, list):
        for item in value:
            problem = unstorable_json(item, depth=depth + 1)
            if problem:
                return problem
    elif isinstance(value, str) and "\x00" in value:
        return "null_character"
    return None


BRANCH_CHOICES = ["active", "all"]
BRANCHES_HELP = "active: the active branch, first message to current_seq (default); all: every message."


# Metadata keys whose meaning other features rely on (analytics, the pages, exports): checked on write.
# Every other key stays free-form.
def metadata_problems(metadata: dict) -> dict[str, str]:
    """{key: what is wrong} for the known metadata keys of `metadata` that have a wrong shape."""
    problems = {}
    for key in ("latency_ms", "ttft_ms"):
        if key in metadata and not _is_non_negative_number(metadata[key]):
            problems[key] = "Must be a non-negative number of milliseconds."
    if "model" in metadata and not isinstance(metadata["model"], str):
        problems["model"] = "Must be a string."
    if "usage" in metadata:
        usage = metadata["usage"]
        if not isinstance(usage, dict) or not all(_is_count(value) for value in usage.values()):
            problems["usage"] = "Must be an object of non-negative integers (prompt_tokens, completion_tokens, ...)."
    if "tools" in metadata:
        tools = metadata["tools"]
        if not isinstance(tools, list) or not all(
            isinstance(tool, str) or isinstance(tool, dict) and isinstance(tool.get("name"), str) for tool in tools
        ):
            problems["tools"] = "Must be a list of tool names, or of objects with a name."
    return problems


def _is_non_negative_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 and value == value


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class MetadataField(JSONObjectField):
    """A message's or session's metadata: a JSON object whose known keys (metadata_problems) are checked."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        problems = metadata_problems(value)
        if problems:
            raise serializers.ValidationError({key: [problem] for key, problem in problems.items()})
        return value


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string"},
            {
                "type": "array",
                "items": {"type": "object", "properties": {"type": {"type": "string"}}, "required": ["type"]},
            },
        ]
    }
)
class ContentField(serializers.Field):
    """A message's content: a string, or a list of OpenAI content parts ({"type": ..., ...} objects;
    a "text" part holds its words in "text"). Parts are kept as given."""

    default_error_messages = {
        "invalid": "Must be a string or a list of content parts.",
        "null_character": "Must not contain NUL (\\u0000) characters.",
        "too_deep": f"Nested more than {MAX_JSON_DEPTH} levels deep.",
    }

    def to_internal_value(self, data):
        if isinstance(data, str):
            if "\x00" in data:
                self.fail("null_character")
            SurrogateValidator()(data)
            return data
        if not isinstance(data, list):
            self.fail("invalid")
        problem = content_parts_problem(data)
        if problem:
            raise serializers.ValidationError(problem)
        problem = unstorable_json(data)
        if problem:
            self.fail(problem)
        SurrogateValidator()(json.dumps(data, ensure_ascii=False))
        return data

    def to_representation(self, value):
        return value


def content_parts_problem(parts: list) -> str | None:
    """What makes `parts` not a list of content parts we store (objects with a string type; a text part
    with a string text), or None. The capture proxy applies the same rule to what clients send."""
    for index, part in enumerate(parts):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            return f"Part {index} must be an object with a string type."
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            return f"Part {index} is a text part without a string text."
    return None


def tool_calls_problem(calls: list) -> str | None:
    """What makes `calls` not OpenAI tool calls we store (string id, function name and arguments; ids
    distinct), or None. The capture proxy applies the same rule to what clients and models send."""
    for index, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not (
            isinstance(call, dict)
            and isinstance(call.get("id"), str)
            and call["id"]
            and isinstance(function, dict)
            and isinstance(function.get("name"), str)
            and isinstance(function.get("arguments"), str)
        ):
            return (
                f"Call {index} must be {{id, type: function, function: {{name, arguments}}}} with string "
                "id, name and arguments (the arguments exactly as the model wrote them)."
            )
    if len({call["id"] for call in calls}) != len(calls):
        return "Two calls share an id."
    return None


def text_of(parts: list) -> str:
    """The text of content parts: their text parts, in order, a line apart."""
    return "\n".join(part["text"] for part in parts if part.get("type") == "text")


class StorableJSONListField(serializers.ListField):
    """A list of JSON values that PostgreSQL's jsonb can store (no NUL characters, not nested too deep)."""

    child = serializers.JSONField()

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        self.check_items(values)
        problem = unstorable_json(values)
        if problem:
            raise serializers.ValidationError(JSONObjectField.default_error_messages[problem])
        return values

    def check_items(self, values: list) -> None:
        """Raise a ValidationError unless every item has the expected shape."""


class ToolCallsField(StorableJSONListField):
    """OpenAI's tool_calls: [{"id", "type": "function", "function": {"name", "arguments"}}]. Kept as given:
    `arguments` is the exact string the model wrote, never parsed and written again."""

    def check_items(self, calls):
        problem = tool_calls_problem(calls)
        if problem:
            raise serializers.ValidationError(problem)


class ToolsField(StorableJSONListField):
    """The function definitions a conversation offers the model: OpenAI's `tools` list, kept as given."""

    def check_items(self, tools):
        if not all(isinstance(tool, dict) for tool in tools):
            raise serializers.ValidationError(
                'Each tool must be an object, e.g. {"type": "function", "function": {...}}.'
            )


class SessionIdField(serializers.RegexField):
    def __init__(self, **kwargs):
        super().__init__(SESSION_ID_PATTERN, error_messages={"invalid": SESSION_ID_ERROR}, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false only: DRF's own also takes "yes", "on", 1 and more."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class ChatSessionSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    title = StrictCharField(max_length=200, required=False, allow_blank=True)
    system_prompt = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    metadata = MetadataField(required=False)
    tools = ToolsField(required=False, allow_null=True, help_text="OpenAI's tools list: the functions offered.")
    current_seq = serializers.IntegerField(
        required=False,
        min_value=0,  # 0 while the session is empty; a PATCH must name a message
        max_value=MAX_SEQ,
        help_text="The leaf of the active branch: reads and exports follow it back to the first message. "
        "Set it to switch branches.",
    )

    # The fields other apps add (extensions.session_fields): tags, pin and archive flags.
    extended = True

    class Meta:
        model = ChatSession
        fields = [
            "session_id",
            "title",
            "system_prompt",
            "metadata",
            "mode",
            "started_at",
            "updated_at",
            "ended_at",
            "message_count",
            "token_count",
            "current_seq",
            "tools",
        ]
        read_only_fields = [
            "session_id",
            "mode",
            "started_at",
            "updated_at",
            "ended_at",
            "message_count",
            "token_count",
        ]

    def get_fields(self):
        fields = super().get_fields()
        if self.extended:
            for extension in extensions.session_fields:
                fields.update(extension.fields())
        return fields

    def to_representation(self, session):
        # Built by hand, as DRF's fields would: a page of sessions through them took most of a list request.
        body = {name: getattr(session, name) for name in ChatSessionSerializer.Meta.fields}
        for name in ("started_at", "updated_at", "ended_at"):
            body[name] = iso_datetime(body[name])
        if self.extended:
            for extension in extensions.session_fields:
                body.update(extension.read(session))
        return body


class MessageListSerializer(serializers.ListSerializer):
    """A batch of messages: each plainly valid one is taken as MessageInputSerializer.plain_valid_message
    returns it, skipping the child's run_validation steps (empty checks, validators, defaults), which
    have nothing to do for it and cost ~15 µs a message; any other goes through them in full."""

    def run_child_validation(self, data):
        return MessageInputSerializer.plain_valid_message(data) or super().run_child_validation(data)


class MessageInputSerializer(StrictFieldsMixin, serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    content = ContentField(
        help_text="A string, or a list of OpenAI content parts (text, image_url, input_audio, file ...)."
    )
    metadata = MetadataField(required=False, default=dict)
    created_at = MomentField(required=False)
    message_id = StrictCharField(max_length=64, required=False, allow_null=True, allow_blank=False)
    parent_seq = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_SEQ,
        help_text="The message this one follows; default the session's current leaf. An earlier one starts a "
        "branch (an edit or a regeneration); null starts the conversation anew.",
    )
    tool_calls = ToolCallsField(required=False, allow_null=True, help_text="Assistant messages: OpenAI's tool_calls.")
    tool_call_id = StrictCharField(
        max_length=256, required=False, allow_blank=True, help_text="Tool messages: the id of the call answered."
    )
    name = StrictCharField(max_length=128, required=False, allow_blank=True)
    reasoning = StrictCharField(
        required=False, allow_null=True, allow_blank=True, trim_whitespace=False, help_text="The model's thinking."
    )

    class Meta:
        list_serializer_class = MessageListSerializer

    def to_internal_value(self, data):
        return self.plain_valid_message(data) or super().to_internal_value(data)

    @staticmethod
    def plain_valid_message(data) -> dict | None:
        """The validated message when `data` is plainly valid, checked by hand; None sends it through
        DRF's field-by-field validation (a save of 1,000 messages spent most of its time there), which
        also words every error. Accepts exactly what DRF accepts and returns what it returns."""
        if not isinstance(data, dict) or not data.keys() <= {"role", "content", "metadata", "message_id"}:
            return None  # parts, tool calls, branches ...: checked field by field
        role, content = data.get("role"), data.get("content")
        metadata, message_id = data.get("metadata", {}), data.get("message_id")
        if (
            role not in ROLES
            or not isinstance(content, str)
            or len(content) > settings.NOVAFORGE["MAX_CONTENT_CHARS"]
            or "\x00" in content
            or SURROGATE.search(content)
            or not isinstance(metadata, dict)
        ):
            return None
        if message_id is not None and not (
            isinstance(message_id, str)
            and 0 < len(message_id) <= 64
            and message_id == message_id.strip()
            and "\x00" not in message_id
            and not SURROGATE.search(message_id)
        ):
            return None
        try:
            json.dumps(metadata)  # what JSONField checks: it can be stored
        except (TypeError, ValueError):
            return None
        if unstorable_json(metadata) or metadata_problems(metadata):
            return None
        validated = {"role": role, "content": content, "metadata": metadata}
        if "message_id" in data:
            validated["message_id"] = message_id
        return validated

    def validate_content(self, content):
        # Read per call so a deployment (or a test) can change the limit in settings.
        limit = settings.NOVAFORGE["MAX_CONTENT_CHARS"]
        text = content if isinstance(content, str) else text_of(content)
        if len(text) > limit:
            raise serializers.ValidationError(f"Content is {len(text)} characters; the limit is {limit}.")
        return content

    def validate(self, data):
        role = data.get("role")
        if data.get("tool_calls") and role != Role.ASSISTANT:
            raise serializers.ValidationError({"tool_calls": [f"Only assistant messages make tool calls, not {role}."]})
        if data.get("tool_call_id") and role != Role.TOOL:
            raise serializers.ValidationError({"tool_call_id": [f"Only tool messages answer a call, not {role}."]})
        return data

    def to_new_message(self, data=None) -> NewMessage:
        data = data if data is not None else self.validated_data
        content = data["content"]
        optional = {name: data[name] for name in ("parent_seq",) if name in data}
        return NewMessage(
            role=data["role"],
            content=content if isinstance(content, str) else text_of(content),
            parts=None if isinstance(content, str) else content,
            metadata=data.get("metadata") or {},
            message_id=data.get("message_id") or None,
            created_at=data.get("created_at"),
            tool_calls=data.get("tool_calls") or None,
            tool_call_id=data.get("tool_call_id") or "",
            name=data.get("name") or "",
            reasoning=data.get("reasoning"),
            **optional,
        )


class MessageSerializer(serializers.ModelSerializer):
    """A stored message with its owner's rating, from a Message or from a row of
    `Message.objects.as_rows()` (after blobs.restore). Built by hand in to_representation: loading 10,000
    messages must stay fast."""

    content = serializers.CharField(read_only=True, help_text="The text (of the text parts, when there are parts).")
    parts = serializers.JSONField(read_only=True, help_text="The content parts as given; null for text only.")
    tool_calls = serializers.JSONField(read_only=True, allow_null=True)
    tool_call_id = serializers.CharField(read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True, allow_null=True)
    reasoning = serializers.CharField(read_only=True, allow_null=True)
    parent_seq = serializers.IntegerField(read_only=True, allow_null=True, help_text="The message this one follows.")
    feedback = serializers.JSONField(read_only=True, help_text="{rating, reason, comment}, or null when unrated.")

    class Meta:
        model = Message
        fields = [*(name for name in MESSAGE_READER_FIELDS if name != "part_blobs"), "feedback"]
        read_only_fields = fields

    @cached_property
    def _zone(self):
        # Looked up once per serializer, not per message: the lookup (a context-local read) was a
        # sixth of loading 10,000 messages.
        return timezone.get_current_timezone()

    def to_representation(self, message):
        if isinstance(message, dict):
            row = message
            feedback = (
                {"rating": row["feedback_rating"], "reason": row["feedback_reason"], "comment": row["feedback_comment"]}
                if row.get("feedback_rating") is not None
                else None
            )
        else:
            row = {name: getattr(message, name) for name in self.Meta.fields[:-1]}
            row["part_blobs"] = message.part_blobs
            if message.part_blobs:
                blobs.restore([row])
            rated = getattr(message, "feedback", None)
            feedback = {"rating": rated.rating, "reason": rated.reason, "comment": rated.comment} if rated else None
        return {
            "seq": row["seq"],
            "parent_seq": row["parent_seq"],
            "role": row["role"],
            "content": row["content"],
            "parts": row["parts"],
            "tool_calls": row["tool_calls"],
            "tool_call_id": row["tool_call_id"] or None,
            "name": row["name"] or None,
            "reasoning": row["reasoning"],
            "metadata": row["metadata"],
            "message_id": row["message_id"],
            "token_count": row["token_count"],
            "created_at": iso_datetime(row["created_at"], self._zone),
            "feedback": feedback,
        }


class StartSessionSerializer(ChatSessionSerializer):
    """The body of /api/sessions/start; answers with the whole session."""

    # A new session is tagged, pinned or archived afterwards, with PATCH; here those keys are unknown.
    extended = False
    current_seq = serializers.IntegerField(read_only=True)  # a new session has no message to point at


class SaveInputSerializer(StrictFieldsMixin, serializers.Serializer):
    session_id = SessionIdField()
    messages = MessageInputSerializer(many=True, allow_empty=True)
    title = StrictCharField(max_length=200, required=False, allow_blank=True)
    metadata = MetadataField(required=False)
    tools = ToolsField(required=False, allow_null=True, help_text="Replaces the session's tools list.")

    def validate_messages(self, messages):
        limit = settings.NOVAFORGE["MAX_BATCH_MESSAGES"]
        if len(messages) > limit:
            raise serializers.ValidationError(f"At most {limit} messages per save; split the batch.")
        ids = [message.get("message_id") for message in messages if message.get("message_id")]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("A message_id appears twice in this batch.")
        return messages

    def to_internal_value(self, data):
        # Refuse an oversized batch before validating each of its messages.
        if isinstance(data, dict) and isinstance(data.get("messages"), list):
            limit = settings.NOVAFORGE["MAX_BATCH_MESSAGES"]
            if len(data["messages"]) > limit:
                raise serializers.ValidationError(
                    {"messages": [f"At most {limit} messages per save; split the batch."]}
                )
        return super().to_internal_value(data)


class SaveResultSerializer(serializers.Serializer):
    session_id = serializers.CharField()
    saved = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    message_count = serializers.IntegerField()


class LoadInputSerializer(StrictFieldsMixin, serializers.Serializer):
    session_id = SessionIdField()
    after_seq = serializers.IntegerField(required=False, min_value=0, max_value=MAX_SEQ, default=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=10_000, default=10_000)
    branches = serializers.ChoiceField(
        choices=BRANCH_CHOICES, required=False, default="active", help_text=BRANCHES_HELP
    )


class SessionWithMessagesSerializer(ChatSessionSerializer):
    """The load action's answer, for the schema: the action builds it from the two serializers above."""

    messages = MessageSerializer(many=True, read_only=True)
    next_after_seq = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Pass as after_seq to load the next part; null at the end."
    )

    class Meta(ChatSessionSerializer.Meta):
        fields = [*ChatSessionSerializer.Meta.fields, "messages", "next_after_seq"]


class ListInputSerializer(StrictFieldsMixin, serializers.Serializer):
    """The body of /api/sessions/list: pagination plus the same filters as GET /api/sessions/."""

    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)
    # Strings here; ChatSessionFilter then reads them, so both ways of listing take the same values.
    q = StrictCharField(required=False, allow_blank=True)
    started_after = StrictCharField(required=False, allow_blank=True)
    started_before = StrictCharField(required=False, allow_blank=True)
    mode = StrictCharField(required=False, allow_blank=True)
    min_messages = serializers.IntegerField(required=False, min_value=0, max_value=MAX_SEQ)
    ended = StrictBooleanField(required=False, help_text="true: only ended sessions; false: only open ones.")
    ordering = StrictCharField(required=False, allow_blank=True)


class SessionPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.IntegerField(allow_null=True)
    previous = serializers.IntegerField(allow_null=True)
    results = ChatSessionSerializer(many=True)
