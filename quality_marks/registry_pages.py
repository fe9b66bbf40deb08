"""The public registry's search page: issued certificates found by words and facets."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core.api import parse_int
from core.auth import MaybeUser
from core.db import get_session
from core.downloads import document_page
from core.errors import N_
from quality_marks.certificate_history import STATUS_LABELS
from quality_marks.decisions import LEVEL_LABELS
from quality_marks.registry import (
    FACETS,
    PER_PAGE,
    SORTS,
    RegistryQuery,
    RegistryResults,
    registry_query,
    search_registry,
)

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]

Values = Annotated[list[str], Query()]


def search_terms(
    q: str = "",
    sector: Values = [],  # noqa: B006 - FastAPI copies defaults
    level: Values = [],  # noqa: B006
    status: Values = [],  # noqa: B006
    version: Values = [],  # noqa: B006
    state: Values = [],  # noqa: B006
    year: Values = [],  # noqa: B006
    sort: str = "relevance",
    page: str = "1",
    per_page: str = str(PER_PAGE),
) -> RegistryQuery:
    """The search a reader asks for: words, facet filters (each may repeat), order and page."""
    return registry_query(
        text=q,
        sectors=sector,
        levels=level,
        statuses=status,
        versions=version,
        states=state,
        years=year,
        sort=sort,
        page=parse_int(page) or 1,
        per_page=parse_int(per_page) or PER_PAGE,
    )


SearchTerms = Annotated[RegistryQuery, Depends(search_terms)]


# Results on one page of the registry.
PAGE_SIZE = PER_PAGE
FACET_LABELS = {
    "sector": N_("Sector"),
    "level": N_("Level"),
    "status": N_("Status"),
    "version": N_("Guideline version"),
    "state": N_("Mexican state"),
    "year": N_("Year of issue"),
}
SORT_LABELS = {
    "relevance": N_("Relevance"),
    "newest": N_("Newest first"),
    "expiry": N_("Expiring first"),
}


def _address(query: RegistryQuery, *, page: int) -> str:
    """The registry address of the query at another page."""
    pairs: list[tuple[str, str]] = []
    if query.text:
        pairs.append(("q", query.text))
    for facet in FACETS:
        pairs.extend((facet, value) for value in query.chosen(facet))
    if query.sort != "relevance":
        pairs.append(("sort", query.sort))
    if page > 1:
        pairs.append(("page", str(page)))
    return "/registry" + (f"?{urlencode(pairs)}" if pairs else "")


# The words shown for facet values that are codes.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "status": {str(status): label for status, label in STATUS_LABELS.items()},
    "level": dict(LEVEL_LABELS),
}


def _page_context(query: RegistryQuery, results: RegistryResults) -> dict[str, Any]:
    """What the registry page shows of a page of results."""
    return {
        "query": query,
        "results": results,
        "facet_labels": FACET_LABELS,
        "value_labels": VALUE_LABELS,
        "sorts": [(name, SORT_LABELS[name]) for name in SORTS],
        "status_labels": STATUS_LABELS,
        "level_labels": LEVEL_LABELS,
        "previous_page": _address(query, page=results.page - 1) if results.page > 1 else None,
        "next_page": _address(query, page=results.page + 1)
        if results.page < results.pages
        else None,
    }


@pages.get("/registry")
def registry_page(
    request: Request, session: DbSession, user: MaybeUser, terms: SearchTerms
) -> Response:
    """The registry: search issued certificates by words, filter by facets, open one."""
    # The page's links carry no page size: every page of it holds the same number of results.
    query = replace(terms, per_page=PAGE_SIZE)
    results = search_registry(session, query)
    context = _page_context(query, results)
    # A search cut short by the time limit is no answer to keep for the next reader.
    shareable = user is None and not results.timed_out
    return document_page(request, "quality_marks/registry.html", context, shareable=shareable)
