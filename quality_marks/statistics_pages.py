"""The registry's statistics page: charts drawn on the server, each with its data table."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core.db import get_session
from core.downloads import document_page
from quality_marks.statistics import registry_statistics

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]


@pages.get("/registry/statistics")
def statistics_page(request: Request, session: DbSession) -> Response:
    """The registry's statistics, drawn on the server; the same for every anonymous reader."""
    charts = registry_statistics(session)
    return document_page(
        request, "quality_marks/statistics.html", {"charts": charts}, shareable=True
    )
