"""What the registry search API answers: a page of public certificate entries with facets."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


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
    # Whether `total` and the facet counts are estimates: above 5,000 text matches they are
    # counted on every 16th certificate and scaled.
    estimated: bool
    facets: dict[str, list[FacetValueOut]]
