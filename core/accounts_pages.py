"""Account pages: language choice, sign-in, the account page, sessions, API tokens, users."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.routing import Match

from core.account_list import STATE_LABELS as ACCOUNT_STATE_LABELS
from core.account_list import list_users, user_filters
from core.account_list import state_of as account_state
from core.accounts import (
    INVITABLE_ROLES,
    ROLE_LABELS,
    ApiToken,
    Role,
    User,
    UserSession,
    authenticate,
    change_password,
    hash_token,
    invitation_role,
    invite_user,
    issue_api_token,
    list_api_tokens,
    list_open_sessions,
    revoke_api_token,
    set_language,
    sign_out_everywhere,
    sign_out_other_sessions,
)
from core.api import ObjectId
from core.auth import (
    Now,
    SignedIn,
    Staff,
    client_ip,
    csrf_exempt,
    current_session_key,
    sign_in,
    sign_out,
)
from core.db import get_session, utcnow
from core.errors import N_, DomainError
from core.i18n import LOCALE_COOKIE, LOCALE_NAMES, LOCALES, normalize_locale
from core.pagination import page_number
from core.submissions import Once
from core.web import flash, redirect, refuse_form, render_page, render_refused, service_settings

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def get_address(request: Request, target: str) -> str:
    """The page to go back to: `target` when a page answers GET there, else the nearest above it.

    A form refused with errors is drawn at its POST address; switching language there must not
    lead to a 405 (the typed text comes back through static/language.js).
    """
    path, _, query = target.partition("?")
    while path not in ("", "/"):
        scope = {"type": "http", "path": path, "root_path": "", "method": "GET"}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.routes):
            return f"{path}?{query}" if query else path
        path, query = path.rsplit("/", 1)[0], ""
    return "/"


# Where sign-in leads when no page was asked for (the home page counts as none): the person's
# own dashboard (council/dashboard_pages.py).
DASHBOARD = "/dashboard"


def landing(target: str | None) -> str:
    """Where sign-in leads: the same-site page asked for, else the person's dashboard."""
    chosen = safe_next(target)
    return DASHBOARD if chosen == "/" else chosen


# No CSRF token: the language form is on every page, and a token there would start a session
# (and set its cookie) for every anonymous reader. A forged post can only set this preference
# cookie, which the visitor changes back with one click, and redirect to a path of this site
# (safe_next); its Origin is still checked like every form's.
@pages.post("/language")
@csrf_exempt
def choose_language(
    request: Request, locale: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> RedirectResponse:
    """Remember the visitor's language choice in a cookie."""
    chosen = normalize_locale(locale) or LOCALES[0]
    response = redirect(get_address(request, safe_next(next)))
    response.set_cookie(
        LOCALE_COOKIE,
        chosen,
        max_age=LANGUAGE_COOKIE_AGE,
        httponly=True,
        samesite="lax",
        secure=service_settings(request).secure_cookies,
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
    settings = service_settings(request)
    refusal: DomainError | None = None
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
        refusal = error
    session.commit()  # failed attempts must be counted even though sign-in failed
    if refusal is not None:
        values = {"email": email, "next": safe_next(next)}
        return render_refused(request, session, refusal, "core/signin.html", values)
    sign_in(request, user)
    flash(request, N_("Welcome, %(name)s."), name=user.full_name)
    return redirect(landing(next))


@pages.post("/signout")
def signout(request: Request, session: DbSession) -> RedirectResponse:
    """End the session."""
    sign_out(request, session)
    session.commit()
    flash(request, N_("You have signed out."), "info")
    return redirect("/")


@dataclass
class AccountPage:
    """The person's own account page: open sessions, API tokens and a token just created."""

    tokens: list[ApiToken]
    sessions: list[UserSession]
    current_session: str
    new_token: str | None = None

    def context(self) -> dict[str, Any]:
        """The names the account template reads."""
        return {
            "tokens": self.tokens,
            "sessions": self.sessions,
            "current_session": self.current_session,
            "new_token": self.new_token,
            "role_labels": ROLE_LABELS,
        }


def _account_page(
    request: Request, session: Session, user: User, *, new_token: str | None = None
) -> AccountPage:
    """The account page of the signed-in person, with a token's value when one was just made."""
    settings = service_settings(request)
    return AccountPage(
        tokens=list_api_tokens(session, user=user),
        sessions=list_open_sessions(
            session,
            user=user,
            now=utcnow(),
            idle=dt.timedelta(minutes=settings.session_idle_minutes),
            absolute=dt.timedelta(hours=settings.session_absolute_hours),
        ),
        current_session=hash_token(current_session_key(request) or ""),
        new_token=new_token,
    )


def _account_refused(
    request: Request, session: Session, user: User, error: DomainError, values: dict[str, str]
) -> HTMLResponse:
    """The account page again after a refused form, loaded from the rolled-back session."""
    form = refuse_form(request, session, error, values)
    context = {**_account_page(request, session, user).context(), **form.context()}
    return render_page(request, "core/account.html", context, status_code=error.status_code)


@pages.get("/account")
def account(request: Request, session: DbSession, user: SignedIn) -> HTMLResponse:
    """The person's own account: profile, password, sessions and API tokens."""
    context = {**_account_page(request, session, user).context(), "errors": {}}
    return render_page(request, "core/account.html", context)


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
        return _account_refused(request, session, user, error, {})
    session.commit()
    flash(request, N_("Your password has been changed."))
    return redirect("/account")


@pages.post("/account/language", response_model=None)
def account_language(
    request: Request,
    session: DbSession,
    user: SignedIn,
    now: Now,
    locale: Annotated[str, Form()] = "",
) -> Response:
    """Choose the language of one's pages and of the mail the council sends one."""
    try:
        set_language(session, user=user, locale=locale, now=now)
    except DomainError as error:
        return _account_refused(request, session, user, error, {"locale": locale})
    session.commit()
    flash(request, N_("Your language is now %(language)s."), language=LOCALE_NAMES[user.locale])
    response = redirect("/account")
    # These pages follow the choice at once, as the language switch does.
    response.set_cookie(
        LOCALE_COOKIE,
        user.locale,
        max_age=LANGUAGE_COOKIE_AGE,
        httponly=True,
        samesite="lax",
        secure=service_settings(request).secure_cookies,
    )
    return response


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
        return _account_refused(request, session, user, error, {"name": name})
    once.done("/account", now=now)  # a resend lists the token; its value is shown only once
    session.commit()
    context = {**_account_page(request, session, user, new_token=plain).context(), "errors": {}}
    return render_page(request, "core/account.html", context, status_code=201)


@pages.post("/account/tokens/{token_id}/revoke")
def account_token_revoke(
    request: Request, session: DbSession, user: SignedIn, now: Now, token_id: ObjectId
) -> RedirectResponse:
    """Revoke one of one's own API tokens."""
    revoke_api_token(session, user=user, token_id=token_id, now=now)
    session.commit()
    flash(request, N_("The token has been revoked."))
    return redirect("/account")


def _users_context(request: Request, session: Session, actor: User) -> dict[str, Any]:
    """What the users page shows besides its invitation form: a page of accounts and the roles."""
    params = request.query_params
    filters = user_filters(
        text=params.get("q", ""), role=params.get("role", ""), state=params.get("state", "")
    )
    return {
        "users": list_users(
            session, actor=actor, filters=filters, page=page_number(params.get("page"))
        ),
        "filters": filters,
        "filter_values": filters.query(),
        "state_labels": ACCOUNT_STATE_LABELS,
        "state_of": account_state,
        "roles": list(Role),
        "role_labels": ROLE_LABELS,
        "invitable_roles": INVITABLE_ROLES,
    }


@pages.get("/admin/users")
def users_page(request: Request, session: DbSession, user: Staff) -> HTMLResponse:
    """The secretariat's list of accounts and the invitation form."""
    context = {**_users_context(request, session, user), "values": {}, "errors": {}}
    return render_page(request, "core/users.html", context)


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
        invite_user(
            session,
            actor=user,
            email=email,
            full_name=full_name,
            role=invitation_role(full_name=full_name, role=role),
            locale=normalize_locale(locale) or "es_MX",
            base_url=service_settings(request).base_url,
            now=now,
        )
    except DomainError as error:
        form = refuse_form(request, session, error, values)
        context = {**_users_context(request, session, user), **form.context()}
        return render_page(request, "core/users.html", context, status_code=error.status_code)
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
