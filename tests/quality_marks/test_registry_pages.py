"""The registry's search page and API: results, facets, pages, caching, and only public data."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.accounts import Role
from core.signing import CouncilKeys
from core.storage import FileStore
from council.demo import seed_demo
from council.demo_certificates import certify_demo
from quality_marks import registry_api, registry_pages
from quality_marks.certificate_models import Certificate, CertificateStatus, RegistryEventKind
from quality_marks.registry import RegistryQuery, RegistryResults
from tests.factories import NOW, make_user, sign_in_as
from tests.quality_marks.certificate_issuance import joined_factory
from tests.quality_marks.search_builders import registry_corpus
from tests.quality_marks.test_registry_search import HOSTILE
from tests.quality_marks.verification_builders import ISSUED_REASON, change_status


@pytest.fixture
def corpus(db: Session) -> dict[str, Certificate]:
    found = registry_corpus(db)
    db.commit()
    return found


def test_the_registry_page_finds_products_without_accents_and_links_their_certificates(
    client: TestClient, corpus: dict[str, Certificate]
) -> None:
    response = client.get("/registry", params={"q": "clinica medica"})
    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    results = page.select(".registry-results > li")
    assert len(results) == 1
    link = results[0].find("a")
    assert link is not None
    assert link["href"] == f"/verify/{corpus['clinica'].number}"
    assert link.get_text(strip=True) == "Asistente de Salud Digital"
    marks = [mark.get_text() for mark in results[0].select(".snippet mark")]
    assert {mark.lower() for mark in marks} >= {"clínica", "médica"}
    assert page.find("input", attrs={"name": "q"})["value"] == "clinica medica"  # type: ignore[index]


def test_facets_are_checkboxes_with_counts_that_filter(
    client: TestClient, corpus: dict[str, Certificate]
) -> None:
    page = BeautifulSoup(client.get("/registry").text, "html.parser")
    salud = page.find("input", attrs={"name": "sector", "value": "salud"})
    assert salud is not None
    assert salud.parent is not None
    assert "(2)" in salud.parent.get_text()
    filtered = BeautifulSoup(
        client.get("/registry", params={"sector": "salud", "status": "valid"}).text, "html.parser"
    )
    numbers = {li.find("a")["href"] for li in filtered.select(".registry-results > li")}  # type: ignore[index]
    assert numbers == {
        f"/verify/{corpus['clinica'].number}",
        f"/verify/{corpus['vida'].number}",
    }
    checked = filtered.find("input", attrs={"name": "sector", "value": "salud"})
    assert checked is not None
    assert checked.has_attr("checked")


def test_the_api_answers_items_facets_total_and_page(
    client: TestClient, corpus: dict[str, Certificate]
) -> None:
    response = client.get("/api/v1/registry", params={"q": "salud", "sort": "newest"})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert body["page"] == 1
    assert [item["number"] for item in body["items"]] == [
        corpus["vida"].number,
        corpus["clinica"].number,
    ]
    first = body["items"][0]
    assert first["url"] == f"/verify/{corpus['vida'].number}"
    assert first["sectors"] == ["salud", "seguros"]
    assert "<mark>" in first["snippet"]
    assert {f["value"]: f["count"] for f in body["facets"]["sector"]} == {"salud": 2, "seguros": 1}
    paged = client.get("/api/v1/registry", params={"per_page": "2", "page": "3"}).json()
    assert (paged["total"], paged["pages"], paged["page"], len(paged["items"])) == (5, 3, 3, 1)


def test_the_page_links_the_next_page_keeping_the_query(
    client: TestClient, corpus: dict[str, Certificate], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("quality_marks.registry_pages.PAGE_SIZE", 2)
    first = BeautifulSoup(
        client.get("/registry", params={"level": "B", "sort": "expiry"}).text, "html.parser"
    )
    following = first.find("a", rel="next")
    assert following is not None
    assert following["href"] == "/registry?level=B&sort=expiry&page=2"
    second = BeautifulSoup(client.get(str(following["href"])).text, "html.parser")
    assert second.find("a", rel="prev")["href"] == "/registry?level=B&sort=expiry"  # type: ignore[index]
    assert second.find("a", rel="next") is None


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_queries_never_break_the_page_or_the_api(
    client: TestClient, corpus: dict[str, Certificate], text: str
) -> None:
    assert client.get("/registry", params={"q": text}).status_code == 200
    response = client.get("/api/v1/registry", params={"q": text, "year": ["x", "2026"]})
    assert response.status_code == 200
    assert response.json()["timed_out"] is False


def test_filter_values_with_control_characters_match_nothing_and_never_break(
    client: TestClient, corpus: dict[str, Certificate]
) -> None:
    odd = {"sector": "salud\x00", "state": ["J\x00alisco", "\x15"], "version": "1.0\x07"}
    for path in ("/registry", "/api/v1/registry"):
        response = client.get(path, params=odd)
        assert response.status_code == 200, path
    everything = client.get("/api/v1/registry").json()["total"]
    assert client.get("/api/v1/registry", params=odd).json()["total"] == everything


def test_anonymous_answers_are_shared_and_revalidate_with_304(
    client: TestClient, corpus: dict[str, Certificate]
) -> None:
    for path in ("/registry?q=salud", "/api/v1/registry?q=salud"):
        first = client.get(path)
        assert first.headers["cache-control"].startswith("public")
        again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304


def test_a_search_cut_short_by_its_time_limit_is_not_kept_for_other_readers(
    client: TestClient, corpus: dict[str, Certificate], monkeypatch: pytest.MonkeyPatch
) -> None:
    def timed_out(session: Session, query: RegistryQuery) -> RegistryResults:
        return RegistryResults(
            items=[], total=0, page=1, per_page=query.per_page, facets={}, timed_out=True
        )

    monkeypatch.setattr(registry_pages, "search_registry", timed_out)
    monkeypatch.setattr(registry_api, "search_registry", timed_out)
    for path in ("/registry?q=salud", "/api/v1/registry?q=salud"):
        response = client.get(path)
        assert response.status_code == 200
        assert "public" not in response.headers["cache-control"], path


def test_a_signed_in_reader_gets_a_private_answer(
    client: TestClient, db: Session, corpus: dict[str, Certificate]
) -> None:
    sign_in_as(client, make_user(db, role=Role.secretariat))
    response = client.get("/api/v1/registry")
    assert response.status_code == 200
    assert "public" not in response.headers["cache-control"]


def test_the_registry_shows_only_public_fields(
    client: TestClient, corpus: dict[str, Certificate]
) -> None:
    outputs = [
        client.get("/registry").text,
        client.get("/registry", params={"q": "salud"}).text,
        client.get("/api/v1/registry").text,
        client.get("/api/v1/registry", params={"q": "datos"}).text,
    ]
    for output in outputs:
        for secret in (
            "Propósito confidencial",
            "Nota reservada",
            "Historial crediticio",
            "Av. Reforma",
            "@datos.example.mx",
            "Ana López",
        ):
            assert secret not in output


def test_the_main_navigation_leads_to_the_registry(client: TestClient) -> None:
    page = BeautifulSoup(client.get("/").text, "html.parser")
    nav = page.find("nav", class_="main-nav")
    assert nav is not None
    assert nav.find("a", href="/registry") is not None


def test_an_answer_kept_for_anonymous_readers_is_renewed_by_a_registry_event(
    client: TestClient, db: Session, corpus: dict[str, Certificate]
) -> None:
    path = "/api/v1/registry?q=clinica&status=valid"
    assert client.get(path).json()["total"] == 1
    assert client.get(path).json()["total"] == 1  # answered from memory now
    change_status(
        db,
        corpus["clinica"],
        CertificateStatus.suspended,
        RegistryEventKind.suspended,
        ISSUED_REASON,
    )
    db.commit()
    assert client.get(path).json()["total"] == 0


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
def test_the_demo_registry_is_searchable_in_both_languages(
    client: TestClient, db: Session, tmp_path: Path, council_keys: CouncilKeys
) -> None:
    store = FileStore(tmp_path / "store")
    seed_demo(db, store=store, base_url="http://testserver", now=NOW)
    certify_demo(
        joined_factory(db),
        keys=council_keys,
        store=store,
        base_url="http://testserver",
        prefix="MX-CEIA",
        now=NOW,
    )
    db.commit()
    listed = client.get("/api/v1/registry").json()
    assert listed["total"] >= 3
    names = {item["product_name"] for item in listed["items"]}
    assert {"DermaScan", "VozSegura", "PrediCama"} <= names
    for language in ("es-MX", "en"):
        page = client.get(
            "/registry", params={"q": "dermascan"}, headers={"Accept-Language": language}
        )
        links = BeautifulSoup(page.text, "html.parser").select(".registry-results a")
        assert [link.get_text(strip=True) for link in links] == ["DermaScan"]
