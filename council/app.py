"""The application factory: builds the engine, the routes and the middleware from settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

from core import (
    accounts_api,
    accounts_pages,
    api_docs_pages,
    outbox_pages,
    passwords_pages,
    signing_pages,
    transparency_pages,
)
from core.auth import admit_request, now_utc
from core.db import RequestSessions, make_engine, make_sessionmaker
from core.errors import N_
from core.fastpath import PublicDocuments
from core.headers import SecurityHeaders
from core.health import probes
from core.i18n import compile_catalogs
from core.limits import RequestLimits
from core.settings import Settings, ensure_secret_key
from core.storage import FileStore
from core.web import NavLink, install_error_handlers
from council import (
    assignment_api,
    assignment_pages,
    ballots_pages,
    certificate_ballots_api,
    certificate_ballots_pages,
    council_api,
    dashboard_pages,
    home_pages,
    members_pages,
    resolutions_pages,
)
from council import decisions_pages as council_decisions_pages
from guidelines import (
    authoring_pages,
    consultation_api,
    consultation_pages,
    editor_pages,
    versions_api,
    versions_pages,
)
from quality_marks import (
    applications_api,
    applications_pages,
    badges_pages,
    complaints_pages,
    decisions_api,
    decisions_pages,
    organizations_api,
    organizations_pages,
    products_api,
    products_pages,
    registration_pages,
    registry_api,
    registry_pages,
    registry_public_pages,
    reviews_api,
    reviews_pages,
    statistics_pages,
    status_lists_pages,
    verification_api,
    verification_pages,
)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
SESSION_COOKIE = "ceia_session"
SESSION_MAX_AGE = 14 * 24 * 3600

OPENAPI_TAGS = [
    {"name": "accounts", "description": "Accounts, invitations and API tokens (core)."},
    {"name": "guidelines", "description": "Guidelines, versions, criteria and consultation."},
    {"name": "quality_marks", "description": "Organisations, products and applications."},
    {"name": "council", "description": "Council members, conflicts, ballots and resolutions."},
]

NAVIGATION = [
    NavLink("/", N_("Home")),
    NavLink("/dashboard", N_("My work"), ("*",)),
    NavLink("/guidelines", N_("Guidelines")),
    NavLink("/council", N_("The council")),
    NavLink("/registry", N_("Registry")),
    NavLink("/verify", N_("Verify a certificate")),
    NavLink("/council/ballots", N_("Ballots"), ("council_member", "secretariat")),
    NavLink("/council/interests", N_("My interests"), ("council_member", "expert")),
    NavLink("/council/members", N_("Roster"), ("secretariat",)),
    NavLink("/council/reviewers", N_("Reviewers"), ("secretariat",)),
    NavLink("/reviews", N_("My reviews"), ("council_member", "expert")),
    NavLink("/organisation", N_("My organisation"), ("applicant",)),
    NavLink("/applications", N_("Applications"), ("secretariat",)),
    NavLink("/certificates", N_("Certificates"), ("secretariat",)),
    NavLink("/organisations/verification", N_("Verification"), ("secretariat",)),
    NavLink("/account", N_("My account"), ("*",)),
    NavLink("/admin/users", N_("People"), ("secretariat",)),
    NavLink("/admin/outbox", N_("Outbox"), ("secretariat",)),
]


class CouncilApp(FastAPI):
    """The FastAPI application with the security headers wrapped around everything, 500s too.

    Outside them, anonymous reads of public documents are answered from memory once the
    application has answered them (their security headers kept with them).
    """

    def build_middleware_stack(self) -> ASGIApp:
        settings: Settings = self.state.settings
        return PublicDocuments(
            SecurityHeaders(super().build_middleware_stack(), https=settings.secure_cookies),
            engine=self.state.engine,
            session_cookie=SESSION_COOKIE,
            default_locale=settings.default_locale,
            clock=self.request_clock,
        )

    def request_clock(self) -> dt.datetime:
        """The clock the routes read (`Now`), pinned or not."""
        return self.dependency_overrides.get(now_utc, now_utc)()  # type: ignore[no-any-return]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the council's web application; nothing touches the database before this runs."""
    settings = ensure_secret_key(settings or Settings())
    compile_catalogs()
    app = CouncilApp(
        title="CEIA — Consejo de Ética de la Inteligencia Artificial",
        version="0.1.0",
        description=api_docs_pages.API_DESCRIPTION,
        openapi_tags=OPENAPI_TAGS,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(admit_request)],
    )
    engine = make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.navigation = list(NAVIGATION)
    app.state.file_store = FileStore(settings.storage_dir)

    install_error_handlers(app)
    # Innermost: closes the request's database session (if a dependency opened one) once the
    # response is sent.
    app.add_middleware(RequestSessions)
    # Inside the session middleware: an upload is refused unread when nobody is signed in.
    app.add_middleware(
        RequestLimits,
        form_bytes=settings.max_form_bytes,
        json_bytes=settings.max_json_bytes,
        upload_bytes=settings.max_upload_request_bytes,
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.secure_cookies,
    )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(probes)
    app.include_router(signing_pages.pages)
    app.include_router(home_pages.pages)
    app.include_router(members_pages.pages)
    app.include_router(ballots_pages.pages)
    app.include_router(resolutions_pages.pages)
    app.include_router(council_api.api)
    app.include_router(accounts_pages.pages)
    app.include_router(passwords_pages.pages)
    app.include_router(accounts_api.api)
    # Authoring first: /guidelines/new is not the slug of a guideline.
    app.include_router(authoring_pages.pages)
    app.include_router(editor_pages.pages)
    app.include_router(versions_pages.pages)
    app.include_router(versions_api.api)
    app.include_router(consultation_pages.pages)
    app.include_router(consultation_api.api)
    # Registration first: its /organisations/new and /organisations/disputes/new come before
    # /organisations/{id}.
    app.include_router(registration_pages.pages)
    app.include_router(organizations_pages.pages)
    app.include_router(products_pages.pages)
    app.include_router(applications_pages.pages)
    app.include_router(organizations_api.api)
    app.include_router(products_api.api)
    app.include_router(applications_api.api)
    app.include_router(reviews_pages.pages)
    app.include_router(reviews_api.api)
    app.include_router(assignment_pages.pages)
    app.include_router(assignment_api.api)
    app.include_router(decisions_pages.pages)
    app.include_router(council_decisions_pages.pages)
    app.include_router(decisions_api.api)
    app.include_router(verification_pages.pages)
    app.include_router(verification_api.api)
    app.include_router(certificate_ballots_pages.pages)
    app.include_router(certificate_ballots_api.api)
    app.include_router(status_lists_pages.pages)
    app.include_router(badges_pages.pages)
    app.include_router(complaints_pages.pages)
    app.include_router(statistics_pages.pages)
    app.include_router(registry_public_pages.pages)
    app.include_router(registry_pages.pages)
    app.include_router(registry_api.api)
    app.include_router(transparency_pages.pages)
    app.include_router(transparency_pages.api)
    app.include_router(api_docs_pages.pages)
    api_docs_pages.declare_bearer_tokens(app)
    app.include_router(outbox_pages.pages)
    # Issue 14: each person's next steps.
    app.include_router(dashboard_pages.pages)
    return app
