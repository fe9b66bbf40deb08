"""A registry search as the query string asks for it, and what the API answers: a page of
public certificate entries with facets."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel

from core.api import parse_int
from quality_marks.registry import PER_PAGE, RegistryQuery, registry_query

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


class RegistryItemOut(BaseModel):
    """One issued certificate found in the registry, with only its public fields."""

    number: str
    status: str
    level: str
    product_name: str
    product_identifier: str
    organization_name: str
    sectors: list[str]
    state: str
    guideline_slug: str
    guideline_version: str
    guideline_title_es: str
    guideline_title_en: str
    issued_on: dt.date
    valid_until: dt.date
    url: str
    # The matching text, HTML-escaped, with each hit wrapped in <mark>; null without a query.
    snippet: str | None


class FacetValueOut(BaseModel):
    """One value of a facet: how many results have it, and whether the query chose it."""

    value: str
    count: int
    selected: bool


class RegistryOut(BaseModel):
    """A page of registry search results."""

    items: list[RegistryItemOut]
    total: int
    page: int
    per_page: int
    pages: int
    sort: str
    # Whether the page is in order of relevance (otherwise newest first: too many matches).
    ranked: bool
    # Whether the search hit its time limit (then the page is empty).
    timed_out: bool
    facets: dict[str, list[FacetValueOut]]
