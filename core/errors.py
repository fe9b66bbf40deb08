"""Typed domain errors; each carries its HTTP status and a translatable message."""

from __future__ import annotations

from typing import Any, ClassVar


def N_(message: str) -> str:
    """Mark a string for the catalog without translating it yet (it is translated when shown)."""
    return message


class DomainError(Exception):
    """A broken rule of the council's domain, shown to the user in their language."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = N_("The request could not be processed.")

    def __init__(self, message: str | None = None, **params: Any) -> None:
        self.message = message or self.default_message
        self.params = params
        super().__init__(self.message % params if params else self.message)


class Unauthenticated(DomainError):
    """The caller must sign in (pages redirect to sign-in, the API answers 401)."""

    status_code = 401
    code = "unauthenticated"
    default_message = N_("You need to sign in to continue.")


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    status_code = 403
    code = "forbidden"
    default_message = N_("You are not allowed to do this.")


class NotFound(DomainError):
    """The object does not exist, or the caller may not know it exists."""

    status_code = 404
    code = "not_found"
    default_message = N_("The page or object you asked for does not exist.")


class Conflict(DomainError):
    """The change clashes with the object's current state."""

    status_code = 409
    code = "conflict"
    default_message = N_("This change conflicts with the current state of the object.")


class Invalid(DomainError):
    """The input breaks a rule; `fields` maps field names to messages."""

    status_code = 422
    code = "invalid"
    default_message = N_("Some of the information given is not valid.")

    def __init__(
        self, message: str | None = None, *, fields: dict[str, str] | None = None, **params: Any
    ) -> None:
        super().__init__(message, **params)
        self.fields = fields or {}


class RateLimited(DomainError):
    """Too many attempts in a short time."""

    status_code = 429
    code = "rate_limited"
    default_message = N_("Too many attempts. Please wait %(minutes)s minutes and try again.")


class ServiceUnavailable(DomainError):
    """A part of the service cannot work now (its set-up is missing); nothing the caller did."""

    status_code = 503
    code = "unavailable"
    default_message = N_("This part of the service is not available now. Please try again later.")
