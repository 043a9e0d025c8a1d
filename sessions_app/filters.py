import re
from dataclasses import dataclass

import django_filters
from django import forms
from django.core.validators import EMPTY_VALUES
from django.db.models import Exists, OuterRef, Q

from .models import ChatSession, Message
from .serializers import BRANCH_CHOICES, BRANCHES_HELP, MAX_SEQ, parse_moment


def normalize_tag(name: str) -> str:
    """A tag as stored and searched (`tag:` below): trimmed, lowercase, inner whitespace as one space."""
    return " ".join(name.split()).lower()


class WholeNumberFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class MomentFormField(forms.DateTimeField):
    """A date-time filter value, read by parse_moment like every date-time the API takes."""

    def to_python(self, value):
        return None if value in self.empty_values else parse_moment(value)


class MomentFilter(django_filters.DateTimeFilter):
    field_class = MomentFormField


# `key:value` or `key:"quoted value"` for the keys below; any other text is a free word.
QUERY_TOKEN = re.compile(
    r'(?P<key>tag|pinned|archived):(?:"(?P<quoted>[^"]*)"|(?P<bare>\S+))|(?P<word>\S+)', re.IGNORECASE
)
QUERY_FLAGS = {"true": True, "false": False}


@dataclass(frozen=True)
class SessionQuery:
    """The list search `tag:work pinned:true archived:false free words`, parsed."""

    words: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    pinned: bool | None = None
    # "true" (only archived sessions), "false", "any" (both), or None: not said, the filter's default.
    archived: str | None = None

    @classmethod
    def parse(cls, text: str) -> "SessionQuery":
        words, tags, flags = [], [], {}
        for token in QUERY_TOKEN.finditer(text):
            if token["word"]:
                words.append(token["word"])
                continue
            key = token["key"].lower()
            value = token["quoted"] if token["quoted"] is not None else token["bare"]
            if key == "tag":
                tags.append(normalize_tag(value))
            elif key == "archived" and value.lower() in ("true", "false", "any"):
                flags["archived"] = value.lower()
            elif key == "pinned" and value.lower() in QUERY_FLAGS:
                flags["pinned"] = QUERY_FLAGS[value.lower()]
            else:
                extra = ", any" if key == "archived" else ""
                raise forms.ValidationError(f"{key}: takes true, false{extra}; got {value!r}.")
        return cls(words=tuple(words), tags=tuple(tags), **flags)


class SessionQueryField(forms.CharField):
    def to_python(self, value):
        text = super().to_python(value)
        if "\x00" in text:  # checked here: validators run after parsing, on the parsed query
            raise forms.ValidationError("Null characters are not allowed.", code="null_characters_not_allowed")
        return SessionQuery.parse(text) if text else None


class SessionQueryFilter(django_filters.CharFilter):
    field_class = SessionQueryField


class StrictBooleanField(forms.Field):
    """true/false/1/0: anything else is a 400. (Django's NullBooleanField reads "banana", and even "1",
    as "not given", so a typo silently returned every session.)"""

    def to_python(self, value):
        if value in (None, ""):
            return None
        normalized = str(value).strip().lower()
        if normalized in ("true", "1"):
            return True
        if normalized in ("false", "0"):
            return False
        raise forms.ValidationError("Must be true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class StableOrderingFilter(django_filters.OrderingFilter):
    """django-filter's ordering, with the newest id last to break ties: pages of sessions that share a
    title or a count must not overlap or skip rows."""

    def filter(self, sessions, value):
        if not value:
            return sessions
        return sessions.order_by(*(self.get_ordering_value(name) for name in value), "-id")


class ChatSessionFilterForm(forms.Form):
    def clean_ordering(self):
        # django-filter skips empty names, and `ordering=,` then left the list in no order at all.
        names = self.cleaned_data.get("ordering")
        if names and any(name in EMPTY_VALUES for name in names):
            raise forms.ValidationError("Name a field between commas.", code="empty")
        return names


class ChatSessionFilter(django_filters.FilterSet):
    q = SessionQueryFilter(
        method="filter_q",
        help_text=(
            "Words in the title, or a session id, plus any of tag:NAME (tag:\"two words\"), pinned:true|false, "
            "archived:true|false|any. Archived sessions are left out unless archived: is given."
        ),
    )
    started_after = MomentFilter(
        field_name="started_at", lookup_expr="gte", help_text="ISO 8601 date or date-time, inclusive."
    )
    started_before = MomentFilter(
        field_name="started_at", lookup_expr="lt", help_text="ISO 8601 date or date-time, exclusive."
    )
    mode = django_filters.CharFilter(field_name="mode")
    min_messages = WholeNumberFilter(field_name="message_count", lookup_expr="gte", min_value=0, max_value=MAX_SEQ)
    ended = StrictBooleanFilter(field_name="ended_at", lookup_expr="isnull", exclude=True)
    ordering = StableOrderingFilter(
        fields=("started_at", "updated_at", "message_count", "token_count", "title", "is_pinned"),
        help_text="started_at, updated_at, message_count, token_count, title or is_pinned; a leading - reverses.",
    )

    class Meta:
        model = ChatSession
        form = ChatSessionFilterForm
        fields = ["q", "started_after", "started_before", "mode", "min_messages", "ended", "ordering"]

    def __init__(self, *args, include_archived: bool = False, **kwargs):
        """`include_archived`: keep archived sessions unless q says otherwise (for sessions picked by id)."""
        super().__init__(*args, **kwargs)
        self.archived_default = "any" if include_archived else "false"

    def filter_queryset(self, sessions):
        sessions = super().filter_queryset(sessions)
        # Applied here, not in filter_q, so that archived sessions are hidden when q is absent too.
        query = self.form.cleaned_data.get("q") or SessionQuery()
        archived = query.archived or self.archived_default
        return sessions if archived == "any" else sessions.filter(is_archived=archived == "true")

    def filter_q(self, sessions, name, query: SessionQuery):
        matches = Q()
        for word in query.words:
            matches &= Q(title__icontains=word) | Q(session_id=word.lower())
        for tag in query.tags:
            # EXISTS through the owner's tag (tag_name_unique_per_owner) and session_tag_by_tag: PostgreSQL
            # plans it as a semi-join (a correlated IN list took it 50x longer); SQLite probes per session.
            # The link table of `session.tags`, which curation_app defines.
            session_tags = ChatSession.tags.through.objects
            matches &= Exists(session_tags.filter(session=OuterRef("pk"), tag__owner=OuterRef("owner"), tag__name=tag))
        if query.pinned is not None:
            matches &= Q(is_pinned=query.pinned)
        return sessions.filter(matches)


class MessageFilter(django_filters.FilterSet):
    after_seq = WholeNumberFilter(field_name="seq", lookup_expr="gt", min_value=0, max_value=MAX_SEQ)
    role = django_filters.ChoiceFilter(choices=Message._meta.get_field("role").choices)
    branches = django_filters.ChoiceFilter(
        choices=[(choice, choice) for choice in BRANCH_CHOICES], method="filter_branches", help_text=BRANCHES_HELP
    )

    class Meta:
        model = Message
        fields = ["after_seq", "role", "branches"]

    def __init__(self, *args, session, **kwargs):
        super().__init__(*args, **kwargs)
        self.session = session

    def filter_queryset(self, messages):
        messages = super().filter_queryset(messages)
        # The active branch unless branches=all: applied here so that it holds without the parameter too.
        return messages.on_branch(self.session, self.form.cleaned_data.get("branches") or "active")

    def filter_branches(self, messages, name, value):
        return messages  # read in filter_queryset
