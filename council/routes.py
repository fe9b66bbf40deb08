"""The public home page and service endpoints of the council's site."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from core.web import render_page

pages = APIRouter(include_in_schema=False)


@pages.get("/")
def home(request: Request) -> HTMLResponse:
    """The public home page."""
    return render_page(request, "council/home.html")


@pages.get("/healthz")
def health() -> dict[str, str]:
    """Liveness probe for the process supervisor."""
    return {"status": "ok"}
