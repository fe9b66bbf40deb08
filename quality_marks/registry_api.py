"""The registry search API under /api/v1: the public entries of issued certificates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core.api import ERROR_RESPONSES
from core.auth import MaybeUser
from core.db import get_session
from core.documents import content_etag
from core.downloads import document_response
from quality_marks.registry import RegistryResults, search_registry
from quality_marks.registry_pages import SearchTerms
from quality_marks.registry_schemas import FacetValueOut, RegistryItemOut, RegistryOut

api = APIRouter(prefix="/api/v1", tags=["quality_marks"], responses=ERROR_RESPONSES)

DbSession = Annotated[Session, Depends(get_session)]


def registry_out(results: RegistryResults, *, sort: str) -> RegistryOut:
    """The API's form of a page of results."""
    return RegistryOut(
        items=[
            RegistryItemOut(
                number=hit.entry.number,
                status=hit.entry.status,
                level=hit.entry.level,
                product_name=hit.entry.product_name,
                product_identifier=hit.entry.product_identifier,
                organization_name=hit.entry.organization_name,
                sectors=hit.entry.sectors,
                state=hit.entry.state,
                guideline_slug=hit.entry.guideline_slug,
                guideline_version=hit.entry.guideline_version,
                guideline_title_es=hit.entry.guideline_title_es,
                guideline_title_en=hit.entry.guideline_title_en,
                issued_on=hit.entry.issued_on,
                valid_until=hit.entry.valid_until,
                url=f"/verify/{hit.entry.number}",
                snippet=str(hit.snippet) if hit.snippet is not None else None,
            )
            for hit in results.items
        ],
        total=results.total,
        page=results.page,
        per_page=results.per_page,
        pages=results.pages,
        sort=sort,
        ranked=results.ranked,
        timed_out=results.timed_out,
        estimated=results.estimated,
        facets={
            name: [FacetValueOut(value=f.value, count=f.count, selected=f.selected) for f in values]
            for name, values in results.facets.items()
        },
    )


@api.get("/registry", responses={200: {"model": RegistryOut}})
def search_registry_api(
    request: Request, session: DbSession, user: MaybeUser, query: SearchTerms
) -> Response:
    """Search the registry of issued certificates: words, facet filters, order and page."""
    results = search_registry(session, query)
    body = registry_out(results, sort=query.sort).model_dump_json().encode()
    return document_response(
        request,
        body,
        etag=content_etag(body),
        media_type="application/json",
        # A search cut short by the time limit is no answer to keep for the next reader.
        shared=user is None and not results.timed_out,
        vary=None,
        headers={"Access-Control-Allow-Origin": "*"},
    )
