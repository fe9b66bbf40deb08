"""Who is calling: session and bearer-token principals, role requirements and CSRF protection."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, object_session
from starlette.concurrency import run_in_threadpool

from core.accounts import (
    Role,
    User,
    end_session,
    start_session,
    token_use_due,
    user_for_api_token,
    user_for_session,
)
from core.db import SAFE_METHODS, get_session, is_write_request, side_session, utcnow
from core.errors import N_, Forbidden, Unauthenticated

logger = logging.getLogger("council.auth")

SESSION_KEY = "sid"
CSRF_SESSION_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])


def is_api_request(request: Request) -> bool:
    """Whether the request belongs to the JSON API (errors as JSON, bearer authentication)."""
    return str(request.scope["path"]).startswith("/api/")  # not request.url: built on demand


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def client_ip(request: Request) -> str:
    """The caller's address, as sessions, tokens and rate limits record it.

    The server rewrites it from X-Forwarded-For only for the proxies in TRUSTED_PROXIES
    (`council serve`), so a client cannot choose its own address.
    """
    return request.client.host if request.client else "unknown"


def _commit_quietly(session: Session) -> None:
    # Bookkeeping of a read (last seen, last use): losing it must never fail the request.
    try:
        session.commit()
    except SQLAlchemyError:
        logger.warning("could not record session or token use", exc_info=True)
        session.rollback()


async def load_principal(
    request: Request, session: Annotated[Session, Depends(get_session)]
) -> None:
    """Find who is calling: session cookie for pages, bearer token for the API.

    An anonymous request (no session key, no token) is answered here, on the event loop: it
    needs neither a thread nor the database. Credentials are checked in a worker thread.
    """
    request.state.user = None
    if is_api_request(request):
        anonymous = _bearer_token(request) is None
    else:
        anonymous = request.session.get(SESSION_KEY) is None
    if not anonymous:
        request.state.user = await run_in_threadpool(_load_user, request, session)
    elif is_write_request(request) and session.in_transaction():
        # A fresh session never is; one a test shares with its requests may be (see below).
        await run_in_threadpool(session.commit)


def _load_user(request: Request, session: Session) -> User | None:
    """The person behind the request's session key or bearer token (None when not valid)."""
    user: User | None = None
    if is_api_request(request):
        token = _bearer_token(request)
        if token:
            user = _user_for_token(request, session, token)
            if user is None:
                raise Unauthenticated(N_("The API token is not valid or was revoked."))
    else:
        key = request.session.get(SESSION_KEY)
        if key is not None:
            settings = request.app.state.settings
            user = user_for_session(
                session,
                str(key),
                now=utcnow(),
                idle=dt.timedelta(minutes=settings.session_idle_minutes),
                absolute=dt.timedelta(hours=settings.session_absolute_hours),
            )
            if user is None:
                request.session.pop(SESSION_KEY, None)
            elif session.dirty:
                _record_use(request, session)
    if is_write_request(request) and session.in_transaction():
        # On SQLite a writing request's transaction holds the database's write lock; the body
        # (an upload, perhaps over a slow link) is read next, so release it until the route.
        session.commit()
    return user


def _record_use(request: Request, session: Session) -> None:
    """Keep a session's last sighting (written every few minutes) without failing the page."""
    if is_write_request(request):
        session.commit()  # the request writes anyway, under the write lock it already holds
        return
    # A read holds no write lock: on SQLite its upgrade to a write can be refused when another
    # request committed first. The bookkeeping is then lost, never the page.
    _commit_quietly(session)


def _user_for_token(request: Request, session: Session, token: str) -> User | None:
    now, ip = utcnow(), client_ip(request)
    if is_write_request(request):
        user = user_for_api_token(session, token, now=now, client_ip=ip)
        session.commit()  # the token's use is kept even if the request then fails
        return user
    if token_use_due(session, token, now=now, client_ip=ip):
        # A read must not write in its own transaction (see _record_use): the token's use and
        # its audit event go in a short writing transaction beside it, and the read gives back
        # its connection meanwhile, so a burst of such reads cannot exhaust the pool (the
        # transaction has only read: ending it writes nothing).
        session.commit()
        with side_session(session) as writer:
            user_for_api_token(writer, token, now=now, client_ip=ip)
            _commit_quietly(writer)
    return user_for_api_token(session, token, now=now, client_ip=ip, record_use=False)


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
    """Start a recorded session for the person (committed here: callers committed their change).

    A fresh CSRF token prevents session fixation reuse.
    """
    session = object_session(user)
    assert session is not None, "sign_in needs the account loaded in the request's session"
    key = start_session(
        session,
        user=user,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        now=utcnow(),
    )
    session.commit()
    request.session.clear()
    request.session[SESSION_KEY] = key
    request.session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)


def current_session_key(request: Request) -> str | None:
    """The key of the visitor's own recorded session, if signed in."""
    key = request.session.get(SESSION_KEY)
    return str(key) if key is not None else None


def sign_out(request: Request, session: Session) -> None:
    """End the session on the server, so a copy of the cookie is worth nothing, and forget it."""
    key = current_session_key(request)
    if key is not None:
        end_session(session, token=key, now=utcnow())
    request.session.clear()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (anonymous visitors have one too)."""
    token = request.session.get(CSRF_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_SESSION_KEY] = token
    return str(token)


class LazyCsrfToken:
    """The session's CSRF token as a page's templates see it: made only when a form writes it.

    An anonymous reader of a page without such a form gets no token, so the session stays empty
    and no session cookie is set (the page can then be cached and served without session work).
    """

    __slots__ = ("_request",)

    def __init__(self, request: Request) -> None:
        self._request = request

    def __str__(self) -> str:
        return csrf_token(self._request)

    def __html__(self) -> str:
        # URL-safe base64: nothing in it needs escaping inside an attribute.
        return csrf_token(self._request)

    def __bool__(self) -> bool:
        return True


_CSRF_EXEMPT_MARK = "__council_csrf_exempt__"


def csrf_exempt(endpoint: EndpointT) -> EndpointT:
    """Mark a form route that needs no CSRF token (its origin is still checked).

    Only for a route whose forged request can do no harm: it changes nothing on the server and
    nothing the visitor could not undo with one click (the language preference cookie).
    """
    setattr(endpoint, _CSRF_EXEMPT_MARK, True)
    return endpoint


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _origin(url: str, *, loopback_as_one: bool = False) -> str:
    """scheme://host[:port] of a URL, lower case, without the scheme's default port."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if loopback_as_one and host in LOOPBACK_HOSTS:
        host = "loopback"
    try:
        port = parts.port
    except ValueError:
        return "invalid"
    if port is None or (scheme, port) in {("http", 80), ("https", 443)}:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _check_origin(request: Request) -> None:
    """Refuse an unsafe request that says it comes from a page of another site."""
    sent_from = request.headers.get("origin")
    if sent_from is None:
        referer = request.headers.get("referer")
        if not referer:
            return  # neither sent (privacy settings): the CSRF token alone decides
        sent_from = referer
    base_url = request.app.state.settings.base_url
    # A service on this machine only (the demo, development) is as often opened at localhost
    # as at 127.0.0.1: any loopback name is the same site there, and only there.
    local = urlsplit(base_url).hostname in LOOPBACK_HOSTS
    if _origin(sent_from, loopback_as_one=local) != _origin(base_url, loopback_as_one=local):
        raise Forbidden(
            N_(
                "The form was sent from another site, so it was refused. "
                "Open the page on this site and send it again."
            )
        )


async def verify_csrf(request: Request) -> None:
    """Refuse unsafe page requests from another site, or whose form or header lacks the token."""
    if request.method in SAFE_METHODS or is_api_request(request):
        return
    _check_origin(request)
    if getattr(request.scope.get("endpoint"), _CSRF_EXEMPT_MARK, False):
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


async def admit_request(
    request: Request, session: Annotated[Session, Depends(get_session)]
) -> None:
    """Every route's first step: who is calling, then whether an unsafe request may go on.

    One dependency rather than two: every request resolves it, so it is resolved once.
    """
    await load_principal(request, session)
    await verify_csrf(request)


def now_utc() -> dt.datetime:
    """The request's clock; a dependency so tests can pin time."""
    return utcnow()


Now = Annotated[dt.datetime, Depends(now_utc)]
