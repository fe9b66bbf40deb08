"""The site's frame: the language switch returns to the page, the home page's links, the privacy
notice and the forms that link it, and the API documentation served from the app itself."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.accounts import Role
from core.headers import SECURITY_HEADERS
from core.i18n import LOCALE_COOKIE
from tests.conftest import csrf_of
from tests.factories import make_user, sign_in_as


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _language_next(html: str) -> str:
    found = _soup(html).select_one("form.language input[name=next]")
    assert found is not None
    return str(found["value"])


def _switch(client: TestClient, next_address: str, locale: str = "en") -> str:
    response = client.post("/language", data={"locale": locale, "next": next_address})
    assert response.status_code == 303
    assert response.cookies.get(LOCALE_COOKIE) == locale
    return response.headers["location"]


def test_language_switch_returns_to_the_same_page_with_its_query(client: TestClient) -> None:
    page = client.get("/registry?q=salud&page=1")
    address = _language_next(page.text)
    assert address == "/registry?q=salud&page=1"
    assert _switch(client, address) == "/registry?q=salud&page=1"


def test_language_switch_after_a_refused_form_leads_to_its_get_page(client: TestClient) -> None:
    refused = client.post("/register", data={"csrf_token": csrf_of(client, "/register")})
    assert refused.status_code == 422
    location = _switch(client, _language_next(refused.text))
    assert location == "/register"
    assert client.get(location).status_code == 200


@pytest.mark.parametrize(
    ("posted_to", "returns_to"),
    [
        ("/admin/users/invite", "/admin/users"),
        ("/account/password", "/account"),
        ("/guidelines/etica-ia/1.1/consultation/comments", "/guidelines/etica-ia/1.1/consultation"),
        ("/council/ballots/7/positions", "/council/ballots/7"),
    ],
)
def test_language_switch_from_a_post_only_address_goes_to_the_nearest_page(
    client: TestClient, posted_to: str, returns_to: str
) -> None:
    assert client.get(posted_to).status_code == 405
    assert _switch(client, posted_to) == returns_to


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_language_switch_never_leaves_the_site(client: TestClient, target: str) -> None:
    assert _switch(client, target, "es_MX") == "/"


def test_language_switch_is_remembered(client: TestClient) -> None:
    _switch(client, "/privacy")
    page = _soup(client.get("/privacy").text)
    assert page.html is not None
    assert page.html["lang"] == "en"
    assert page.h1 is not None
    assert page.h1.get_text(strip=True) == "Comprehensive privacy notice"


def _internal_links(html: str) -> set[str]:
    return {
        str(a["href"])
        for a in _soup(html).select("main a[href], footer a[href]")
        if str(a["href"]).startswith("/")
    }


def test_every_link_on_the_home_page_and_footer_leads_somewhere(client: TestClient) -> None:
    links = _internal_links(client.get("/").text)
    assert {"/guidelines", "/register", "/registry", "/verify", "/registry/data"} <= links
    assert {"/privacy", "/api/v1/docs"} <= links
    broken = {link: client.get(link).status_code for link in sorted(links)}
    assert {link: status for link, status in broken.items() if status != 200} == {}


def test_footer_claims_open_data_only_with_a_link_to_it(client: TestClient) -> None:
    footer = _soup(client.get("/").text).select_one("footer")
    assert footer is not None
    licence = [a for a in footer.select("a") if "CC BY 4.0" in a.get_text()]
    assert [str(a["href"]) for a in licence] == ["/registry/data"]
    assert "CC BY 4.0" in client.get("/registry/data").text


@pytest.mark.parametrize("locale", ["es_MX", "en"])
def test_privacy_notice_names_the_council_the_law_and_arco_rights(
    client: TestClient, locale: str
) -> None:
    client.cookies.set(LOCALE_COOKIE, locale)
    response = client.get("/privacy")
    assert response.status_code == 200
    page = _soup(response.text)
    sections = {str(h2["id"]) for h2 in page.select("main h2[id]")}
    assert sections == {"responsible", "data", "purposes", "basis", "arco", "transfers", "changes"}
    text = page.get_text(" ", strip=True)
    assert "CEIA" in text
    assert "Ley General de Protección de Datos Personales en Posesión de Sujetos Obligados" in text
    assert "LFPDPPP" in text
    assert "ARCO" in text
    assert "secretaria@ceia.gob.mx" in text
    forms = [h3.get_text(strip=True) for h3 in page.select("main .privacy-form h3")]
    assert len(forms) == 5


def _links_privacy(html: str, form_action: str) -> bool:
    for form in _soup(html).select("main form"):
        if str(form.get("action", "")) == form_action:
            return form.select_one("a[href='/privacy']") is not None
    raise AssertionError(f"no form posting to {form_action}")


def test_registration_form_links_the_privacy_notice(client: TestClient) -> None:
    assert _links_privacy(client.get("/register").text, "/register")


def test_invitation_form_links_the_privacy_notice(client: TestClient, db: Session) -> None:
    sign_in_as(client, make_user(db, role=Role.secretariat))
    assert _links_privacy(client.get("/admin/users").text, "/admin/users/invite")


def test_api_docs_page_loads_swagger_ui_from_this_site(client: TestClient) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = _soup(response.text)
    assets = [str(tag["href"]) for tag in page.select("link[rel=stylesheet]")] + [
        str(tag["src"]) for tag in page.select("script[src]")
    ]
    assert "/api/v1/docs/swagger-ui.css" in assets
    assert "/api/v1/docs/swagger-ui-bundle.js" in assets
    assert "/static/api-docs.js" in assets
    assert all(asset.startswith("/") and not asset.startswith("//") for asset in assets)
    assert page.select("script:not([src])") == []
    root = page.select_one("#swagger-ui")
    assert root is not None
    assert root["data-spec"] == "/api/v1/openapi.json"
    for asset in assets:
        fetched = client.get(asset)
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > 1000 or asset.endswith(".js"), asset
    bundle = client.get("/api/v1/docs/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in bundle.content
    assert client.get("/api/v1/docs/swagger-ui.css").headers["content-type"].startswith("text/css")


def test_api_docs_keep_the_strict_content_security_policy(client: TestClient) -> None:
    policy = client.get("/api/v1/docs").headers["content-security-policy"]
    assert policy == SECURITY_HEADERS["Content-Security-Policy"]
    assert "unsafe" not in policy
    assert re.search(r"script-src 'self';", policy)


@pytest.mark.parametrize("name", ["swagger-editor-bundle.js", "index.html", "..%2Fpyproject.toml"])
def test_api_docs_serve_only_the_files_the_page_needs(client: TestClient, name: str) -> None:
    assert client.get(f"/api/v1/docs/{name}").status_code == 404


def test_openapi_shows_the_company_workflow_with_examples(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    assert document["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    schemas = document["components"]["schemas"]
    product = schemas["ProductInput"]["examples"][0]
    assert set(product) == set(schemas["ProductInput"]["properties"])
    assert schemas["ApplicationInput"]["examples"] == [{"guideline": "etica-ia", "version": "1.0"}]
    assert schemas["AnswerInput"]["examples"][0]["value"] == "meets"
    for step in ("/products", "/applications", "/answers/", "/submit"):
        assert step in document["info"]["description"]
