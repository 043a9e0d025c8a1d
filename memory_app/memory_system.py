"""The seed's memory API, for code that runs beside the server:

    from memory_app.memory_system import AdvancedMemory

    memory = AdvancedMemory(user="admin", session_id=logging.session_id)
    memory.short_term.add("User: How do I...")
    memory.long_term.add("Key concept", category="learning")
    memory.short_term.get_recent(n=5)
    memory.long_term.get("learning")

Items and search hits come back as plain dicts, exactly as the HTTP API's JSON shows them. Every write
goes through memory_app.services; reads by get/search/get_recent/by_month count an access, as reads over
HTTP do, and return the counted access_count and last_accessed_at.
"""

import re

from novaforge.standalone import as_sent, ensure_django, script_user

ensure_django()

from django.conf import settings  # noqa: E402  (Django must be set up before models are imported)
from django.core.exceptions import ValidationError  # noqa: E402

from sessions_app.models import ChatSession  # noqa: E402

from . import services  # noqa: E402
from .models import CATEGORY_PATTERN, DEFAULT_CATEGORY, MONTH_PATTERN, Layer, MemoryItem  # noqa: E402
from .serializers import MemoryItemSerializer, SearchHitSerializer  # noqa: E402


def _shown(item: MemoryItem) -> dict:
    return as_sent(MemoryItemSerializer(item).data)


def _listed(items, *, count_access: bool = True) -> list[dict]:
    items = list(items)
    if count_access:
        services.record_access(items=items)
    return as_sent(MemoryItemSerializer(items, many=True).data)


class _Layer:
    def __init__(self, memory: "AdvancedMemory"):
        self.memory = memory

    def _items(self, layer):
        return MemoryItem.objects.owned_by(self.memory.user).in_layer(layer).select_related("session")

    def _search(self, query: str, layer: str, limit: int) -> list[dict]:
        """Hits as GET /api/memory/search/ gives them: {"kind": "memory", "score", "item"}, best first."""
        hits = services.recall(owner=self.memory.user, query=query, layers=[layer], limit=limit)
        return as_sent(SearchHitSerializer(hits, many=True).data)


class ShortTerm(_Layer):
    """The current session's latest lines (SHORT_TERM_LIMIT of them); gone when the session ends."""

    def add(self, text: str) -> dict:
        item = services.add_short_term(session=self.memory.require_session(), text=text)
        return _shown(item)

    def get_recent(self, n: int = 5) -> list[dict]:
        """The newest `n` lines, oldest first."""
        if not isinstance(n, int) or n < 1:
            raise ValidationError({"n": "Must be a whole number of 1 or more."})
        session = self.memory.require_session()
        recent = list(self._items(Layer.SHORT_TERM).filter(session=session).order_by("-id")[:n])
        return _listed(reversed(recent))


class LongTerm(_Layer):
    """Facts kept across sessions, by category; adding a known fact again strengthens it."""

    def add(self, text: str, category: str = DEFAULT_CATEGORY) -> dict:
        item, _ = services.remember_fact(
            owner=self.memory.user, text=text, category=category, session=self.memory.session
        )
        return _shown(item)

    def get(self, category: str | None = None, limit: int = 100) -> list[dict]:
        """Facts of `category` (all without one), strongest first."""
        facts = self._items(Layer.LONG_TERM)
        if category is not None:
            if not isinstance(category, str) or not re.fullmatch(CATEGORY_PATTERN, category):
                raise ValidationError({"category": "Use 1-64 lowercase letters, digits, '-' or '_'."})
            facts = facts.filter(category=category)
        return _listed(facts.order_by("-strength", "-last_seen_at", "-id")[:limit])

    def search(self, query: str, limit: int = 10) -> list[dict]:
        """Search hits for facts matching `query`, best first."""
        return self._search(query, Layer.LONG_TERM, limit)


class Working(_Layer):
    """Tasks in progress, each with a goal, a status and a context object."""

    def add(self, goal: str, context: dict | None = None) -> dict:
        item = services.add_task(owner=self.memory.user, goal=goal, context=context, session=self.memory.session)
        return _shown(item)

    def complete(self, item_id: int) -> dict:
        task = self._owned_task(item_id)
        return _shown(services.complete_task(item=task))

    def active(self) -> list[dict]:
        """Open tasks, newest first."""
        return _listed(self._items(Layer.WORKING).filter(status="open").order_by("-id"), count_access=False)

    def _owned_task(self, item_id) -> MemoryItem:
        try:
            return self._items(Layer.WORKING).get(pk=item_id)
        except (MemoryItem.DoesNotExist, ValueError, TypeError):
            raise ValidationError({"id": f"No working task {item_id} belongs to {self.memory.user}."}) from None


class Episodic(_Layer):
    """One episode per past session: title, month and digest (first request, main topics)."""

    def search(self, query: str, limit: int = 10) -> list[dict]:
        return self._search(query, Layer.EPISODIC, limit)

    def by_month(self, month: str) -> list[dict]:
        """Episodes of `month` ("YYYY-MM"), newest first."""
        if not isinstance(month, str) or not re.fullmatch(MONTH_PATTERN, month):
            raise ValidationError({"month": "Use YYYY-MM."})
        return _listed(self._items(Layer.EPISODIC).filter(month=month).order_by("-id"))


class AdvancedMemory:
    """One user's four-layer memory; `session_id` names the session short-term memory belongs to.

    `user` is as for LoggingSystem: an unknown username is a ValidationError unless `create_user=True`.
    """

    def __init__(self, user=None, session_id: str | None = None, *, create_user: bool = False):
        self.user = script_user(user or settings.NOVAFORGE["DEFAULT_USER"], create=create_user)
        self.session = ChatSession.objects.owned_by(self.user).by_session_id(session_id) if session_id else None
        self.short_term = ShortTerm(self)
        self.long_term = LongTerm(self)
        self.working = Working(self)
        self.episodic = Episodic(self)

    @property
    def session_id(self) -> str | None:
        return self.session.session_id if self.session else None

    def require_session(self) -> ChatSession:
        if self.session is None:
            raise ValidationError({"session_id": "Short-term memory belongs to a session: pass session_id."})
        self.session.refresh_from_db(fields=["ended_at"])
        return self.session

    def context(self, query: str = "", budget_tokens: int | None = None) -> dict:
        """What an assistant should see next in this session (as POST /api/memory/context)."""
        return as_sent(
            services.assemble_context(session=self.require_session(), query=query, budget_tokens=budget_tokens)
        )

    def consolidate(self, threshold: int | None = None, dry_run: bool = False) -> dict:
        """Promote this user's often-read items and build missing episodes (as consolidate_memory)."""
        return as_sent(services.consolidate_memory(owner=self.user, threshold=threshold, dry_run=dry_run).as_dict())
