"""The dashboard page: each person's next steps, where sign-in lands."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from core.auth import Now, SignedIn
from core.web import render_page, service_settings
from council import dashboard
from council.home_pages import DbSession
from quality_marks.applications import STATUS_LABELS
from quality_marks.organizations import ROLE_LABELS as ORG_ROLE_LABELS

pages = APIRouter(include_in_schema=False)


@pages.get("/dashboard")
def dashboard_page(request: Request, session: DbSession, user: SignedIn, now: Now) -> HTMLResponse:
    """The work waiting for the signed-in person, a section per role, the most urgent first."""
    rules = dashboard.Deadlines.from_settings(service_settings(request))
    board = dashboard.dashboard_of(session, user, now=now, rules=rules)
    return render_page(
        request,
        "council/dashboard.html",
        {
            "board": board,
            "rules": rules,
            "status_labels": STATUS_LABELS,
            "org_role_labels": ORG_ROLE_LABELS,
        },
    )
