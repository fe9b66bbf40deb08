"""Choosing a password by e-mail: the reset request and the reset and invitation links."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from core.accounts import (
    TokenPurpose,
    check_account_token,
    request_password_reset,
    set_password_with_token,
)
from core.auth import Now, client_ip, sign_in
from core.db import get_session
from core.errors import N_, DomainError, Invalid
from core.web import (
    PageForm,
    error_message,
    flash,
    redirect,
    refuse_form,
    render_page,
    render_refused,
    service_settings,
)

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]


@pages.get("/account/reset")
def reset_request_form(request: Request) -> HTMLResponse:
    """Ask for a password reset link."""
    return render_page(request, "core/reset_request.html", {"values": {}, "errors": {}})


@pages.post("/account/reset", response_model=None)
def reset_request(
    request: Request, session: DbSession, now: Now, email: Annotated[str, Form()] = ""
) -> Response:
    """E-mail a reset link if the address has an account; the answer never tells which."""
    try:
        request_password_reset(
            session,
            email=email,
            client_ip=client_ip(request),
            base_url=service_settings(request).base_url,
            now=now,
        )
    except DomainError as error:
        return render_refused(request, session, error, "core/reset_request.html", {"email": email})
    session.commit()
    flash(
        request,
        N_("If an account exists for %(email)s, a link to choose a new password is on its way."),
        "info",
        email=email,
    )
    return redirect("/signin")


def _token_page(purpose: TokenPurpose) -> str:
    return "core/reset_password.html" if purpose == TokenPurpose.reset else "core/invitation.html"


def _invalid_link(request: Request, error: DomainError) -> HTMLResponse:
    """The page for a used or expired link; it is refused before anything is written."""
    context = PageForm(message=error_message(request, error)).context()
    return render_page(request, "core/token_invalid.html", context, status_code=error.status_code)


def _token_form(
    request: Request, session: Session, token: str, purpose: TokenPurpose, now: dt.datetime
) -> HTMLResponse:
    try:
        user = check_account_token(session, token=token, purpose=purpose, now=now)
    except DomainError as error:
        return _invalid_link(request, error)
    return render_page(request, _token_page(purpose), {"account": user, "errors": {}, "values": {}})


def _token_refused(
    request: Request,
    session: Session,
    error: Invalid,
    token: str,
    purpose: TokenPurpose,
    now: dt.datetime,
) -> HTMLResponse:
    """A refused password shows its form again; a refused link says the link is not valid."""
    if not error.fields:
        return _invalid_link(request, error)
    form = refuse_form(request, session, error, {})
    account_user = check_account_token(session, token=token, purpose=purpose, now=now)
    context = {**form.context(), "account": account_user}
    return render_page(request, _token_page(purpose), context, status_code=error.status_code)


def _token_submit(
    request: Request,
    session: Session,
    token: str,
    purpose: TokenPurpose,
    password: str,
    now: dt.datetime,
) -> Response:
    try:
        user = set_password_with_token(
            session, token=token, purpose=purpose, password=password, now=now
        )
    except Invalid as error:
        return _token_refused(request, session, error, token, purpose, now)
    session.commit()
    sign_in(request, user)
    flash(request, N_("Your password has been set. You are signed in."))
    return redirect("/")


@pages.get("/account/reset/{token}")
def reset_form(request: Request, session: DbSession, now: Now, token: str) -> HTMLResponse:
    """Choose a new password with an e-mailed reset link."""
    return _token_form(request, session, token, TokenPurpose.reset, now)


@pages.post("/account/reset/{token}", response_model=None)
def reset_submit(
    request: Request,
    session: DbSession,
    now: Now,
    token: str,
    password: Annotated[str, Form()] = "",
) -> Response:
    """Set the new password; the link cannot be used again."""
    return _token_submit(request, session, token, TokenPurpose.reset, password, now)


@pages.get("/account/invitation/{token}")
def invitation_form(request: Request, session: DbSession, now: Now, token: str) -> HTMLResponse:
    """Accept an invitation by choosing a password."""
    return _token_form(request, session, token, TokenPurpose.invite, now)


@pages.post("/account/invitation/{token}", response_model=None)
def invitation_submit(
    request: Request,
    session: DbSession,
    now: Now,
    token: str,
    password: Annotated[str, Form()] = "",
) -> Response:
    """Set the invited account's password and sign in."""
    return _token_submit(request, session, token, TokenPurpose.invite, password, now)
