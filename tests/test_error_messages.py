"""What each domain error says to people, in Spanish and in English, as a page and as JSON."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.errors import (
    N_,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from core.storage import FileTooLarge

Raise = Callable[[], DomainError]
# Each error as the services raise it, with what a Spanish and an English reader see.
ERRORS: dict[str, tuple[Raise, int, str, str, str]] = {
    "bad_request": (
        DomainError,
        400,
        "bad_request",
        "No fue posible procesar la solicitud.",
        "The request could not be processed.",
    ),
    "forbidden": (
        Forbidden,
        403,
        "forbidden",
        "No tiene permiso para realizar esta acción.",
        "You are not allowed to do this.",
    ),
    "not_found": (
        NotFound,
        404,
        "not_found",
        "La página o el objeto que solicitó no existe.",
        "The page or object you asked for does not exist.",
    ),
    "conflict": (
        Conflict,
        409,
        "conflict",
        "Este cambio entra en conflicto con el estado actual del objeto.",
        "This change conflicts with the current state of the object.",
    ),
    "invalid": (
        Invalid,
        422,
        "invalid",
        "Parte de la información proporcionada no es válida.",
        "Some of the information given is not valid.",
    ),
    "rate_limited": (
        lambda: RateLimited(minutes=15),
        429,
        "rate_limited",
        "Demasiados intentos. Por favor, espere 15 minutos e inténtelo de nuevo.",
        "Too many attempts. Please wait 15 minutes and try again.",
    ),
    "too_large": (
        lambda: FileTooLarge(N_("The file is larger than the limit of %(limit)s MB."), limit="10"),
        422,
        "invalid",
        "El archivo supera el límite de 10 MB.",
        "The file is larger than the limit of 10 MB.",
    ),
    "status_in_message": (
        lambda: Conflict(
            N_("The application is %(status)s; it cannot become %(target)s."),
            status=N_("Submitted"),
            target=N_("Decided"),
        ),
        409,
        "conflict",
        "La solicitud está en estado «Enviada»; no puede pasar a «Resuelta».",
        "The application is Submitted; it cannot become Decided.",
    ),
}
LANGUAGES = {"es": "es-MX,es;q=0.9", "en": "en-US,en;q=0.9"}
SIGN_IN = {
    "es": "Necesita iniciar sesión para continuar.",
    "en": "You need to sign in to continue.",
}
FIELD = {
    "es": "Indique lo que la organización debe completar o corregir.",
    "en": "Say what the organisation must complete or correct.",
}


def _raise(name: str) -> None:
    if name == "unauthenticated":
        raise Unauthenticated()
    if name == "fields":
        raise Invalid(fields={"reason": N_("Say what the organisation must complete or correct.")})
    raise ERRORS[name][0]()


@pytest.fixture
def raising_client(app: FastAPI, client: TestClient) -> TestClient:
    """The real application plus a route raising each error, as a page and under /api/."""
    app.add_api_route("/api/v1/test-errors/{name}", _raise)
    app.add_api_route("/test-errors/{name}", _raise)
    return client


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_each_error_is_told_in_the_readers_language(
    raising_client: TestClient, language: str
) -> None:
    headers = {"Accept-Language": LANGUAGES[language]}
    for name, (_error, status, code, spanish, english) in ERRORS.items():
        detail = spanish if language == "es" else english
        response = raising_client.get(f"/api/v1/test-errors/{name}", headers=headers)
        assert (response.status_code, response.json()) == (
            status,
            {"error": code, "detail": detail},
        ), name
        page = raising_client.get(f"/test-errors/{name}", headers=headers)
        lead = BeautifulSoup(page.text, "html.parser").select_one("p.lead")
        assert page.status_code == status, name
        assert lead is not None
        assert lead.get_text(strip=True) == detail, name

    response = raising_client.get("/api/v1/test-errors/unauthenticated", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"error": "unauthenticated", "detail": SIGN_IN[language]}

    response = raising_client.get("/api/v1/test-errors/fields", headers=headers)
    assert response.status_code == 422
    assert response.json()["fields"] == {"reason": FIELD[language]}
