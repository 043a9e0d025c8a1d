"""Page-number pagination whose bad page or page_size is a 400, and pages read by primary key first."""

from collections import OrderedDict

from django.conf import settings
from django.core.paginator import EmptyPage, Paginator
from django.db import connections
from rest_framework import exceptions, pagination

MAX_PAGE_SIZE = 200


def parse_page_params(data) -> tuple[int, int]:
    """`page` and `page_size` from query parameters or a JSON body; 400 naming the field when invalid."""
    errors = {}
    values = {}
    for name, default, upper in (("page", 1, None), ("page_size", settings.REST_FRAMEWORK["PAGE_SIZE"], MAX_PAGE_SIZE)):
        raw = data.get(name, default)
        if raw in (None, ""):
            raw = default
        if isinstance(raw, bool):
            raw = "not a number"
        try:
            value = int(raw)
        except (TypeError, ValueError):
            errors[name] = ["A whole number is required."]
            continue
        if value < 1 or (upper and value > upper):
            errors[name] = [f"Must be between 1 and {upper}." if upper else "Must be 1 or more."]
            continue
        values[name] = value
    if errors:
        raise exceptions.ValidationError(errors)
    return values["page"], values["page_size"]


class PageNumberPagination(pagination.PageNumberPagination):
    """Page-number pagination whose bad `page`/`page_size` values are a 400, not silently replaced."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        page_number, page_size = parse_page_params(request.query_params)
        self.request = request
        ids_first = getattr(view, "paginate_ids_first", False)
        self.page = page_of(queryset, page=page_number, page_size=page_size, ids_first=ids_first)
        return list(self.page)


class IdsFirstPaginator(Paginator):
    """On PostgreSQL, picks a page's primary keys in a subquery, then reads only those rows, in the same
    query. PostgreSQL fetches every row an OFFSET skips from the table, while the keys alone come from
    an index-only scan: page 1,001 of a user's sessions took 62 ms, this way 6.5 ms. SQLite already
    skips along the index without reading rows, and given the subquery it walked the owner's whole
    index testing each row (15 ms against 6 ms), so it pages plainly. For plain model querysets (no
    values(), union or distinct)."""

    def page(self, number):
        if connections[self.object_list.db].vendor != "postgresql":
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        keys = self.object_list.values("pk")[bottom : bottom + self.per_page]
        return self._get_page(self.object_list.filter(pk__in=keys), number, self)


def page_of(queryset, *, page: int, page_size: int, ids_first: bool = False):
    """One page of `queryset`; a page past the end is a 404 that says how many pages there are.
    `ids_first` reads the page through IdsFirstPaginator (for long lists of one model)."""
    paginator = (IdsFirstPaginator if ids_first else Paginator)(queryset, page_size)
    try:
        return paginator.page(page)
    except EmptyPage:
        raise exceptions.NotFound(f"Page {page} does not exist; there are {paginator.num_pages}.") from None


def page_response(page, results) -> OrderedDict:
    """The body of a page answered to a POST: `next` and `previous` are page numbers to post again."""
    return OrderedDict(
        count=page.paginator.count,
        next=page.next_page_number() if page.has_next() else None,
        previous=page.previous_page_number() if page.has_previous() else None,
        results=results,
    )
