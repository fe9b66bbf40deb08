"""Language choice, catalogs, locale formatting and error pages in both languages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from babel import dates, numbers
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.errors import Conflict, Invalid
from core.i18n import (
    DISPLAY_ZONE,
    LOCALE_DIR,
    MEMO_SIZE,
    Translator,
    negotiate_locale,
    translator,
)
from core.schema import PROJECT_ROOT

PLACEHOLDER = re.compile(r"%\(\w+\)\w")


def _page(client: TestClient, path: str, **headers: str) -> BeautifulSoup:
    return BeautifulSoup(client.get(path, headers=headers).text, "html.parser")


def _lang(page: BeautifulSoup) -> str:
    html = page.find("html")
    assert html is not None
    return str(html["lang"])


def _h1(page: BeautifulSoup) -> str:
    assert page.h1 is not None
    return page.h1.get_text(strip=True)


def test_home_is_spanish_by_default(client: TestClient) -> None:
    page = _page(client, "/")
    assert _lang(page) == "es-MX"
    assert _h1(page) == "Consejo de Ética de la Inteligencia Artificial de México"


def test_accept_language_english_gives_english(client: TestClient) -> None:
    page = _page(client, "/", **{"Accept-Language": "en-US,en;q=0.9"})
    assert _lang(page) == "en"
    assert _h1(page) == "AI Ethics Council of Mexico"


def test_unsupported_language_falls_back_to_spanish(client: TestClient) -> None:
    assert _lang(_page(client, "/", **{"Accept-Language": "fr-FR,de;q=0.8"})) == "es-MX"


def test_explicit_choice_beats_the_browser(client: TestClient) -> None:
    response = client.post("/language", data={"locale": "en", "next": "/signin"})
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"
    page = _page(client, "/signin", **{"Accept-Language": "es-MX"})
    assert _lang(page) == "en"
    assert _h1(page) == "Sign in"
    client.post("/language", data={"locale": "es_MX", "next": "/"})
    assert _h1(_page(client, "/signin")) == "Iniciar sesión"


def test_language_switch_refuses_foreign_redirects(client: TestClient) -> None:
    response = client.post("/language", data={"locale": "en", "next": "https://evil.example/"})
    assert response.headers["location"] == "/"
    response = client.post("/language", data={"locale": "en", "next": "//evil.example/"})
    assert response.headers["location"] == "/"


def test_the_language_form_needs_no_token_and_starts_no_session(client: TestClient) -> None:
    home = client.get("/")
    form = BeautifulSoup(home.text, "html.parser").find("form", action="/language")
    assert form is not None
    assert form.find("input", attrs={"name": "csrf_token"}) is None
    response = client.post("/language", data={"locale": "en", "next": "/"})
    assert response.status_code == 303
    assert response.headers["set-cookie"].startswith("lang=en")
    assert "ceia_session" not in client.cookies


def test_the_language_form_is_refused_from_another_site(client: TestClient) -> None:
    response = client.post(
        "/language",
        data={"locale": "en", "next": "/"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert "lang" not in client.cookies


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "es_MX"),
        (None, "en", "en"),
        (None, "es-ES", "es_MX"),
        ("en", "es", "en"),
        ("xx", "en;q=0.4, es;q=0.9", "es_MX"),
        (None, "de, en;q=0.5", "en"),
    ],
)
def test_negotiate_locale(cookie: str | None, header: str | None, expected: str) -> None:
    assert negotiate_locale(cookie, header, "es_MX") == expected


def test_dates_and_numbers_follow_the_locale() -> None:
    day = dt.date(2026, 11, 25)
    assert translator("es_MX").format_date(day) == "25 de noviembre de 2026"
    assert translator("en").format_date(day) == "November 25, 2026"
    assert translator("es_MX").format_number(1234567.5) == "1,234,567.5"
    moment = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC)  # noon in Mexico City
    assert "12:00" in translator("es_MX").format_datetime(moment)


def _catalog(locale: str) -> dict[str, tuple[str, ...]]:
    """Each msgid (the singular of a plural entry) with its translated form(s)."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    entries: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        forms = (
            (message.string,) if isinstance(message.string, str) else tuple(message.string or ())
        )
        entries[msgid] = forms
    return entries


def test_spanish_catalog_is_complete_and_keeps_placeholders() -> None:
    untranslated = []
    broken = []
    for msgid, forms in _catalog("es_MX").items():
        if not all(forms):
            untranslated.append(msgid)
        # Plural forms may add %(num)d; named placeholders of the msgid must all survive.
        elif any(not set(PLACEHOLDER.findall(msgid)) <= set(PLACEHOLDER.findall(f)) for f in forms):
            broken.append(msgid)
    assert untranslated == []
    assert broken == []


def test_every_message_in_the_code_is_in_the_catalogs() -> None:
    method_map = [
        ("**/.venv/**", "ignore"),
        ("mutants/**", "ignore"),  # bin/mutate's mutated copy of the project
        ("**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),
    ]
    found = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(PROJECT_ROOT),
            method_map,
            keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None},
        )
    }
    for locale in ("es_MX", "en"):
        missing = sorted(found - set(_catalog(locale)))
        assert missing == [], f"run pybabel extract/update: {locale} lacks {missing[:5]}"


def _raising_app(app: FastAPI) -> FastAPI:
    @app.get("/boom-conflict")
    def boom_conflict() -> None:
        raise Conflict()

    @app.get("/boom-invalid")
    def boom_invalid() -> None:
        raise Invalid()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("bug")

    return app


@pytest.mark.parametrize(
    ("path", "status", "spanish", "english"),
    [
        ("/no-such-page", 404, "Página no encontrada", "Page not found"),
        ("/admin/users", 303, None, None),
        ("/boom-conflict", 409, "Conflicto", "Conflict"),
        ("/boom-invalid", 422, "Información no válida", "Invalid information"),
        ("/boom", 500, "Algo salió mal", "Something went wrong"),
    ],
)
def test_error_pages_in_both_languages(
    app: FastAPI, path: str, status: int, spanish: str | None, english: str | None
) -> None:
    client = TestClient(_raising_app(app), raise_server_exceptions=False, follow_redirects=False)
    for language, title in (("es-MX", spanish), ("en", english)):
        response = client.get(path, headers={"Accept-Language": language})
        assert response.status_code == status
        if title is not None:
            page = BeautifulSoup(response.text, "html.parser")
            assert _h1(page) == title
            assert _lang(page) == ("es-MX" if language == "es-MX" else "en")


def test_forbidden_page_in_both_languages(client: TestClient) -> None:
    client.get("/")
    for language, title in (("es-MX", "Acceso denegado"), ("en", "Access denied")):
        response = client.post(
            "/signin", data={"email": "x@example.mx"}, headers={"Accept-Language": language}
        )
        assert response.status_code == 403
        assert _h1(BeautifulSoup(response.text, "html.parser")) == title


def test_api_errors_are_json_in_the_callers_language(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Page not found"}
    response = client.get("/api/v1/me", headers={"Accept-Language": "es-MX"})
    assert response.status_code == 401
    assert response.json() == {
        "error": "unauthenticated",
        "detail": "Necesita iniciar sesión para continuar.",
    }


# --- issue 10: formats built once per locale, the same text as Babel's ----------------------


@pytest.mark.parametrize("locale", ["es_MX", "en"])
def test_remembered_formats_write_what_babel_writes(locale: str) -> None:
    tr = Translator(locale)
    start = dt.datetime(2026, 3, 1, 6, 0, 0, 250_000, tzinfo=dt.UTC)
    # Across the days around a change of Mexico City's offset history, twice each (remembered).
    moments = [start + dt.timedelta(hours=5 * i, seconds=i) for i in range(60)] * 2
    for moment in moments:
        for fmt in ("full", "long", "medium", "short", "MMMM y"):
            day = moment.astimezone(DISPLAY_ZONE).date()
            assert tr.format_date(moment, fmt) == dates.format_date(day, fmt, locale=locale)
            assert tr.format_datetime(moment, fmt) == dates.format_datetime(
                moment, fmt, tzinfo=DISPLAY_ZONE, locale=locale
            )
        assert tr.format_datetime(moment, "HH:mm:ss.SSS") == dates.format_datetime(
            moment, "HH:mm:ss.SSS", tzinfo=DISPLAY_ZONE, locale=locale
        )
    for number in (0, 7, 1234, -1_234_567, 1.5, 1234.5678):
        assert tr.format_number(number) == numbers.format_decimal(number, locale=locale)
    assert tr.format_date(None) == tr.format_datetime(None) == ""


def test_remembered_days_stay_bounded() -> None:
    tr = Translator("es_MX")
    first = dt.date(2000, 1, 1)
    for offset in range(MEMO_SIZE + 10):
        tr.format_date(first + dt.timedelta(days=offset))
    assert len(tr._days) <= MEMO_SIZE
    assert tr.format_date(first) == "1 de enero de 2000"
