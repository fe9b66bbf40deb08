"""The web layer shared by every package: pages, refused forms, flash messages and errors."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from core.auth import LazyCsrfToken, current_user, is_api_request
from core.db import is_unavailable
from core.errors import N_, DomainError, Invalid, ServiceUnavailable, Unauthenticated
from core.i18n import LOCALE_COOKIE, LOCALES, Translator, negotiate_locale, translator
from core.limits import RequestTooLarge
from core.settings import Settings
from core.signing import CouncilKeys, KeysMissing, load_keys
from core.submissions import AlreadySubmitted
from core.templating import environment

logger = logging.getLogger("council.web")

FLASH_KEY = "flash"

STATUS_TITLES = {
    400: N_("Bad request"),
    401: N_("Sign-in required"),
    403: N_("Access denied"),
    404: N_("Page not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Too large"),
    422: N_("Invalid information"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong"),
    503: N_("Service unavailable"),
}

# Seconds a client should wait before trying again while the database is unavailable.
RETRY_AFTER_SECONDS = 5


def service_settings(request: Request) -> Settings:
    """The settings the running service was created with."""
    settings: Settings = request.app.state.settings
    return settings


# Keys are read from disk once per application; requests arriving together wait for that one read.
_keys_lock = threading.Lock()


KEYS_MISSING = N_(
    "The council's signing keys are not set up, so certificates cannot be signed or checked "
    "now. Please try again later."
)


def council_keys(request: Request) -> CouncilKeys:
    """The council's keys, loaded once per application from `Settings.keys_dir`.

    A rotation (`council keys rotate`) is seen after the service restarts. Without keys the
    request is answered 503 (ServiceUnavailable); they are looked for again on the next one.
    """
    keys: CouncilKeys | None = getattr(request.app.state, "council_keys", None)
    if keys is None:
        with _keys_lock:
            keys = getattr(request.app.state, "council_keys", None)
            if keys is None:
                try:
                    keys = load_keys(service_settings(request).keys_dir)
                except KeysMissing as error:
                    logger.warning("no council keys: %s", error)
                    raise ServiceUnavailable(KEYS_MISSING) from error
                request.app.state.council_keys = keys
    return keys


def translator_for(request: Request) -> Translator:
    """The translator of the request's language (cookie choice, then Accept-Language)."""
    cached: Translator | None = getattr(request.state, "translator", None)
    if cached is None:
        locale = negotiate_locale(
            request.cookies.get(LOCALE_COOKIE),
            request.headers.get("accept-language"),
            service_settings(request).default_locale,
        )
        cached = translator(locale)
        request.state.translator = cached
    return cached


def flash(request: Request, message: str, category: str = "success", **params: Any) -> None:
    """Queue a message (a catalog msgid) for the next page the visitor sees."""
    messages = list(request.session.get(FLASH_KEY, []))
    messages.append([category, message, params])
    request.session[FLASH_KEY] = messages


def _pop_flashes(request: Request, tr: Translator) -> list[tuple[str, str]]:
    raw = request.session.pop(FLASH_KEY, [])
    return [(category, tr.gettext(message, **params)) for category, message, params in raw]


@dataclass
class NavLink:
    """One entry of the role-dependent navigation."""

    href: str
    label: str
    roles: tuple[str, ...] = field(default_factory=tuple)


def page_context(request: Request) -> dict[str, Any]:
    """What every page's layout needs: language, user, navigation, CSRF token, flash messages."""
    tr = translator_for(request)
    if "session" not in request.scope:  # errors raised outside the session middleware
        return {
            **tr.as_dict(),
            "request": request,
            "locale": tr.locale,
            "html_lang": tr.html_lang,
            "locales": LOCALES,
            "user": None,
            "nav": [],
            "csrf_token": "",
            "flashes": [],
            "current_path": request.url.path,
            "next_url": "/",
        }
    user = current_user(request)
    nav_entries: list[NavLink] = request.app.state.navigation
    nav = [
        link
        for link in nav_entries
        if not link.roles
        or (user is not None and ("*" in link.roles or user.has_role(*link.roles)))  # type: ignore[arg-type]
    ]
    return {
        **tr.as_dict(),
        "request": request,
        "locale": tr.locale,
        "html_lang": tr.html_lang,
        "locales": LOCALES,
        "user": user,
        "nav": nav,
        # Lazy: the token (and so the session cookie) exists only once a form on the page needs it.
        "csrf_token": LazyCsrfToken(request),
        "flashes": _pop_flashes(request, tr),
        "current_path": request.url.path,
        "next_url": quote(
            str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
        ),
    }


def render_page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page in the visitor's language with the layout's shared context."""
    full = {**page_context(request), **(context or {})}
    html = environment().get_template(template).render(**full)
    return HTMLResponse(html, status_code=status_code)


async def form_data(request: Request) -> FormData:
    """The submitted form, read once (sync routes take it as a dependency)."""
    return await request.form()


SubmittedForm = Annotated[FormData, Depends(form_data)]


def field_text(form: FormData, name: str) -> str:
    """A submitted text field, stripped; empty when absent or when a file came instead."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def field_list(form: FormData, name: str) -> list[str]:
    """Every text value submitted under one name (checkboxes, multiple selects)."""
    return [value for value in form.getlist(name) if isinstance(value, str)]


def form_values(form: FormData) -> dict[str, str]:
    """What the user typed, to fill a form again: text fields only, without the CSRF token."""
    # Empty fields are left out: optional ones take their defaults and stay empty when shown.
    return {
        key: value
        for key in form
        if key != "csrf_token" and isinstance(value := form.get(key), str) and value
    }


@dataclass
class PageForm:
    """A form on a page: what it holds when shown again, and why it was refused."""

    name: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""

    def context(self) -> dict[str, Any]:
        """The names the shared field macros read: values, errors and a whole-form message."""
        return {
            "form": self,
            "values": self.values,
            "errors": self.errors,
            "form_error": self.message if self.message and not self.errors else None,
        }


def refuse_form(
    request: Request,
    session: Session,
    error: DomainError,
    values: Mapping[str, Any],
    *,
    name: str = "",
    on_field: str | None = None,
) -> PageForm:
    """Undo the refused write and describe the form to show again, in the visitor's language.

    A refusal without field messages is shown on `on_field` when given (a conflict about one
    field), otherwise as one message for the whole form.
    """
    session.rollback()
    errors = error_fields(request, error) if isinstance(error, Invalid) else {}
    message = error_message(request, error)
    if not errors and on_field:
        errors = {on_field: message}
    return PageForm(name=name, values=dict(values), errors=errors, message=message)


def render_refused(
    request: Request,
    session: Session,
    error: DomainError,
    template: str,
    values: Mapping[str, Any],
    context: Mapping[str, Any] | None = None,
    *,
    name: str = "",
    on_field: str | None = None,
) -> HTMLResponse:
    """A refused form's page again, with what was typed and the messages, at the error's status.

    Pages whose other content must be loaded again after the rollback call `refuse_form` first
    and build their context from the fresh session.
    """
    form = refuse_form(request, session, error, values, name=name, on_field=on_field)
    return render_page(
        request, template, {**(context or {}), **form.context()}, status_code=error.status_code
    )


def redirect(url: str) -> RedirectResponse:
    """The 303 redirect that ends every successful form post."""
    return RedirectResponse(url, status_code=303)


def _translated_params(tr: Translator, error: DomainError) -> dict[str, Any]:
    # String parameters may be msgids themselves (a status name, a role).
    return {k: tr.gettext(v) if isinstance(v, str) else v for k, v in error.params.items()}


def error_fields(request: Request, error: Invalid) -> dict[str, str]:
    """An Invalid error's field messages, translated for the request."""
    tr = translator_for(request)
    params = _translated_params(tr, error)
    return {name: tr.gettext(message, **params) for name, message in error.fields.items()}


def error_message(request: Request, error: DomainError) -> str:
    """A domain error's message, translated for the request."""
    tr = translator_for(request)
    return tr.gettext(error.message, **_translated_params(tr, error))


def _error_response(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    extra = dict(headers or {})
    if is_api_request(request):
        if status == 401:
            extra["WWW-Authenticate"] = "Bearer"
        return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=extra)
    tr = translator_for(request)
    title = tr.gettext(STATUS_TITLES.get(status, STATUS_TITLES[400]))
    candidates = [f"errors/{status}.html", "errors/error.html"]
    template = environment().select_template(candidates)
    context = {**page_context(request), "status": status, "title": title, "detail": detail}
    return HTMLResponse(template.render(**context), status_code=status, headers=extra)


async def handle_domain_error(request: Request, exc: Exception) -> Response:
    """Render a typed domain error as a page or as JSON."""
    assert isinstance(exc, DomainError)
    if isinstance(exc, Unauthenticated) and not is_api_request(request):
        flash(request, exc.message, "info")
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/signin?next={target}", status_code=303)
    detail = error_message(request, exc)
    if isinstance(exc, Invalid) and exc.fields and is_api_request(request):
        return JSONResponse(
            {"error": exc.code, "detail": detail, "fields": error_fields(request, exc)},
            status_code=exc.status_code,
        )
    return _error_response(request, exc.status_code, exc.code, detail)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    """Render framework HTTP errors (unknown route, wrong method) in the house format."""
    assert isinstance(exc, StarletteHTTPException)
    tr = translator_for(request)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
    if isinstance(exc, RequestTooLarge):
        detail = tr.gettext(exc.message, size=exc.size_mb)
    elif exc.status_code == 400:  # a body that could not be parsed (malformed JSON, a broken form)
        detail = tr.gettext(N_("The request body could not be read."))
    else:
        detail = tr.gettext(STATUS_TITLES.get(exc.status_code, STATUS_TITLES[400]))
    code = codes.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return _error_response(request, exc.status_code, code, detail, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (the router names only the first route's)."""
    routes = request.app.router.routes
    return [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    """Malformed input that never reached a service: 422 with the fields named."""
    assert isinstance(exc, RequestValidationError)
    tr = translator_for(request)
    detail = tr.gettext(Invalid.default_message)
    if is_api_request(request):
        fields = {
            ".".join(str(part) for part in err["loc"][1:]) or "body": str(err["msg"])
            for err in exc.errors()
        }
        return JSONResponse(
            {"error": "invalid", "detail": detail, "fields": fields}, status_code=422
        )
    return _error_response(request, 422, "invalid", detail)


async def handle_unexpected_error(request: Request, exc: Exception) -> Response:
    """A bug: log it and answer 500 without leaking internals."""
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    detail = translator_for(request).gettext(
        N_("An unexpected error occurred. It has been logged; please try again later.")
    )
    return _error_response(request, 500, "server_error", detail)


async def handle_database_error(request: Request, exc: Exception) -> Response:
    """A database that cannot serve now answers 503 with Retry-After; other database errors 500.

    Handled here rather than by the catch-all, which makes the server drop the connection.
    """
    if not is_unavailable(exc):
        return await handle_unexpected_error(request, exc)
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    detail = translator_for(request).gettext(
        N_("The service is briefly unavailable. Please try again in a few moments.")
    )
    return _error_response(
        request,
        503,
        "unavailable",
        detail,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def handle_repeated_submission(request: Request, exc: Exception) -> Response:
    """A create form sent a second time: show what the first send produced, create nothing."""
    assert isinstance(exc, AlreadySubmitted)
    flash(request, exc.message, "info")
    return RedirectResponse(exc.result_url, status_code=303)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through the house handlers."""
    app.add_exception_handler(AlreadySubmitted, handle_repeated_submission)
    app.add_exception_handler(DomainError, handle_domain_error)
    app.add_exception_handler(DBAPIError, handle_database_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(Exception, handle_unexpected_error)
