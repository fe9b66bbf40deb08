"""The secretariat's guideline pages: create, edit, revisions, life cycle, import, compare, PDF."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Mapping
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User, issue_api_token
from core.auth import now_utc
from core.errors import Invalid
from core.forms import FIELD_MESSAGES
from guidelines import service
from guidelines.documents import DOCUMENT_MESSAGES, DUPLICATE_CODE, parse_document
from guidelines.models import Criterion, Guideline, RiskLevel, VersionStatus
from guidelines.schemas import GuidelineInput, SummaryInput
from tests.conftest import csrf_of
from tests.factories import NOW, make_user, sign_in_as
from tests.guidelines.builders import make_criterion_input, make_staff
from tests.guidelines.factories import (
    NEW_WORD,
    OLD_WORD,
    SLUG,
    criterion_codes,
    criterion_id,
    load_version,
    make_adopted,
    make_revised_draft,
    make_saved_draft,
    open_consultation,
    principle_id,
    start_draft,
    version_numbers,
)

AUTHOR_NAME = "Lucía Hernández Ortega"
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture(autouse=True)
def pinned_clock(app: FastAPI) -> None:
    """Pages see the same clock as the data built with the service verbs."""
    app.dependency_overrides[now_utc] = lambda: NOW


@pytest.fixture
def author(db: Session) -> User:
    """The secretariat member who uses the pages."""
    return make_user(db, role=Role.secretariat, full_name=AUTHOR_NAME)


@pytest.fixture
def builder(db: Session) -> User:
    """Another secretariat member, who builds the data through the service verbs."""
    return make_staff(db)


@pytest.fixture
def staff_client(client: TestClient, author: User) -> TestClient:
    """The client signed in as the secretariat member."""
    sign_in_as(client, author)
    return client


def soup(response: Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def one(page: BeautifulSoup | Tag, selector: str) -> Tag:
    found = page.select_one(selector)
    assert found is not None, f"nothing matches {selector}"
    return found


def post_form(
    client: TestClient,
    path: str,
    data: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Post a form the way the browser does, with the session's CSRF token."""
    return client.post(path, data={**data, "csrf_token": csrf_of(client, "/")}, headers=headers)


def form_values(page: BeautifulSoup, action: str) -> dict[str, Any]:
    """What the browser sends from the form posting to `action` (files and buttons aside)."""
    form = one(page, f'form[action="{action}"]')
    values: dict[str, Any] = {}
    for element in form.select("input, textarea, select"):
        name, kind = element.get("name"), element.get("type", "text")
        if not name or name == "csrf_token" or kind in {"submit", "button", "file"}:
            continue
        if kind in {"checkbox", "radio"}:
            if element.has_attr("checked"):
                values.setdefault(str(name), []).append(element.get("value", "on"))
        elif element.name == "textarea":
            values[str(name)] = element.get_text()
        elif element.name == "select":
            chosen = element.select_one("option[selected]") or element.select_one("option")
            values[str(name)] = chosen.get("value", "") if chosen else ""
        else:
            values[str(name)] = element.get("value", "")
    return values


def edit_url(number: str = "1.0", suffix: str = "") -> str:
    return f"/guidelines/{SLUG}/{number}{suffix}"


def criterion_form(code: str, principle_code: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": code,
        "principle_code": principle_code,
        "title_es": f"Criterio {code}",
        "title_en": f"Criterion {code}",
        "requirement_es": f"El proveedor debe cumplir {code}.",
        "requirement_en": f"The provider must meet {code}.",
        "guidance_es": "",
        "guidance_en": "",
        "evidence_es": "",
        "evidence_en": "",
        "risk_levels": ["limited", "high"],
    }
    data.update(overrides)
    return data


def section_ids(page: BeautifulSoup) -> list[str]:
    return [str(section["id"]) for section in page.select("section.principle")]


# Creating a guideline ------------------------------------------------------------------------


def test_creating_a_guideline_opens_the_editor_of_draft_1_0(
    staff_client: TestClient, db: Session
) -> None:
    one(soup(staff_client.get("/guidelines/new")), 'form[action="/guidelines"]')
    response = post_form(
        staff_client,
        "/guidelines",
        {"slug": SLUG, "title_es": "Ética en sistemas de IA", "title_en": "AI ethics"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/guidelines/{SLUG}/1.0/edit"
    editor = staff_client.get(response.headers["location"])
    assert editor.status_code == 200
    version = load_version(db, "1.0")
    assert version.status == VersionStatus.draft
    assert version.guideline.title_es == "Ética en sistemas de IA"
    revision = one(soup(editor), 'form[action$="/summary"] input[name="revision"]')
    assert revision["value"] == str(version.revision_number)


def test_invalid_slug_keeps_the_typed_title_and_marks_the_slug(
    staff_client: TestClient, db: Session
) -> None:
    response = post_form(
        staff_client, "/guidelines", {"slug": "Ética IA!", "title_es": "Ética en sistemas de IA"}
    )
    assert response.status_code == 422
    page = soup(response)
    assert one(page, 'input[name="title_es"]')["value"] == "Ética en sistemas de IA"
    slug = one(page, 'input[name="slug"]')
    assert slug["aria-invalid"] == "true"
    assert slug["value"] == "Ética IA!"
    one(page, "#f-slug-error")
    assert "f-slug-error" in str(slug["aria-describedby"])
    assert db.scalar(select(Guideline.id)) is None


def test_a_slug_already_in_use_is_a_field_error(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    make_saved_draft(db, builder)
    response = post_form(staff_client, "/guidelines", {"slug": SLUG, "title_es": "Otra guía"})
    assert response.status_code == 422
    page = soup(response)
    assert one(page, 'input[name="slug"]')["aria-invalid"] == "true"
    one(page, "#f-slug-error")
    assert one(page, 'input[name="title_es"]')["value"] == "Otra guía"
    assert len(db.scalars(select(Guideline)).all()) == 1


# Principles and criteria ---------------------------------------------------------------------


def test_principle_and_criterion_added_through_the_forms_have_anchors(
    staff_client: TestClient, db: Session, author: User
) -> None:
    service.create_guideline(
        db,
        actor=author,
        data=GuidelineInput(slug=SLUG, title_es="Ética en IA"),
        now=NOW,
    )
    db.commit()
    form = soup(staff_client.get(edit_url(suffix="/principles/new")))
    revision = one(form, 'input[name="revision"]')["value"]
    response = post_form(
        staff_client,
        edit_url(suffix="/principles"),
        {"code": "TR", "title_es": "Transparencia", "revision": revision},
    )
    assert response.status_code == 303
    assert response.headers["location"] == edit_url(suffix="/edit")

    form = soup(staff_client.get(edit_url(suffix="/criteria/new?principle=TR")))
    assert one(form, 'select[name="principle_code"] option[selected]')["value"] == "TR"
    requirement = "El sistema **debe** avisar que es una IA. <script>alert('x')</script>"
    response = post_form(
        staff_client,
        edit_url(suffix="/criteria"),
        {
            **criterion_form("TR-1", "TR", requirement_es=requirement),
            "revision": one(form, 'input[name="revision"]')["value"],
        },
    )
    assert response.status_code == 303

    page = soup(staff_client.get(edit_url()))
    criterion = one(page, "section#TR article#TR-1")
    requirement_html = one(criterion, ".requirement")
    assert one(requirement_html, "strong").get_text() == "debe"
    assert requirement_html.select("script") == []
    assert "<script>alert" not in staff_client.get(edit_url()).text
    assert one(criterion, 'a[href="#TR-1"]')
    assert one(page, 'nav.toc a[href="#TR"]')


def test_criterion_form_without_requirement_or_risk_levels_keeps_the_rest(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    make_saved_draft(db, builder, criteria={"TR": [], "EQ": []})
    response = post_form(
        staff_client,
        edit_url(suffix="/criteria"),
        criterion_form(
            "EQ-7",
            "EQ",
            title_es="Título tecleado",
            requirement_es="",
            requirement_en="Typed English requirement",
            evidence_es="Bitácora de pruebas",
            risk_levels=[],
        ),
    )
    assert response.status_code == 422
    page = soup(response)
    assert one(page, 'input[name="code"]')["value"] == "EQ-7"
    assert one(page, 'input[name="title_es"]')["value"] == "Título tecleado"
    assert one(page, 'select[name="principle_code"] option[selected]')["value"] == "EQ"
    assert one(page, 'textarea[name="requirement_en"]').get_text() == "Typed English requirement"
    assert one(page, 'textarea[name="evidence_es"]').get_text() == "Bitácora de pruebas"
    assert one(page, 'textarea[name="requirement_es"]')["aria-invalid"] == "true"
    one(page, "#f-requirement_es-error")
    risk = one(page, "fieldset.has-error")
    assert risk["aria-describedby"] == "f-risk_levels-error"
    one(risk, "#f-risk_levels-error")
    assert risk.select('input[name="risk_levels"]')
    assert risk.select('input[name="risk_levels"][checked]') == []
    assert one(page, 'input[name="code"]').get("aria-invalid") is None
    assert db.scalar(select(Criterion.id)) is None


def test_editing_a_criterion_saves_a_revision_with_its_author(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    version = make_saved_draft(db, builder)
    before = version.revision_number
    url = edit_url(suffix=f"/criteria/{criterion_id(version, 'TR-2')}")
    form = soup(staff_client.get(url + "/edit"))
    assert one(form, 'input[name="code"]')["value"] == "TR-2"
    assert one(form, 'input[name="revision"]')["value"] == str(before)
    response = post_form(
        staff_client,
        url,
        {
            **criterion_form("TR-2", "TR", requirement_es="Texto **nuevo** de TR-2."),
            "revision": str(before),
        },
    )
    assert response.status_code == 303

    page = soup(staff_client.get(edit_url()))
    assert one(page, "#TR-2 .requirement").get_text(" ", strip=True) == "Texto nuevo de TR-2."
    assert load_version(db, "1.0").revision_number == before + 1

    history = soup(staff_client.get(edit_url(suffix="/revisions")))
    rows = history.select("tbody tr")
    assert len(rows) == before + 1
    newest = [cell.get_text(strip=True) for cell in rows[0].select("td")]
    assert newest[0] == str(before + 1)
    assert newest[2] == AUTHOR_NAME
    assert builder.full_name in [row.select("td")[2].get_text(strip=True) for row in rows[1:]]
    assert one(rows[0], "a")["href"] == edit_url(suffix=f"/revisions/{before + 1}")

    old_state = soup(staff_client.get(edit_url(suffix=f"/revisions/{before}")))
    assert "El proveedor debe cumplir TR-2." in old_state.get_text()
    assert "Texto nuevo" not in old_state.get_text()
    new_state = soup(staff_client.get(edit_url(suffix=f"/revisions/{before + 1}")))
    assert "Texto nuevo de TR-2." in new_state.get_text()
    assert AUTHOR_NAME in new_state.get_text()
    assert staff_client.get(edit_url(suffix=f"/revisions/{before + 5}")).status_code == 404


def test_moving_and_deleting_change_the_page_and_each_save_is_a_revision(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    version = make_saved_draft(db, builder)
    start = version.revision_number
    assert section_ids(soup(staff_client.get(edit_url()))) == ["TR", "EQ"]

    def revision() -> str:
        return str(load_version(db, "1.0").revision_number)

    response = post_form(
        staff_client,
        edit_url(suffix=f"/principles/{principle_id(version, 'EQ')}/move"),
        {"direction": "up", "revision": revision()},
    )
    assert response.status_code == 303
    assert section_ids(soup(staff_client.get(edit_url()))) == ["EQ", "TR"]

    response = post_form(
        staff_client,
        edit_url(suffix=f"/criteria/{criterion_id(version, 'TR-1')}/move"),
        {"direction": "down", "revision": revision()},
    )
    assert response.status_code == 303
    page = soup(staff_client.get(edit_url()))
    assert [str(a["id"]) for a in page.select("section#TR article.criterion")] == ["TR-2", "TR-1"]

    response = post_form(
        staff_client,
        edit_url(suffix=f"/criteria/{criterion_id(version, 'TR-2')}/delete"),
        {"revision": revision()},
    )
    assert response.status_code == 303
    page = soup(staff_client.get(edit_url()))
    assert page.select_one("#TR-2") is None
    assert [str(a["id"]) for a in page.select("section#TR article.criterion")] == ["TR-1"]

    response = post_form(
        staff_client,
        edit_url(suffix=f"/principles/{principle_id(version, 'EQ')}/delete"),
        {"revision": revision()},
    )
    assert response.status_code == 303
    assert section_ids(soup(staff_client.get(edit_url()))) == ["TR"]
    assert criterion_codes(load_version(db, "1.0")) == ["TR-1"]

    rows = soup(staff_client.get(edit_url(suffix="/revisions"))).select("tbody tr")
    assert len(rows) == start + 4
    assert {row.select("td")[2].get_text(strip=True) for row in rows[:4]} == {AUTHOR_NAME}
    # The saved state of the first move has EQ before TR, as the page had.
    after_move = soup(staff_client.get(edit_url(suffix=f"/revisions/{start + 1}")))
    assert [h.get_text(" ", strip=True)[:2] for h in after_move.select("section h2")] == [
        "EQ",
        "TR",
    ]


def test_invalid_edits_show_the_same_form_again(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    version = make_saved_draft(db, builder)
    before = version.revision_number
    criterion_url = edit_url(suffix=f"/criteria/{criterion_id(version, 'TR-2')}")
    response = post_form(staff_client, criterion_url, criterion_form("TR-1", "TR", title_es=""))
    assert response.status_code == 422
    page = soup(response)
    assert one(page, f'form[action="{criterion_url}"] input[name="code"]')["value"] == "TR-1"
    one(page, "#f-title_es-error")

    principle_url = edit_url(suffix=f"/principles/{principle_id(version, 'EQ')}")
    response = post_form(staff_client, principle_url, {"code": "TR", "title_es": "Equidad"})
    assert response.status_code == 422
    page = soup(response)
    code = one(page, f'form[action="{principle_url}"] input[name="code"]')
    assert code["aria-invalid"] == "true"  # TR is the other principle's code
    assert code["value"] == "TR"

    response = post_form(staff_client, edit_url(suffix="/summary"), {"summary_es": "x" * 5001})
    assert response.status_code == 422
    assert one(soup(response), 'textarea[name="summary_es"]')["aria-invalid"] == "true"
    assert load_version(db, "1.0").revision_number == before


def test_a_stale_edit_comes_back_typed_naming_the_change_made_since(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    version = make_saved_draft(db, builder)
    url = edit_url(suffix=f"/criteria/{criterion_id(version, 'TR-1')}")
    opened_at = one(soup(staff_client.get(url + "/edit")), 'input[name="revision"]')["value"]
    other = make_user(db, role=Role.secretariat, full_name="Mario Ruiz Téllez")
    service.update_summary(
        db,
        actor=other,
        version=version,
        data=SummaryInput(summary_es="Resumen cambiado por Mario."),
        expected_revision=None,
        now=NOW,
    )
    db.commit()
    current = load_version(db, "1.0").revision_number
    assert str(current) != opened_at

    response = post_form(
        staff_client,
        url,
        {**criterion_form("TR-1", "TR", requirement_es="Mi cambio."), "revision": opened_at},
        headers=ENGLISH,
    )
    assert response.status_code == 409
    page = soup(response)
    detail = one(page, '.form-error[role="alert"]').get_text(" ", strip=True)
    assert f"revision {current} by Mario Ruiz Téllez" in detail
    assert one(page, 'textarea[name="requirement_es"]').get_text() == "Mi cambio."
    stored = load_version(db, "1.0")
    assert stored.revision_number == current
    assert stored.principles[0].criteria[0].requirement_es == "El proveedor debe cumplir TR-1."

    # The form came back on the current revision: sending it again applies the change.
    again = form_values(page, url)
    assert again["revision"] == str(current)
    assert post_form(staff_client, url, again).status_code == 303
    assert load_version(db, "1.0").principles[0].criteria[0].requirement_es == "Mi cambio."


@pytest.mark.parametrize("revision", ["²", "٣", "12345678901234567890"])
def test_a_malformed_revision_in_a_form_is_not_a_server_error(
    staff_client: TestClient, db: Session, builder: User, revision: str
) -> None:
    make_saved_draft(db, builder)
    response = post_form(
        staff_client,
        edit_url(suffix="/summary"),
        {"summary_es": "Resumen.", "summary_en": "", "revision": revision},
    )
    # A revision that is not a plain number is no revision: the edit is not checked against one.
    assert response.status_code == 303
    assert load_version(db, "1.0").summary_es == "Resumen."


def test_an_empty_withdrawal_reason_comes_back_on_the_version_page(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    make_saved_draft(db, builder)
    response = post_form(staff_client, edit_url(suffix="/withdraw"), {"reason": "  "})
    assert response.status_code == 422
    page = soup(response)
    reason = one(page, 'form[action$="/withdraw"] input[name="reason"]')
    assert reason["aria-invalid"] == "true"
    assert one(page, "#f-reason-error").get_text(strip=True)
    assert load_version(db, "1.0").status == VersionStatus.draft

    response = post_form(staff_client, edit_url(suffix="/withdraw"), {"reason": "Duplicado."})
    assert response.status_code == 303
    assert load_version(db, "1.0").status == VersionStatus.withdrawn


def test_an_adopted_version_cannot_be_edited(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    version = make_adopted(db, builder)
    assert staff_client.get(edit_url(suffix="/edit")).status_code == 409
    response = post_form(
        staff_client,
        edit_url(suffix=f"/criteria/{criterion_id(version, 'TR-1')}"),
        criterion_form("TR-1", "TR", requirement_es="Cambio indebido."),
    )
    assert response.status_code == 409
    response = post_form(
        staff_client, edit_url(suffix="/principles"), {"code": "NV", "title_es": "Nuevo"}
    )
    assert response.status_code == 409
    stored = load_version(db, "1.0")
    assert stored.status == VersionStatus.adopted
    assert stored.revision_number == version.revision_number
    assert [p.code for p in stored.principles] == ["TR", "EQ"]
    assert stored.principles[0].criteria[0].requirement_es == "El proveedor debe cumplir TR-1."


# Who sees what -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/json"])
def test_drafts_are_hidden_from_the_public_and_applicants(
    client: TestClient, db: Session, builder: User, suffix: str
) -> None:
    make_saved_draft(db, builder)
    assert client.get(edit_url(suffix=suffix)).status_code == 404
    assert client.get(f"/guidelines/{SLUG}").status_code == 404
    assert soup(client.get("/guidelines")).select(f'a[href="/guidelines/{SLUG}"]') == []

    sign_in_as(client, make_user(db, role=Role.applicant))
    assert client.get(edit_url(suffix=suffix)).status_code == 404
    assert client.get(f"/guidelines/{SLUG}").status_code == 404

    client.cookies.clear()
    sign_in_as(client, make_user(db, role=Role.secretariat))
    assert client.get(edit_url(suffix=suffix)).status_code == 200
    assert client.get(f"/guidelines/{SLUG}").status_code == 200
    one(soup(client.get("/guidelines")), f'a[href="/guidelines/{SLUG}"]')


def test_versions_in_consultation_and_adopted_are_public(
    client: TestClient, db: Session, builder: User
) -> None:
    draft = make_revised_draft(db, builder)
    open_consultation(db, builder, draft)
    for number in ("1.0", "1.1"):
        response = client.get(edit_url(number))
        assert response.status_code == 200, number
        one(soup(response), "section#TR article#TR-1")
        assert client.get(edit_url(number, "/json")).status_code == 200
    listing = soup(client.get(f"/guidelines/{SLUG}"))
    assert {str(a["href"]) for a in listing.select("tbody a")} == {edit_url("1.0"), edit_url("1.1")}
    assert listing.select(f'form[action="/guidelines/{SLUG}/drafts"]') == []


# New drafts and imports ----------------------------------------------------------------------


def test_a_new_draft_copies_the_text_in_force(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    adopted = make_adopted(db, builder)
    adopted_id, codes = adopted.id, criterion_codes(adopted)
    assert codes == ["TR-1", "TR-2", "EQ-1"]
    page = soup(staff_client.get(f"/guidelines/{SLUG}"))
    one(page, f'form[action="/guidelines/{SLUG}/drafts"] input[name="number"]')
    response = post_form(staff_client, f"/guidelines/{SLUG}/drafts", {"number": "1.1"})
    assert response.status_code == 303
    assert response.headers["location"] == edit_url("1.1", "/edit")
    draft = load_version(db, "1.1")
    assert draft.status == VersionStatus.draft
    assert draft.based_on_id == adopted_id
    assert criterion_codes(draft) == codes
    assert staff_client.get(edit_url("1.1", "/edit")).status_code == 200


@pytest.mark.parametrize("number", ["1.0", "0.9", "uno"])
def test_a_new_draft_number_must_be_higher(
    staff_client: TestClient, db: Session, builder: User, number: str
) -> None:
    make_adopted(db, builder)
    response = post_form(staff_client, f"/guidelines/{SLUG}/drafts", {"number": number})
    assert response.status_code == 422
    page = soup(response)
    field = one(page, 'input[name="number"]')
    assert field["aria-invalid"] == "true"
    assert field["value"] == number
    one(page, "#f-number-error")
    assert version_numbers(db) == ["1.0"]


def _upload(client: TestClient, content: bytes) -> Response:
    return client.post(
        f"/guidelines/{SLUG}/import",
        data={"csrf_token": csrf_of(client, "/")},
        files={"document": ("version.json", content, "application/json")},
    )


def test_importing_an_exported_document_makes_a_new_draft(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    codes = criterion_codes(make_adopted(db, builder))
    exported = staff_client.get(edit_url("1.0", "/json"))
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    document = exported.json()
    document["number"] = "2.0"
    response = _upload(staff_client, json.dumps(document).encode())
    assert response.status_code == 303, response.text
    assert response.headers["location"] == edit_url("2.0", "/edit")
    imported = load_version(db, "2.0")
    assert imported.status == VersionStatus.draft
    assert imported.effective_on is None
    assert criterion_codes(imported) == codes
    assert load_version(db, "1.0").status == VersionStatus.adopted


def test_importing_a_file_that_is_not_json_says_so(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    make_adopted(db, builder)
    response = _upload(staff_client, b"{not json")
    assert response.status_code == 422
    page = soup(response)
    assert one(page, "#f-document")["aria-invalid"] == "true"
    assert one(page, "#f-document-error").get_text(strip=True)
    assert version_numbers(db) == ["1.0"]


def test_importing_a_document_that_breaks_the_schema_names_the_field(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    make_adopted(db, builder)
    document = staff_client.get(edit_url("1.0", "/json")).json()
    document["number"] = "2.0"
    document["principles"][0]["criteria"][1]["code"] = "tr_2"
    response = _upload(staff_client, json.dumps(document).encode())
    assert response.status_code == 422
    error = one(soup(response), "#f-document-error")
    assert [code.get_text() for code in error.select("code")] == ["principles.0.criteria.1.code"]
    assert version_numbers(db) == ["1.0"]


def test_schema_errors_of_an_import_are_in_the_readers_language(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    make_adopted(db, builder)
    document = staff_client.get(edit_url("1.0", "/json")).json()
    document["number"] = "2.0"
    document["principles"][0]["criteria"][1]["code"] = "tr_2"
    document["principles"][1]["title"] = {"es": ""}
    document["principles"][1]["colour"] = "azul"
    response = _upload(staff_client, json.dumps(document).encode())
    assert response.status_code == 422
    error = one(soup(response), "#f-document-error")
    listed = {
        one(item, "code").get_text(): item.get_text(" ", strip=True).split(": ", 1)[1]
        for item in error.select("li")
    }
    assert listed == {
        "principles.0.criteria.1.code": "El formato no es válido.",
        "principles.1.title.es": "Este campo es obligatorio.",
        "principles.1.colour": "Este campo no forma parte del esquema.",
    }

    document = staff_client.get(edit_url("1.0", "/json")).json()
    document["number"] = "2.0"
    document["principles"][1]["criteria"][0]["code"] = "TR-1"
    response = _upload(staff_client, json.dumps(document).encode())
    assert response.status_code == 422
    (item,) = one(soup(response), "#f-document-error").select("li")
    assert one(item, "code").get_text() == "principles.1.criteria.0.code"
    assert item.get_text(" ", strip=True).endswith("Este código aparece más de una vez.")
    assert version_numbers(db) == ["1.0"]


def test_every_import_message_is_a_catalog_msgid() -> None:
    document = {
        "guideline": {"slug": SLUG, "title": {"es": "Ética"}},
        "number": "2.0",
        "principles": [
            {"code": "TR", "title": {"es": "T"}, "criteria": []},
            {"code": "TR", "title": {"es": "T"}, "criteria": []},
        ],
    }
    with pytest.raises(Invalid) as refused:
        parse_document(document)
    assert refused.value.fields == {"principles.1.code": DUPLICATE_CODE}
    with pytest.raises(Invalid) as refused:
        parse_document({"number": "dos", "extra": 1})
    messages = set(refused.value.fields.values())
    assert messages <= set(DOCUMENT_MESSAGES.values())
    assert DOCUMENT_MESSAGES["string_pattern_mismatch"] == FIELD_MESSAGES["string_pattern_mismatch"]


# Consultation --------------------------------------------------------------------------------


def test_a_consultation_closing_in_the_past_is_a_field_error(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    make_saved_draft(db, builder)
    service.update_summary(
        db,
        actor=builder,
        version=load_version(db, "1.0"),
        data=SummaryInput(summary_es="Resumen.", summary_en="Summary."),
        expected_revision=None,
        now=NOW,
    )
    db.commit()
    yesterday = (NOW - dt.timedelta(days=1)).date().isoformat()
    response = post_form(
        staff_client, edit_url(suffix="/consultation/open"), {"closes_on": yesterday}
    )
    assert response.status_code == 422
    page = soup(response)
    closes_on = one(page, 'input[name="closes_on"]')
    assert closes_on["aria-invalid"] == "true"
    assert closes_on["value"] == yesterday
    one(page, "#f-closes_on-error")
    # The editor shown again keeps the saved summary in both languages.
    assert one(page, 'textarea[name="summary_es"]').get_text() == "Resumen."
    assert one(page, 'textarea[name="summary_en"]').get_text() == "Summary."
    assert load_version(db, "1.0").status == VersionStatus.draft


def test_opening_a_consultation_shows_the_days_left(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    make_saved_draft(db, builder)
    in_a_month = (NOW + dt.timedelta(days=30)).date()
    response = post_form(
        staff_client, edit_url(suffix="/consultation/open"), {"closes_on": in_a_month.isoformat()}
    )
    assert response.status_code == 303
    assert response.headers["location"] == edit_url()
    version = load_version(db, "1.0")
    assert version.status == VersionStatus.consultation
    assert service.closes_on(version) == in_a_month
    days = service.days_left(version, NOW)
    assert days == 31  # until midnight after 25 December, Mexico City time
    assert staff_client.get(edit_url(suffix="/edit")).status_code == 409
    staff_client.cookies.clear()  # now as the public
    page = soup(staff_client.get(edit_url(), headers=ENGLISH))
    banner = one(page, ".consultation-banner")
    assert f"{days} days left." in banner.get_text(" ", strip=True)


# Compare and PDF -----------------------------------------------------------------------------


def test_compare_page_lists_added_removed_and_changed_criteria(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    make_revised_draft(db, builder)
    response = staff_client.get(f"/guidelines/{SLUG}/compare/versions?from=1.0&to=1.1")
    assert response.status_code == 200
    page = soup(response)
    assert [str(a["id"]) for a in page.select('article[id^="added-"]')] == ["added-TR-3"]
    assert [str(a["id"]) for a in page.select('article[id^="removed-"]')] == ["removed-TR-2"]
    assert [str(a["id"]) for a in page.select('article[id^="changed-"]')] == ["changed-EQ-1"]
    changed = one(page, "#changed-EQ-1")
    assert OLD_WORD in [d.get_text(strip=True) for d in changed.select("del")]
    assert NEW_WORD in [i.get_text(strip=True) for i in changed.select("ins")]
    assert page.select_one("#changed-TR-1") is None
    api_link = one(page, 'a[href^="/api/v1/guidelines/"]')
    assert api_link["href"] == f"/api/v1/guidelines/{SLUG}/diff?from=1.0&to=1.1"


def _listed_draft(db: Session, builder: User) -> None:
    """Adopted 1.0 and a draft 1.1 whose EQ-1 has a bulleted Spanish text and one risk level."""
    make_adopted(db, builder)
    draft = start_draft(db, builder)
    data = make_criterion_input("EQ-1", "EQ").model_copy(
        update={
            "requirement_es": "El proveedor debe cumplir **sin costo**:\n\n- uno;\n- dos.",
            "requirement_en": "The provider must meet EQ-1 at no cost.",
            "risk_levels": [RiskLevel.high],
        }
    )
    service.update_criterion(
        db,
        actor=builder,
        version=draft,
        criterion_id=criterion_id(draft, "EQ-1"),
        data=data,
        expected_revision=None,
        now=NOW,
    )
    db.commit()


def _shown_and_folded(article: Tag) -> tuple[list[str], list[str]]:
    """The field labels shown in a changed criterion, and those folded in <details>."""
    shown: list[str] = []
    folded: list[str] = []
    for heading in article.select("h4"):
        label = " ".join(heading.get_text().split())
        (folded if heading.find_parent("details") else shown).append(label)
    return shown, folded


def test_compare_page_shows_rendered_text_in_the_readers_language_first(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    _listed_draft(db, builder)
    url = f"/guidelines/{SLUG}/compare/versions?from=1.0&to=1.1"

    staff_client.cookies.set("lang", "en")
    changed = one(soup(staff_client.get(url)), "#changed-EQ-1")
    assert " ".join(one(changed, "h3").get_text().split()) == "EQ-1 Criterion EQ-1"
    shown, folded = _shown_and_folded(changed)
    assert shown == ["Requirement", "Applies to"]
    assert folded == ["Requirement"]
    details = one(changed, "details.diff-other-language")
    assert (
        one(details, "summary").get_text(" ", strip=True).startswith("Changes to the Spanish text")
    )
    assert details.select("ul.diff-list li")  # the Spanish list kept as a list
    assert "**" not in changed.get_text()
    risk = next(f for f in changed.select(".field-change") if "Applies to" in f.get_text())
    assert one(risk, "del").get_text(" ", strip=True) == "Limited risk, High risk"
    assert one(risk, "ins").get_text(" ", strip=True) == "High risk"

    staff_client.cookies.set("lang", "es_MX")
    changed = one(soup(staff_client.get(url)), "#changed-EQ-1")
    assert " ".join(one(changed, "h3").get_text().split()) == "EQ-1 Criterio EQ-1"
    details = one(changed, "details.diff-other-language")
    assert details.select("ul.diff-list") == []  # the English text is folded away
    lists = changed.select("ul.diff-list")
    assert len(lists) == 1
    assert [li.get_text(" ", strip=True) for li in lists[0].select("li")] == ["uno;", "dos."]
    assert "Riesgo alto" in changed.get_text()
    assert "high" not in changed.get_text()


@pytest.mark.parametrize("ref", ["1.0r²", "1.0r٣", "1.0r99999999999999999999", "1.0rx"])
def test_compare_with_a_malformed_revision_is_not_found(
    staff_client: TestClient, db: Session, author: User, builder: User, ref: str
) -> None:
    make_saved_draft(db, builder)
    refs = {"from": ref, "to": "1.0"}
    assert staff_client.get(f"/guidelines/{SLUG}/compare/versions", params=refs).status_code == 404
    token = issue_api_token(db, user=author, name="pruebas", now=NOW)[1]
    db.commit()
    response = staff_client.get(
        f"/api/v1/guidelines/{SLUG}/diff",
        params=refs,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "suffix",
    [
        "/revisions/99999999999999999999",
        "/principles/99999999999999999999/edit",
        "/criteria/99999999999999999999/edit",
    ],
)
def test_an_id_too_large_for_the_database_is_refused(
    staff_client: TestClient, db: Session, builder: User, suffix: str
) -> None:
    make_saved_draft(db, builder)
    assert staff_client.get(edit_url(suffix=suffix)).status_code == 422


def _pdf_text(response: Response) -> str:
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_of_a_draft_holds_every_criterion_and_the_draft_mark(
    staff_client: TestClient, db: Session, builder: User
) -> None:
    version = make_saved_draft(db, builder)
    response = staff_client.get(edit_url(suffix="/pdf"), headers=ENGLISH)
    assert f'filename="{SLUG}-1.0-en.pdf"' in response.headers["content-disposition"]
    text = _pdf_text(response)
    for code in criterion_codes(version):
        assert code in text
    assert "DRAFT" in text
    assert "Criterion TR-1" in text  # the English title


def test_pdf_of_an_adopted_version_in_the_language_cookie_has_no_draft_mark(
    client: TestClient, db: Session, builder: User
) -> None:
    version = make_adopted(db, builder)
    client.cookies.set("lang", "en")
    text = _pdf_text(client.get(edit_url(suffix="/pdf")))
    for code in criterion_codes(version):
        assert code in text
    assert "DRAFT" not in text
    assert "CEIA-2026-001" in text
