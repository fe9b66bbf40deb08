"""Every work list is searched and filtered in SQL: case and accents ignored, any input safe,
the filters kept in the form and in the pager's links, and the same filters on the API."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User, find_user_by_email, issue_api_token
from core.i18n import LOCALE_COOKIE
from core.search import fold, matches_text, search_text
from core.storage import FileStore
from council.demo import DEMO_PASSWORD, seed_demo
from council.demo_scale import seed_scale
from council.models import Ballot, BallotStatus
from guidelines.models import ConsultationComment, Disposition
from quality_marks.models import Application, ApplicationStatus, Organization, Product
from tests.factories import NOW, make_user, sign_in_as

HOSTILE = ["\x00", "a\x00b", "%", "_", "\\", "%_%", "x" * 5000, "' OR 1=1 --", "ñ\x07"]


def _soup(text: str) -> BeautifulSoup:
    return BeautifulSoup(text, "html.parser")


@pytest.fixture
def demo(db: Session, tmp_path: Path) -> Session:
    seed_demo(db, store=FileStore(tmp_path / "store"), base_url="http://testserver", now=NOW)
    db.commit()
    return db


def _as(client: TestClient, db: Session, email: str) -> TestClient:
    person = find_user_by_email(db, email)
    assert person is not None
    sign_in_as(client, person, DEMO_PASSWORD)
    client.cookies.set(LOCALE_COOKIE, "en")
    return client


@pytest.fixture
def staff(client: TestClient, demo: Session) -> TestClient:
    return _as(client, demo, "secretaria@ceia.gob.mx")


def _rows(text: str) -> list[str]:
    return [row.get_text(" ", strip=True) for row in _soup(text).select("table tbody tr")]


def _api(db: Session, client: TestClient, email: str) -> dict[str, str]:
    person = find_user_by_email(db, email)
    assert person is not None
    token = issue_api_token(db, user=person, name="lists", now=NOW)[1]
    return {"Authorization": f"Bearer {token}"}


# What a person types --------------------------------------------------------------------------


def test_typed_text_loses_control_characters_and_is_cut() -> None:
    assert search_text("  Triaje\x00IA \t\n  2.3 ") == "Triaje IA 2.3"
    assert search_text("x" * 5000) == "x" * 100
    assert search_text(None) == ""
    assert fold("LUCÍA Núñez Ángel") == "lucia nunez angel"


def test_wildcards_are_taken_literally_and_accents_ignored(db: Session) -> None:
    for name in ("Ciento 100% real", "a_b", "axb", "Lucía Núñez", "LUCIA NUNEZ"):
        make_user(db, role=Role.expert, full_name=name)
    db.flush()

    def found(text: str) -> set[str]:
        return set(db.scalars(select(User.full_name).where(matches_text(text, User.full_name))))

    assert found("100%") == {"Ciento 100% real"}
    assert found("a_b") == {"a_b"}
    assert found("%") == {"Ciento 100% real"}
    assert found("lucia nuñez") == {"Lucía Núñez", "LUCIA NUNEZ"}
    assert found("NÚÑEZ lucía") == {"Lucía Núñez", "LUCIA NUNEZ"}
    assert found("\x00") >= {"a_b", "axb"}  # nothing left to search for: no condition


# The applications queue ---------------------------------------------------------------------


def test_the_queue_finds_by_organisation_product_or_number_without_case_or_accents(
    staff: TestClient, demo: Session
) -> None:
    triage = demo.scalars(
        select(Application)
        .join(Application.product)
        .where(Application.product.has(name="TriajeIA"))
    ).first()
    assert triage is not None
    rows = _rows(staff.get("/applications", params={"q": "triajeia"}).text)
    assert rows
    assert all("TriajeIA" in row for row in rows)
    by_accent = _rows(staff.get("/applications", params={"q": "ANALITICA"}).text)
    assert by_accent
    assert all("DataSalud Analítica" in row for row in by_accent)
    everything = _rows(staff.get("/applications").text)
    assert len(by_accent) < len(everything)
    by_number = _soup(staff.get("/applications", params={"q": f"#{triage.id}"}).text)
    links = [a["href"] for a in by_number.select("table tbody th a")]
    assert f"/applications/{triage.id}" in links
    assert "No applications match." in staff.get("/applications", params={"q": "no existe"}).text


def test_the_queue_filters_by_status_version_and_age_and_keeps_them(
    staff: TestClient, demo: Session
) -> None:
    drafts = demo.scalars(
        select(Application).where(Application.status == ApplicationStatus.draft)
    ).all()
    version_id = drafts[0].guideline_version_id
    params = {"status": "draft", "version": str(version_id), "q": "s.a."}
    page = _soup(staff.get("/applications", params=params).text)
    rows = page.select("table.queue tbody tr")
    assert 0 < len(rows) <= len(drafts)
    assert all("Draft" in row.text for row in rows)
    form = page.find("form", attrs={"role": "search"})
    assert form is not None
    assert form["method"] == "get"
    assert form.find("input", attrs={"name": "q"})["value"] == "s.a."  # type: ignore[index]
    for name, value in (("status", "draft"), ("version", str(version_id))):
        select_ = form.find("select", attrs={"name": name})
        assert select_.find("option", selected=True)["value"] == value  # type: ignore[union-attr,index]
    clear = form.find("a", string="Clear filters")
    assert clear is not None
    assert clear["href"] == "/applications"
    # Age: one application left untouched for 100 days, the rest of the demo is recent.
    idle, recent = demo.scalars(select(Application).order_by(Application.id).limit(2))
    idle.updated_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)
    recent.updated_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    demo.commit()
    old = _soup(staff.get("/applications", params={"waiting": "90"}).text)
    links = {a["href"] for a in old.select("table.queue tbody th a")}
    assert f"/applications/{idle.id}" in links
    assert f"/applications/{recent.id}" not in links


def test_the_queues_pages_keep_the_filters(client: TestClient, demo: Session) -> None:
    seed_scale(demo, scale=120, now=NOW)
    demo.commit()
    staff = _as(client, demo, "secretaria@ceia.gob.mx")
    version = demo.scalars(
        select(Application.guideline_version_id).order_by(Application.id.desc())
    ).first()
    kept = f"q=ESCALA&amp;version={version}"
    first = staff.get("/applications", params={"q": "ESCALA", "version": version}).text
    assert f'rel="next" href="/applications?{kept}&amp;page=2"' in first
    second = staff.get("/applications", params={"q": "ESCALA", "version": version, "page": 2})
    assert f'rel="prev" href="/applications?{kept}"' in second.text
    assert f'rel="next" href="/applications?{kept}&amp;page=3"' in second.text
    assert all("Escala" in row for row in _rows(second.text))


def test_any_input_is_safe_on_every_list_and_api(staff: TestClient, demo: Session) -> None:
    headers = _api(demo, staff, "secretaria@ceia.gob.mx")
    demo.commit()
    for text in HOSTILE:
        for path in (
            "/applications",
            "/organisations",
            "/admin/users",
            "/council/ballots",
            "/guidelines/etica-ia/1.1/consultation/dispositions",
        ):
            answer = staff.get(path, params={"q": text, "status": text, "version": text})
            assert answer.status_code == 200, (path, text)
        for path in (
            "/api/v1/applications",
            "/api/v1/organisations",
            "/api/v1/users",
            "/api/v1/guidelines/etica-ia/versions/1.1/comments",
        ):
            answer = staff.get(path, params={"q": text[:400]}, headers=headers)
            assert answer.status_code == 200, (path, text)


def test_the_api_lists_take_the_same_filters(staff: TestClient, demo: Session) -> None:
    headers = _api(demo, staff, "secretaria@ceia.gob.mx")
    company = _api(demo, staff, "legal@finintel.example.mx")
    demo.commit()
    found = staff.get("/api/v1/applications", params={"q": "triajeia"}, headers=headers).json()
    assert found["total"] >= 1
    triage = demo.scalar(select(Product.id).where(Product.name == "TriajeIA"))
    assert {item["product_id"] for item in found["items"]} == {triage}
    # A company's search stays within its own applications.
    theirs = staff.get("/api/v1/applications", params={"q": "triajeia"}, headers=company).json()
    assert theirs["total"] == 0
    unverified = staff.get(
        "/api/v1/organisations",
        params={"verification": "verified", "q": "finintel"},
        headers=headers,
    ).json()
    assert [o["legal_name"] for o in unverified["items"]] == [
        "FinIntel Servicios Financieros, S.A.P.I. de C.V."
    ]
    people = staff.get(
        "/api/v1/users", params={"q": "LUCIA hernandez", "role": "council_member"}, headers=headers
    ).json()
    assert [p["email"] for p in people["items"]] == ["lhernandez@ceia.gob.mx"]
    experts = staff.get("/api/v1/users", params={"role": "expert"}, headers=headers).json()
    assert {p["role"] for p in experts["items"]} == {"expert"}
    assert (
        staff.get("/api/v1/applications", params={"waiting": "8"}, headers=headers).status_code
        == 422
    )
    spec = staff.get("/api/v1/openapi.json").json()
    documented = {p["name"] for p in spec["paths"]["/api/v1/applications"]["get"]["parameters"]}
    assert {"q", "status", "version", "waiting"} <= documented


# Comments, ballots, organisations, people --------------------------------------------------


def test_the_comment_list_filters_by_text_criterion_state_and_disposition(
    staff: TestClient, demo: Session
) -> None:
    path = "/guidelines/etica-ia/1.1/consultation/dispositions"
    everything = _rows(staff.get(path).text)
    assert len(everything) == len(demo.scalars(select(ConsultationComment.id)).all()) > 1
    lenguas = _rows(staff.get(path, params={"q": "LENGUA INDIGENA"}).text)
    assert len(lenguas) >= 1
    assert all("TR-2" in row for row in lenguas)
    by_criterion = _rows(staff.get(path, params={"criterion": "pr-3"}).text)
    assert by_criterion
    assert all("PR-3" in row for row in by_criterion)
    # Answer one comment, hide none: the filters split the list.
    comment = demo.scalars(
        select(ConsultationComment).where(ConsultationComment.target_code == "PR-3")
    ).first()
    assert comment is not None
    comment.disposition = Disposition.partly_accepted
    comment.response = "Se publicará una plantilla para MIPYMES."
    demo.commit()
    answered = _rows(staff.get(path, params={"state": "answered"}).text)
    assert len(answered) == 1
    assert "Partly accepted" in answered[0]
    assert len(_rows(staff.get(path, params={"disposition": "partly_accepted"}).text)) == 1
    awaiting = _rows(staff.get(path, params={"state": "awaiting"}).text)
    assert len(awaiting) == len(everything) - 1
    assert "No comments match." in staff.get(path, params={"disposition": "noted"}).text
    # The public API finds by text, never by an e-mail address.
    api = "/api/v1/guidelines/etica-ia/versions/1.1/comments"
    assert staff.get(api, params={"q": "plantilla mipymes"}).json()["total"] >= 1
    assert staff.get(api, params={"q": "redlenguas.example.org"}).json()["total"] == 0
    assert staff.get(api, params={"disposition": "partly_accepted"}).json()["total"] == 1


def test_the_ballot_list_filters_by_text_state_kind_and_result(
    client: TestClient, demo: Session
) -> None:
    member = _as(client, demo, "presidencia@ceia.gob.mx")
    ballots = demo.scalars(select(Ballot)).all()
    assert ballots
    closed = [b for b in ballots if b.status == BallotStatus.closed]
    sample = closed[0] if closed else ballots[0]
    word = sample.title_en.split()[-1]
    page = _soup(member.get("/council/ballots", params={"q": word.upper()}).text)
    titles = [a.text for a in page.select("table tbody a[href^='/council/ballots/']")]
    assert sample.title_en in titles or sample.title_es in titles
    only_open = member.get("/council/ballots", params={"status": "open"}).text
    assert "No closed ballots." in only_open
    kind = member.get("/council/ballots", params={"kind": sample.subject_type}).text
    assert f'href="/council/ballots/{sample.id}"' in kind
    other_kinds = {b.subject_type for b in ballots} - {sample.subject_type}
    for other in other_kinds:
        listed = member.get("/council/ballots", params={"kind": other}).text
        assert f'href="/council/ballots/{sample.id}"' not in listed
    # Members see no export links; the export is the secretariat's.
    assert "/exports/ballots.csv" not in only_open


def test_the_organisation_and_people_lists_search_and_filter(
    staff: TestClient, demo: Session
) -> None:
    rfc = demo.scalars(select(Organization.rfc).order_by(Organization.id)).first()
    assert rfc is not None
    by_rfc = _rows(staff.get("/organisations", params={"q": rfc.lower()}).text)
    assert len(by_rfc) == 1
    assert rfc in by_rfc[0]
    verified = _rows(staff.get("/organisations", params={"verification": "verified"}).text)
    assert verified
    assert all("Verified" in row for row in verified)
    assert (
        "No organisations match."
        in staff.get("/organisations", params={"verification": "rejected", "q": "zzz"}).text
    )
    people = _rows(staff.get("/admin/users", params={"q": "núñez"}).text)
    assert len(people) == 1
    assert "experta.salud@unam.example.mx" in people[0]
    members = _rows(staff.get("/admin/users", params={"role": "council_member"}).text)
    assert len(members) == 5
    invited = staff.get("/admin/users", params={"state": "invited"}).text
    assert "No accounts match." in invited
    page = _soup(staff.get("/admin/users", params={"role": "expert"}).text)
    assert page.select_one("#f-filter-role option[selected]")["value"] == "expert"  # type: ignore[index]
    assert page.select_one("#f-role") is not None  # the invitation form keeps its own ids
