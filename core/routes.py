"""Account pages (sign-in, passwords, invitations, API tokens) and the account API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import (
    INVITABLE_ROLES,
    ROLE_LABELS,
    Role,
    TokenPurpose,
    User,
    authenticate,
    change_password,
    check_account_token,
    hash_token,
    invite_user,
    issue_api_token,
    list_api_tokens,
    list_open_sessions,
    list_users,
    request_password_reset,
    revoke_api_token,
    set_password_with_token,
    sign_out_everywhere,
    sign_out_other_sessions,
)
from core.api import ERROR_RESPONSES, ObjectId, Page, PageParams, page_params, paginate
from core.auth import Now, SignedIn, Staff, client_ip, current_session_key, sign_in, sign_out
from core.db import get_session, utcnow
from core.errors import N_, DomainError, Invalid
from core.i18n import LOCALE_COOKIE, LOCALES, normalize_locale
from core.schemas import InvitationIn, UserOut
from core.submissions import Once
from core.web import error_fields, error_message, flash, redirect, render_page

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["accounts"], responses=ERROR_RESPONSES)

DbSession = Annotated[Session, Depends(get_session)]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _form_error(
    request: Request, template: str, error: DomainError, values: dict[str, str], **extra: object
) -> HTMLResponse:
    fields = error_fields(request, error) if isinstance(error, Invalid) else {}
    return render_page(
        request,
        template,
        {
            "values": values,
            "errors": fields,
            "form_error": error_message(request, error) if not fields else None,
            **extra,
        },
        status_code=error.status_code,
    )


@pages.post("/language")
def choose_language(
    request: Request, locale: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> RedirectResponse:
    """Remember the visitor's language choice in a cookie."""
    chosen = normalize_locale(locale) or LOCALES[0]
    response = redirect(safe_next(next))
    response.set_cookie(
        LOCALE_COOKIE,
        chosen,
        max_age=LANGUAGE_COOKIE_AGE,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
    )
    return response


@pages.get("/signin")
def signin_form(request: Request, next: str = "/") -> HTMLResponse:
    """The sign-in page."""
    return render_page(
        request, "core/signin.html", {"values": {"next": safe_next(next)}, "errors": {}}
    )


@pages.post("/signin", response_model=None)
def signin(
    request: Request,
    session: DbSession,
    now: Now,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the credentials and start a session."""
    settings = request.app.state.settings
    try:
        user = authenticate(
            session,
            email=email,
            password=password,
            client_ip=client_ip(request),
            now=now,
            max_failures=settings.signin_max_failures,
            lockout=dt.timedelta(minutes=settings.signin_lockout_minutes),
        )
    except DomainError as error:
        session.commit()  # failed attempts must be counted even though sign-in failed
        return _form_error(
            request, "core/signin.html", error, {"email": email, "next": safe_next(next)}
        )
    session.commit()
    sign_in(request, user)
    flash(request, N_("Welcome, %(name)s."), name=user.full_name)
    return redirect(safe_next(next))


@pages.post("/signout")
def signout(request: Request, session: DbSession) -> RedirectResponse:
    """End the session."""
    sign_out(request, session)
    session.commit()
    flash(request, N_("You have signed out."), "info")
    return redirect("/")


def _account_context(request: Request, session: Session, user: User) -> dict[str, object]:
    settings = request.app.state.settings
    return {
        "tokens": list_api_tokens(session, user=user),
        "sessions": list_open_sessions(
            session,
            user=user,
            now=utcnow(),
            idle=dt.timedelta(minutes=settings.session_idle_minutes),
            absolute=dt.timedelta(hours=settings.session_absolute_hours),
        ),
        "current_session": hash_token(current_session_key(request) or ""),
        "role_labels": ROLE_LABELS,
        "new_token": None,
    }


@pages.get("/account")
def account(request: Request, session: DbSession, user: SignedIn) -> HTMLResponse:
    """The person's own account: profile, password, sessions and API tokens."""
    return render_page(
        request, "core/account.html", {**_account_context(request, session, user), "errors": {}}
    )


@pages.post("/account/password", response_model=None)
def account_password(
    request: Request,
    session: DbSession,
    user: SignedIn,
    now: Now,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
) -> Response:
    """Change one's own password; the person's other sessions end."""
    try:
        change_password(
            session,
            user=user,
            current_password=current_password,
            new_password=new_password,
            now=now,
            keep_session=current_session_key(request),
        )
    except DomainError as error:
        return _form_error(
            request, "core/account.html", error, {}, **_account_context(request, session, user)
        )
    session.commit()
    flash(request, N_("Your password has been changed."))
    return redirect("/account")


@pages.post("/account/sessions/end-others")
def account_sessions_end_others(
    request: Request, session: DbSession, user: SignedIn, now: Now
) -> RedirectResponse:
    """Sign out of every other device, keeping this session."""
    ended = sign_out_other_sessions(
        session, user=user, current=current_session_key(request), now=now
    )
    session.commit()
    flash(request, N_("Other sessions signed out: %(count)s."), count=ended)
    return redirect("/account")


@pages.post("/account/tokens", response_model=None)
def account_token_create(
    request: Request,
    session: DbSession,
    once: Once,
    user: SignedIn,
    now: Now,
    name: Annotated[str, Form()] = "",
) -> Response:
    """Create an API token and show its value once."""
    try:
        _token, plain = issue_api_token(session, user=user, name=name, now=now)
    except DomainError as error:
        return _form_error(
            request,
            "core/account.html",
            error,
            {"name": name},
            **_account_context(request, session, user),
        )
    once.done("/account", now=now)  # a resend lists the token; its value is shown only once
    session.commit()
    return render_page(
        request,
        "core/account.html",
        {**_account_context(request, session, user), "errors": {}, "new_token": plain},
        status_code=201,
    )


@pages.post("/account/tokens/{token_id}/revoke")
def account_token_revoke(
    request: Request, session: DbSession, user: SignedIn, now: Now, token_id: ObjectId
) -> RedirectResponse:
    """Revoke one of one's own API tokens."""
    revoke_api_token(session, user=user, token_id=token_id, now=now)
    session.commit()
    flash(request, N_("The token has been revoked."))
    return redirect("/account")


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
            base_url=request.app.state.settings.base_url,
            now=now,
        )
    except DomainError as error:
        return _form_error(request, "core/reset_request.html", error, {"email": email})
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


def _token_form(
    request: Request, session: Session, token: str, purpose: TokenPurpose, now: dt.datetime
) -> HTMLResponse:
    try:
        user = check_account_token(session, token=token, purpose=purpose, now=now)
    except DomainError as error:
        return _form_error(request, "core/token_invalid.html", error, {})
    return render_page(request, _token_page(purpose), {"account": user, "errors": {}, "values": {}})


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
        if not error.fields:
            return _form_error(request, "core/token_invalid.html", error, {})
        account_user = check_account_token(session, token=token, purpose=purpose, now=now)
        return _form_error(request, _token_page(purpose), error, {}, account=account_user)
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


@pages.get("/admin/users")
def users_page(request: Request, session: DbSession, user: Staff) -> HTMLResponse:
    """The secretariat's list of accounts and the invitation form."""
    return render_page(
        request,
        "core/users.html",
        {
            "users": list_users(session),
            "role_labels": ROLE_LABELS,
            "invitable_roles": INVITABLE_ROLES,
            "values": {},
            "errors": {},
        },
    )


@pages.post("/admin/users/invite", response_model=None)
def users_invite(
    request: Request,
    session: DbSession,
    once: Once,
    user: Staff,
    now: Now,
    email: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    locale: Annotated[str, Form()] = "es_MX",
) -> Response:
    """Invite a person by e-mail."""
    values = {"email": email, "full_name": full_name, "role": role, "locale": locale}
    try:
        if not full_name.strip():
            raise Invalid(fields={"full_name": N_("Enter the person's name.")})
        if role not in {r.value for r in INVITABLE_ROLES}:
            raise Invalid(fields={"role": N_("Choose a role.")})
        invite_user(
            session,
            actor=user,
            email=email,
            full_name=full_name,
            role=Role(role),
            locale=normalize_locale(locale) or "es_MX",
            base_url=request.app.state.settings.base_url,
            now=now,
        )
    except DomainError as error:
        return _form_error(
            request,
            "core/users.html",
            error,
            values,
            users=list_users(session),
            role_labels=ROLE_LABELS,
            invitable_roles=INVITABLE_ROLES,
        )
    once.done("/admin/users", now=now)
    session.commit()
    flash(request, N_("An invitation has been sent to %(email)s."), email=email)
    return redirect("/admin/users")


@pages.post("/admin/users/{user_id}/signout")
def users_sign_out_everywhere(
    request: Request, session: DbSession, user: Staff, now: Now, user_id: ObjectId
) -> RedirectResponse:
    """End every session of an account at once."""
    ended = sign_out_everywhere(session, actor=user, user_id=user_id, now=now)
    session.commit()
    flash(request, N_("Sessions signed out: %(count)s."), count=ended)
    return redirect("/admin/users")


@api.get("/me", response_model=UserOut)
def api_me(user: SignedIn) -> User:
    """The account the bearer token belongs to."""
    return user


@api.get("/users", response_model=Page[UserOut])
def api_users(
    session: DbSession, user: Staff, params: Annotated[PageParams, Depends(page_params)]
) -> Page[UserOut]:
    """Every account (secretariat only)."""
    rows, total = paginate(session, select(User).order_by(User.id), params)
    return Page[UserOut](
        items=[UserOut.model_validate(row) for row in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


@api.post("/users/invitations", response_model=UserOut, status_code=201)
def api_invite(
    request: Request, session: DbSession, user: Staff, now: Now, body: InvitationIn
) -> User:
    """Invite a council member, expert or secretariat colleague by e-mail."""
    invited = invite_user(
        session,
        actor=user,
        email=body.email,
        full_name=body.full_name,
        role=body.role,
        locale=normalize_locale(body.locale) or "es_MX",
        base_url=request.app.state.settings.base_url,
        now=now,
    )
    session.commit()
    return invited
