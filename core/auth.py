"""Who is calling: session and bearer-token principals, role requirements and CSRF protection."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.accounts import ApiToken, Role, User, user_for_api_token
from core.db import SAFE_METHODS, get_session, is_write_request, side_session, utcnow
from core.errors import N_, Forbidden, Unauthenticated

logger = logging.getLogger("council.auth")

SESSION_USER_KEY = "uid"
SESSION_VERSION_KEY = "uv"
CSRF_SESSION_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def is_api_request(request: Request) -> bool:
    """Whether the request belongs to the JSON API (errors as JSON, bearer authentication)."""
    return request.url.path.startswith("/api/")


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def load_principal(request: Request, session: Annotated[Session, Depends(get_session)]) -> None:
    """Find who is calling: session cookie for pages, bearer token for the API."""
    user: User | None = None
    if is_api_request(request):
        token = _bearer_token(request)
        if token:
            user = user_for_api_token(session, token, now=utcnow())
            if user is None:
                raise Unauthenticated(N_("The API token is not valid or was revoked."))
            if session.dirty:
                _record_token_use(request, session)
    else:
        user_id = request.session.get(SESSION_USER_KEY)
        if user_id is not None:
            candidate = session.get(User, user_id)
            version = request.session.get(SESSION_VERSION_KEY)
            if candidate and candidate.is_active and candidate.session_version == version:
                user = candidate
            else:
                request.session.pop(SESSION_USER_KEY, None)
    request.state.user = user


def _record_token_use(request: Request, session: Session) -> None:
    """Keep a token's last use without letting that bookkeeping fail the request."""
    if is_write_request(request):
        session.commit()  # the request writes anyway, under the write lock it already holds
        return
    # A read request must not write in its own transaction: on SQLite the upgrade to a write
    # fails when another request committed since the read began. Record the use in a short
    # write transaction of its own, and let the read go on if even that cannot be done now.
    used = [(t.id, t.last_used_at) for t in session.dirty if isinstance(t, ApiToken)]
    for token in [t for t in session.dirty if isinstance(t, ApiToken)]:
        session.expire(token, ["last_used_at"])
    try:
        with side_session(session) as writer:
            for token_id, used_at in used:
                writer.execute(
                    update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=used_at)
                )
            writer.commit()
    except OperationalError:
        logger.warning("token last use not recorded: the database is busy or unavailable")


def current_user(request: Request) -> User | None:
    """The signed-in person, or None for the anonymous public."""
    user: User | None = getattr(request.state, "user", None)
    return user


def require(*roles: Role) -> Callable[[Request], User]:
    """A dependency that admits signed-in people holding one of `roles` (any role when empty)."""

    def dependency(request: Request) -> User:
        user = current_user(request)
        if user is None:
            raise Unauthenticated()
        if roles and not user.has_role(*roles):
            raise Forbidden()
        return user

    dependency.allowed_roles = roles  # type: ignore[attr-defined]  # read by the access table test
    return dependency


SignedIn = Annotated[User, Depends(require())]
Staff = Annotated[User, Depends(require(Role.secretariat))]
MaybeUser = Annotated[User | None, Depends(current_user)]


def sign_in(request: Request, user: User) -> None:
    """Start a session for the person; a fresh CSRF token prevents session fixation reuse."""
    request.session.clear()
    request.session[SESSION_USER_KEY] = user.id
    request.session[SESSION_VERSION_KEY] = user.session_version
    request.session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    """End the session."""
    request.session.clear()


def refresh_session(request: Request, user: User) -> None:
    """Keep this session valid after its own password change ended the others."""
    request.session[SESSION_VERSION_KEY] = user.session_version


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (anonymous visitors have one too)."""
    token = request.session.get(CSRF_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_SESSION_KEY] = token
    return str(token)


async def verify_csrf(request: Request) -> None:
    """Refuse unsafe page requests whose form or header lacks the session's CSRF token."""
    if request.method in SAFE_METHODS or is_api_request(request):
        return
    expected = request.session.get(CSRF_SESSION_KEY)
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(str(expected), given):
        raise Forbidden(
            N_("The form has expired or was not sent from this site. Please try again.")
        )


def now_utc() -> dt.datetime:
    """The request's clock; a dependency so tests can pin time."""
    return utcnow()


Now = Annotated[dt.datetime, Depends(now_utc)]
