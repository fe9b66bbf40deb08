"""The council's pages over HTTP: members and interests, roster, conflict checks, ballots."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.auth import now_utc
from core.documents import StoredDocument
from council.members import declare_interest, revise_interest
from council.models import (
    Ballot,
    BallotResult,
    BallotStatus,
    ConflictDismissal,
    CouncilMember,
    InterestDeclaration,
    InterestType,
    Position,
    PositionKind,
    Resolution,
    Seat,
    Term,
)
from guidelines.documents import load_version_tree
from guidelines.models import GuidelineVersion, VersionStatus
from guidelines.service import (
    closing_moment,
    get_guideline,
    open_consultation,
    start_new_draft,
    update_criterion,
)
from tests.conftest import csrf_of
from tests.council.builders import seat_council, seat_member
from tests.factories import NOW, make_user, sign_in_as
from tests.guidelines.builders import adopt, make_criterion_input, make_draft

ENGLISH = {"Accept-Language": "en"}
CLOSES_ON = dt.date(2026, 12, 2)
AFTER_CLOSING = closing_moment(CLOSES_ON) + dt.timedelta(hours=1)
DATASALUD = "DataSalud Analítica"
DATASALUD_RFC = "DSA180523KL9"
PRIVATE_NOTE = "Honorarios de asesoría, confidencial"


@dataclass
class Clock:
    """The time every request sees; a test may move it past a ballot's closing time."""

    now: dt.datetime


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    """Requests see the clock's time, NOW at first (the terms of the builders cover it)."""
    pinned = Clock(NOW)
    app.dependency_overrides[now_utc] = lambda: pinned.now
    return pinned


@pytest.fixture
def browser(client: TestClient, clock: Clock) -> TestClient:
    """The test client, reading pages in English."""
    client.headers.update(ENGLISH)
    return client


@pytest.fixture
def public(app: FastAPI, clock: Clock) -> Iterator[TestClient]:
    """An anonymous visitor with a cookie jar of their own, reading in English."""
    with TestClient(
        app, base_url="http://testserver", follow_redirects=False, headers=ENGLISH
    ) as visitor:
        yield visitor


@dataclass
class Council:
    """A seated council of five and the secretariat account that seated it."""

    secretariat: User
    chair: User
    secretary: User
    members: list[User]
    seats: dict[int, CouncilMember]

    @property
    def everyone(self) -> list[User]:
        """Chair, secretary, then the members by name: the order of the public page."""
        return [self.chair, self.secretary, *sorted(self.members, key=lambda u: u.full_name)]


@pytest.fixture
def council(db: Session) -> Council:
    secretariat, seated = seat_council(db, 5)
    db.commit()
    users = [user for user, _ in seated]
    return Council(
        secretariat=secretariat,
        chair=users[0],
        secretary=users[1],
        members=users[2:],
        seats={user.id: member for user, member in seated},
    )


def soup(response: Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def one(page: BeautifulSoup | Tag, selector: str) -> Tag:
    found = page.select_one(selector)
    assert found is not None, f"nothing matches {selector}"
    return found


def text_of(page: BeautifulSoup | Tag, selector: str) -> str:
    return " ".join(one(page, selector).get_text(" ").split())


def texts(page: BeautifulSoup | Tag, selector: str) -> list[str]:
    return [" ".join(tag.get_text(" ").split()) for tag in page.select(selector)]


def post_form(client: TestClient, path: str, data: Mapping[str, Any] | None = None) -> Response:
    """Post a form the way the browser does, with the session's CSRF token."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_of(client, "/")})


def count(db: Session, model: Any) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


# The public council page ---------------------------------------------------------------------


def test_council_page_lists_members_in_term_with_current_public_interests(
    db: Session, public: TestClient, council: Council
) -> None:
    gone, _ = seat_member(
        db, council.secretariat, starts_on=dt.date(2020, 1, 1), ends_on=dt.date(2023, 12, 31)
    )
    declare_interest(
        db,
        actor=council.chair,
        organisation=DATASALUD,
        rfc=DATASALUD_RFC,
        interest_type=InterestType.consulting,
        starts_on=dt.date(2025, 1, 1),
        ends_on=None,
        note=PRIVATE_NOTE,
        now=NOW,
    )
    old = declare_interest(
        db,
        actor=council.members[0],
        organisation="Instituto Antiguo",
        rfc="",
        interest_type=InterestType.collaboration,
        starts_on=None,
        ends_on=None,
        note="",
        now=NOW,
    )
    revise_interest(
        db,
        actor=council.members[0],
        declaration_id=old.id,
        organisation="Instituto Renovado",
        rfc="",
        interest_type=InterestType.employment,
        starts_on=None,
        ends_on=None,
        note="",
        now=NOW,
    )
    declare_interest(
        db,
        actor=gone,
        organisation="Empresa del Miembro Saliente",
        rfc="",
        interest_type=InterestType.shareholding,
        starts_on=None,
        ends_on=None,
        note="",
        now=NOW,
    )
    db.commit()

    response = public.get("/council")

    assert response.status_code == 200
    page = soup(response)
    cards = page.select("article.member-card")
    assert [text_of(card, "h2") for card in cards] == [u.full_name for u in council.everyone]
    assert gone.full_name not in response.text
    assert "Empresa del Miembro Saliente" not in response.text
    chair_card = cards[0]
    member_card = cards[
        2 + sorted(council.members, key=lambda u: u.full_name).index(council.members[0])
    ]
    assert texts(chair_card, "ul li") == [
        f"{DATASALUD} ({DATASALUD_RFC}) — Consulting, since January 1, 2025"
    ]
    assert texts(member_card, "ul li") == ["Instituto Renovado — Employment"]
    assert "Instituto Antiguo" not in response.text
    assert PRIVATE_NOTE not in response.text


# A member's register of interests ------------------------------------------------------------


def _current_summaries(page: BeautifulSoup) -> list[str]:
    return texts(page, "details.card summary")


def _history_statuses(page: BeautifulSoup) -> list[tuple[str, str]]:
    rows = page.select("section[aria-labelledby=history-heading] tbody tr")
    return [(text_of(row, "td:nth-of-type(2)"), text_of(row, "td:nth-of-type(4)")) for row in rows]


def test_member_declares_revises_and_retracts_an_interest(db: Session, browser: TestClient) -> None:
    member = make_user(db, role=Role.council_member)
    db.commit()
    sign_in_as(browser, member)

    empty = soup(browser.get("/council/interests"))
    assert _current_summaries(empty) == []
    assert one(empty, 'form[action="/council/interests"] input[name=organisation]')["value"] == ""

    declared = post_form(
        browser,
        "/council/interests",
        {
            "organisation": DATASALUD,
            "rfc": DATASALUD_RFC.lower(),
            "interest_type": "consulting",
            "starts_on": "2025-01-01",
            "ends_on": "",
            "note": PRIVATE_NOTE,
        },
    )
    assert declared.status_code == 303
    assert declared.headers["location"] == "/council/interests"
    row = db.scalars(select(InterestDeclaration)).one()
    assert (row.user_id, row.rfc, row.note) == (member.id, DATASALUD_RFC, PRIVATE_NOTE)
    page = soup(browser.get("/council/interests"))
    assert _current_summaries(page) == [f"{DATASALUD} — Consulting"]
    revise_form = one(page, f'form[action="/council/interests/{row.id}"]')
    assert one(revise_form, "input[name=organisation]")["value"] == DATASALUD
    assert one(revise_form, "input[name=rfc]")["value"] == DATASALUD_RFC
    assert one(revise_form, "select[name=interest_type] option[selected]")["value"] == "consulting"

    invalid = post_form(
        browser,
        "/council/interests",
        {"organisation": "FinIntel Servicios", "rfc": "NO-ES-RFC", "interest_type": "employment"},
    )
    assert invalid.status_code == 422
    form = one(soup(invalid), 'form[action="/council/interests"]')
    assert one(form, "input[name=organisation]")["value"] == "FinIntel Servicios"
    assert one(form, "input[name=rfc]").get("aria-invalid") == "true"
    assert text_of(form, "#f-rfc-error") == "The RFC does not have a valid format."
    assert one(form, "input[name=organisation]").get("aria-invalid") is None
    assert count(db, InterestDeclaration) == 1

    revised = post_form(
        browser,
        f"/council/interests/{row.id}",
        {"organisation": DATASALUD, "rfc": DATASALUD_RFC, "interest_type": "employment"},
    )
    assert revised.status_code == 303
    versions = db.scalars(
        select(InterestDeclaration)
        .where(InterestDeclaration.series_id == row.id)
        .order_by(InterestDeclaration.id)
    ).all()
    assert len(versions) == 2
    assert versions[0].superseded_at == NOW
    assert versions[1].superseded_at is None
    page = soup(browser.get("/council/interests"))
    assert _current_summaries(page) == [f"{DATASALUD} — Employment"]
    assert _history_statuses(page) == [(DATASALUD, "Current"), (DATASALUD, "Replaced")]

    retracted = post_form(browser, f"/council/interests/{versions[1].id}/retract")
    assert retracted.status_code == 303
    page = soup(browser.get("/council/interests"))
    assert _current_summaries(page) == []
    assert _history_statuses(page) == [(DATASALUD, "Withdrawn"), (DATASALUD, "Replaced")]


def test_declaration_without_the_optional_fields_is_accepted(
    db: Session, browser: TestClient
) -> None:
    expert = make_user(db, role=Role.expert)
    db.commit()
    sign_in_as(browser, expert)

    response = post_form(
        browser,
        "/council/interests",
        {
            "organisation": "FinIntel",
            "rfc": "",
            "interest_type": "family",
            "starts_on": "",
            "ends_on": "",
            "note": "",
        },
    )

    assert response.status_code == 303, response.text
    row = db.scalars(select(InterestDeclaration)).one()
    assert (row.rfc, row.starts_on, row.ends_on, row.note) == ("", None, None, "")


def test_invalid_declaration_keeps_empty_fields_empty(db: Session, browser: TestClient) -> None:
    member = make_user(db, role=Role.council_member)
    db.commit()
    sign_in_as(browser, member)

    response = post_form(
        browser,
        "/council/interests",
        {"organisation": "", "rfc": "", "interest_type": "employment", "starts_on": ""},
    )

    assert response.status_code == 422
    form = one(soup(response), 'form[action="/council/interests"]')
    assert one(form, "input[name=organisation]").get("aria-invalid") == "true"
    assert one(form, "input[name=rfc]")["value"] == ""
    assert one(form, "input[name=starts_on]")["value"] == ""
    assert one(form, "textarea[name=note]").get_text() == ""


def test_interests_page_is_for_members_and_experts(
    db: Session, browser: TestClient, public: TestClient
) -> None:
    anonymous = public.get("/council/interests")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/signin?next=")

    applicant = make_user(db, role=Role.applicant)
    db.commit()
    sign_in_as(browser, applicant)
    assert browser.get("/council/interests").status_code == 403
    forged = post_form(
        browser, "/council/interests", {"organisation": "X", "interest_type": "other"}
    )
    assert forged.status_code == 403
    assert count(db, InterestDeclaration) == 0


# The secretariat's roster ----------------------------------------------------------------------


def _term_form(page: BeautifulSoup, member_id: int) -> Tag:
    return one(page, f'form[action="/council/members/{member_id}/terms"]')


def test_secretariat_seats_a_member_and_adds_terms(db: Session, browser: TestClient) -> None:
    staff = make_user(db, role=Role.secretariat)
    lucia = make_user(db, role=Role.council_member, full_name="Lucía Ortega Ríos")
    make_user(db, role=Role.expert, full_name="Experta Sin Asiento")
    db.commit()
    sign_in_as(browser, staff)

    page = soup(browser.get("/council/members"))
    options = [o["value"] for o in page.select("select[name=user_id] option") if o["value"]]
    assert options == [str(lucia.id)]

    seated = post_form(
        browser,
        "/council/members",
        {
            "user_id": str(lucia.id),
            "seat": "member",
            "areas": "ética, salud",
            "starts_on": "2026-01-01",
            "ends_on": "2028-12-31",
        },
    )
    assert seated.status_code == 303
    assert seated.headers["location"] == "/council/members"
    member = db.scalars(select(CouncilMember).where(CouncilMember.user_id == lucia.id)).one()
    assert (member.seat, member.areas) == (Seat.member, ["ética", "salud"])
    page = soup(browser.get("/council/members"))
    assert texts(page, "tbody tr td:nth-of-type(1)") == ["Lucía Ortega Ríos"]
    assert texts(page, "tbody tr td:nth-of-type(4)") == ["In term"]

    added = post_form(
        browser,
        f"/council/members/{member.id}/terms",
        {"starts_on": "2029-01-01", "ends_on": "2031-12-31"},
    )
    assert added.status_code == 303
    terms = db.scalars(select(Term).where(Term.member_id == member.id).order_by(Term.starts_on))
    assert [(t.starts_on, t.ends_on) for t in terms] == [
        (dt.date(2026, 1, 1), dt.date(2028, 12, 31)),
        (dt.date(2029, 1, 1), dt.date(2031, 12, 31)),
    ]

    overlapping = post_form(
        browser,
        f"/council/members/{member.id}/terms",
        {"starts_on": "2028-06-01", "ends_on": "2029-06-30"},
    )
    assert overlapping.status_code == 422
    form = _term_form(soup(overlapping), member.id)
    assert one(form, "input[name=starts_on]").get("aria-invalid") == "true"
    assert text_of(form, ".field-error") == "The term overlaps an existing term."
    assert count(db, Term) == 2


def test_invalid_appointment_keeps_the_values(db: Session, browser: TestClient) -> None:
    staff = make_user(db, role=Role.secretariat)
    pablo = make_user(db, role=Role.council_member)
    db.commit()
    sign_in_as(browser, staff)

    response = post_form(
        browser,
        "/council/members",
        {
            "user_id": str(pablo.id),
            "seat": "chair",
            "areas": "salud",
            "starts_on": "2027-01-01",
            "ends_on": "2026-06-30",
        },
    )

    assert response.status_code == 422
    form = one(soup(response), 'form[action="/council/members"]')
    assert one(form, "select[name=user_id] option[selected]")["value"] == str(pablo.id)
    assert one(form, "select[name=seat] option[selected]")["value"] == "chair"
    assert one(form, "input[name=areas]")["value"] == "salud"
    assert one(form, "input[name=starts_on]")["value"] == "2027-01-01"
    ends_on = one(form, "input[name=ends_on]")
    assert (ends_on["value"], ends_on.get("aria-invalid")) == ("2026-06-30", "true")
    assert text_of(form, "#f-ends_on-error") == "The term must end after it starts."
    assert count(db, CouncilMember) == 0


def test_roster_is_the_secretariats(db: Session, browser: TestClient, council: Council) -> None:
    candidate = make_user(db, role=Role.council_member)
    db.commit()
    sign_in_as(browser, council.chair)

    assert browser.get("/council/members").status_code == 403
    forged = post_form(
        browser,
        "/council/members",
        {
            "user_id": str(candidate.id),
            "seat": "member",
            "starts_on": "2026-01-01",
            "ends_on": "2027-12-31",
        },
    )
    assert forged.status_code == 403
    chair_seat = council.seats[council.chair.id]
    extra_term = post_form(
        browser,
        f"/council/members/{chair_seat.id}/terms",
        {"starts_on": "2029-01-01", "ends_on": "2030-12-31"},
    )
    assert extra_term.status_code == 403
    assert count(db, CouncilMember) == 5
    assert count(db, Term) == 5


# Conflict checks ---------------------------------------------------------------------------


CHECK = {
    "email": "ana@datasalud.example.mx",
    "organisation": "DataSalud Analítica, S.A. de C.V.",
    "rfc": "",
    "email_domain": "datasalud.example.mx",
}


def test_chair_dismisses_a_detected_conflict(
    db: Session, browser: TestClient, council: Council
) -> None:
    ana = make_user(db, role=Role.expert, email=CHECK["email"])
    db.commit()
    sign_in_as(browser, council.chair)

    page = soup(browser.get("/council/conflicts", params=CHECK))
    conflicts = page.select("li.conflict")
    assert len(conflicts) == 1
    assert text_of(conflicts[0], "strong") == "Same e-mail domain as the organisation"
    form = one(conflicts[0], 'form[action="/council/conflicts/dismiss"]')
    hidden = {str(i["name"]): str(i["value"]) for i in form.select("input[type=hidden]")}
    assert hidden["user_id"] == str(ana.id)
    assert hidden["kind"] == "email_domain"
    assert hidden["organisation"] == CHECK["organisation"]

    dismissed = browser.post(
        "/council/conflicts/dismiss",
        data={**hidden, "reason": "Dominio de un consorcio; trabaja en otra filial."},
    )
    assert dismissed.status_code == 303
    assert dismissed.headers["location"].startswith("/council/conflicts?email=")
    row = db.scalars(select(ConflictDismissal)).one()
    assert (row.user_id, row.kind, row.dismissed_by_id) == (
        ana.id,
        "email_domain",
        council.chair.id,
    )

    after = soup(browser.get(dismissed.headers["location"]))
    conflicts = after.select("li.conflict")
    assert len(conflicts) == 1
    assert "dismissed by the chair" in conflicts[0].get_text(" ")
    assert conflicts[0].select("form") == []


def test_only_the_chair_may_dismiss_a_conflict(
    db: Session, browser: TestClient, council: Council
) -> None:
    ana = make_user(db, role=Role.expert, email=CHECK["email"])
    db.commit()
    sign_in_as(browser, council.members[0])

    page = soup(browser.get("/council/conflicts", params=CHECK))
    assert len(page.select("li.conflict")) == 1
    assert page.select('form[action="/council/conflicts/dismiss"]') == []

    forged = post_form(
        browser,
        "/council/conflicts/dismiss",
        {**CHECK, "user_id": str(ana.id), "kind": "email_domain", "reason": "Sin relación."},
    )
    assert forged.status_code == 403
    assert count(db, ConflictDismissal) == 0


# Ballots -----------------------------------------------------------------------------------


def ballot_form(**overrides: str) -> dict[str, str]:
    data = {
        "slug": "etica-ia",
        "number": "1.0",
        "rule": "simple_majority",
        "quorum_percent": "50",
        "closes_on": CLOSES_ON.isoformat(),
        "effective_on": "2027-01-01",
        "consultation_skipped_reason": "Versión de prueba sin consulta.",
    }
    data.update(overrides)
    return data


def lead(page: BeautifulSoup) -> str:
    return text_of(page, "section.ballot-status p.ballot-outlook")


def not_voted(page: BeautifulSoup) -> list[str]:
    for term in page.select("section.ballot-status dt"):
        if term.get_text(strip=True) == "Not voted yet":
            definition = term.find_next_sibling("dd")
            assert definition is not None
            return definition.get_text(strip=True).split(", ")
    return []


def history(page: BeautifulSoup) -> list[str]:
    return texts(page, "main ol li")


def cast(client: TestClient, user: User, ballot_id: int, kind: str, text: str = "") -> Response:
    sign_in_as(client, user)
    return post_form(
        client, f"/council/ballots/{ballot_id}/positions", {"kind": kind, "text": text}
    )


def test_ballot_from_opening_to_resolution(
    db: Session, browser: TestClient, public: TestClient, clock: Clock, council: Council
) -> None:
    version = make_draft(db, council.secretariat)
    expert = make_user(db, role=Role.expert)
    applicant = make_user(db, role=Role.applicant)
    db.commit()
    chair, secretary = council.chair, council.secretary
    first, second, third = council.members

    sign_in_as(browser, secretary)
    opened = post_form(browser, "/council/ballots", ballot_form())
    assert opened.status_code == 303, opened.text
    ballot = db.scalars(select(Ballot)).one()
    assert opened.headers["location"] == f"/council/ballots/{ballot.id}"
    assert ballot.closes_at == closing_moment(CLOSES_ON)
    assert ballot.terms == {
        "effective_on": "2027-01-01",
        "revision": version.revision_number,
        "replaces": [],
        "consultation_skipped_reason": "Versión de prueba sin consulta.",
        "base_url": "http://testserver",
        "reassessment_days": 90,
    }
    url = f"/council/ballots/{ballot.id}"

    page = soup(browser.get(url))
    # Five count: a simple majority needs three, quorum (50 %) three positions.
    assert lead(page) == "Needs 3 more positions to pass."
    assert sorted(not_voted(page)) == sorted(u.full_name for u in council.everyone)
    assert history(page) == ["No positions yet."]

    assert cast(browser, first, ballot.id, "yes").status_code == 303
    page = soup(browser.get(url))
    assert lead(page) == "Needs 2 more positions to pass."
    assert first.full_name not in not_voted(page)

    # A recusal leaves the count: four count, three needed in favour.
    assert cast(browser, second, ballot.id, "recuse").status_code == 303
    page = soup(browser.get(url))
    assert lead(page) == "Needs 2 more positions to pass."
    assert sorted(not_voted(page)) == sorted(
        [chair.full_name, secretary.full_name, third.full_name]
    )

    silent = cast(browser, third, ballot.id, "discuss")
    assert silent.status_code == 422
    page = soup(silent)
    assert one(page, "#f-text").get("aria-invalid") == "true"
    assert text_of(page, "#f-text-error") == "A discuss position must say what needs discussing."
    assert one(page, "input[name=kind][checked]")["value"] == "discuss"
    assert (
        db.scalar(select(Position).where(Position.member_id == council.seats[third.id].id)) is None
    )

    discussed = post_form(
        browser, f"{url}/positions", {"kind": "discuss", "text": "Falta un criterio de sesgo."}
    )
    assert discussed.status_code == 303
    page = soup(browser.get(url))
    assert lead(page) == "Blocked by 1 discuss position until it is cleared."

    assert cast(browser, first, ballot.id, "no_objection").status_code == 303
    page = soup(browser.get(url))
    assert one(page, "input[name=kind][checked]")["value"] == "no_objection"
    entries = [line.split(" — ", 1)[1] for line in history(page)]
    assert f"{first.full_name}: Yes (changed later)" in entries
    assert f"{first.full_name}: No objection" in entries

    assert cast(browser, third, ballot.id, "yes").status_code == 303
    page = soup(browser.get(url))
    assert lead(page) == "Needs 1 more position to pass."
    assert f"{third.full_name}: Discuss (changed later)" in [
        line.split(" — ", 1)[1] for line in history(page)
    ]

    for outsider in (expert, applicant):
        sign_in_as(browser, outsider)
        assert browser.get(url).status_code == 403

    sign_in_as(browser, secretary)
    page = soup(browser.get(url))
    assert page.select(f'form[action="{url}/close"]') == []
    early = post_form(browser, f"{url}/close")
    assert early.status_code == 409
    db.refresh(ballot)
    assert ballot.status == BallotStatus.open
    assert count(db, Resolution) == 0

    assert cast(browser, chair, ballot.id, "yes").status_code == 303
    page = soup(browser.get(url))
    assert lead(page) == "Passes as it stands."
    assert not_voted(page) == [secretary.full_name]

    clock.now = AFTER_CLOSING
    sign_in_as(browser, secretary)
    page = soup(browser.get(url))
    assert page.select("input[name=kind]") == []  # closed for positions
    one(page, f'form[action="{url}/close"]')
    closed = post_form(browser, f"{url}/close")
    assert closed.status_code == 303
    assert closed.headers["location"] == "/council/resolutions/CEIA-2026-001"
    db.refresh(ballot)
    assert (ballot.status, ballot.result) == (BallotStatus.closed, BallotResult.passed)

    resolution = public.get("/council/resolutions/CEIA-2026-001")
    assert resolution.status_code == 200
    rows = soup(resolution).select("main table tbody tr")
    positions = {
        text_of(row, "td:nth-of-type(1)"): text_of(row, "td:nth-of-type(2)") for row in rows
    }
    assert positions == {
        chair.full_name: "Yes",
        secretary.full_name: "Did not vote",
        first.full_name: "No objection",
        second.full_name: "Recuse",
        third.full_name: "Yes",
    }
    assert "CEIA-2026-001" in text_of(soup(resolution), "h1")

    pdf = public.get("/council/resolutions/CEIA-2026-001/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "CEIA-2026-001" in text
    # A resolution never changes: drawn once, then the stored bytes, and 304 to whoever has them.
    assert public.get("/council/resolutions/CEIA-2026-001/pdf").content == pdf.content
    assert pdf.headers["cache-control"] == "public, max-age=300"
    again = {"If-None-Match": pdf.headers["etag"]}
    assert public.get("/council/resolutions/CEIA-2026-001/pdf", headers=again).status_code == 304
    assert public.get("/council/resolutions/CEIA-2026-001").text == resolution.text
    assert count(db, StoredDocument) == 2  # the page's document part and the PDF

    adopted = db.get(GuidelineVersion, version.id)
    assert adopted is not None
    db.refresh(adopted)
    assert adopted.status == VersionStatus.adopted
    assert adopted.adoption_resolution == "CEIA-2026-001"
    assert adopted.effective_on == dt.date(2027, 1, 1)
    version_page = public.get("/guidelines/etica-ia/1.0")
    assert version_page.status_code == 200
    assert "CEIA-2026-001" in version_page.text


def test_ballot_pages_list_the_ballot_for_voters(
    db: Session, browser: TestClient, council: Council
) -> None:
    make_draft(db, council.secretariat)
    db.commit()
    sign_in_as(browser, council.secretary)
    form = soup(browser.get("/council/ballots/new?slug=etica-ia&number=1.0"))
    assert one(form, "input[name=slug]")["value"] == "etica-ia"
    assert one(form, "input[name=closes_on]")["value"] == "2026-12-02"
    assert post_form(browser, "/council/ballots", ballot_form()).status_code == 303
    ballot = db.scalars(select(Ballot)).one()

    sign_in_as(browser, council.members[0])
    listing = soup(browser.get("/council/ballots"))
    assert [a["href"] for a in listing.select("tbody a")] == [f"/council/ballots/{ballot.id}"]


def test_opening_a_ballot_on_an_adopted_version_is_refused(
    db: Session, browser: TestClient, council: Council
) -> None:
    adopt(db, make_draft(db, council.secretariat))
    db.commit()
    sign_in_as(browser, council.secretary)

    response = post_form(browser, "/council/ballots", ballot_form())

    assert response.status_code == 409
    page = soup(response)
    assert (
        text_of(page, ".form-error")
        == "Only a draft or a version in consultation can be put to adoption."
    )
    assert one(page, "input[name=slug]")["value"] == "etica-ia"
    assert count(db, Ballot) == 0


def test_opening_a_ballot_that_closes_in_the_past_is_invalid(
    db: Session, browser: TestClient, council: Council
) -> None:
    make_draft(db, council.secretariat)
    db.commit()
    sign_in_as(browser, council.secretary)

    response = post_form(browser, "/council/ballots", ballot_form(closes_on="2026-11-20"))

    assert response.status_code == 422
    page = soup(response)
    closes_on = one(page, "input[name=closes_on]")
    assert (closes_on["value"], closes_on.get("aria-invalid")) == ("2026-11-20", "true")
    assert text_of(page, "#f-closes_on-error") == "The ballot must close in the future."
    assert count(db, Ballot) == 0


def test_an_ordinary_member_cannot_open_a_ballot(
    db: Session, browser: TestClient, council: Council
) -> None:
    make_draft(db, council.secretariat)
    db.commit()
    sign_in_as(browser, council.members[0])

    response = post_form(browser, "/council/ballots", ballot_form())

    assert response.status_code == 403
    assert count(db, Ballot) == 0


def test_members_positions_are_refused_once_the_ballot_has_closed(
    db: Session, browser: TestClient, clock: Clock, council: Council
) -> None:
    make_draft(db, council.secretariat)
    db.commit()
    sign_in_as(browser, council.secretary)
    assert post_form(browser, "/council/ballots", ballot_form()).status_code == 303
    ballot = db.scalars(select(Ballot)).one()

    clock.now = AFTER_CLOSING
    late = cast(browser, council.members[0], ballot.id, PositionKind.yes.value)

    assert late.status_code == 409
    assert count(db, Position) == 0


# What a ballot adopts --------------------------------------------------------------------------

SKIP_REASON = "Reforma legal urgente; la consulta se hará en la siguiente versión."


def _reworded_draft(db: Session, council: Council, number: str = "1.1") -> GuidelineVersion:
    """A draft copied from the version in force, with EQ-1 reworded."""
    guideline = get_guideline(db, "etica-ia")
    draft = start_new_draft(
        db, actor=council.secretariat, guideline=guideline, number=number, now=NOW
    )
    tree = load_version_tree(db, draft.id)
    (criterion,) = [c for p in tree.principles for c in p.criteria if c.code == "EQ-1"]
    update_criterion(
        db,
        actor=council.secretariat,
        version=tree,
        criterion_id=criterion.id,
        data=make_criterion_input("EQ-1", "EQ", "El proveedor debe auditar EQ-1."),
        expected_revision=None,
        now=NOW,
    )
    db.commit()
    return load_version_tree(db, draft.id)


def test_the_ballot_page_shows_the_changes_from_the_version_in_force_and_no_consultation(
    db: Session, browser: TestClient, public: TestClient, clock: Clock, council: Council
) -> None:
    adopt(db, make_draft(db, council.secretariat))
    _reworded_draft(db, council)
    sign_in_as(browser, council.secretary)
    refused = post_form(
        browser, "/council/ballots", ballot_form(number="1.1", consultation_skipped_reason="")
    )
    assert refused.status_code == 422
    assert text_of(soup(refused), "#f-consultation_skipped_reason-error") == (
        "This version did not go through public consultation; give the reason for adopting it "
        "without one."
    )
    opened = post_form(
        browser,
        "/council/ballots",
        ballot_form(number="1.1", consultation_skipped_reason=SKIP_REASON),
    )
    assert opened.status_code == 303
    page = soup(browser.get(opened.headers["location"]))
    adoption = one(page, "section[aria-labelledby=adoption-heading]")
    facts = " ".join(adoption.get_text(" ").split())
    assert "The draft did not go through public consultation." in facts
    assert SKIP_REASON in facts
    assert "Changes from version 1.0, in force now, to 1.1" in facts
    changed = one(adoption, "#adoption-changed-EQ-1")
    assert "auditar" in one(changed, "ins").get_text()

    ballot = db.scalars(select(Ballot)).one()
    for user in council.everyone:
        assert cast(browser, user, ballot.id, "yes").status_code == 303
    sign_in_as(browser, council.secretary)
    closed = post_form(browser, f"/council/ballots/{ballot.id}/close")
    assert closed.status_code == 303
    resolution = soup(public.get(closed.headers["location"]))
    printed = dict(
        zip(texts(resolution, "dl.facts dt"), texts(resolution, "dl.facts dd"), strict=True)
    )
    assert printed["Adopted without public consultation"] == f"Reason: {SKIP_REASON}"


def test_the_ballot_page_says_the_draft_went_through_consultation(
    db: Session, browser: TestClient, clock: Clock, council: Council
) -> None:
    version = make_draft(db, council.secretariat)
    open_consultation(
        db,
        actor=council.secretariat,
        version=version,
        closes_on=dt.date(2026, 11, 27),
        min_days=1,
        now=NOW,
    )
    db.commit()
    clock.now = closing_moment(dt.date(2026, 11, 27)) + dt.timedelta(hours=1)
    sign_in_as(browser, council.secretary)
    opened = post_form(
        browser,
        "/council/ballots",
        ballot_form(closes_on="2026-12-05", consultation_skipped_reason=""),
    )
    assert opened.status_code == 303, opened.text
    adoption = one(soup(browser.get(opened.headers["location"])), "#adoption-heading").parent
    assert adoption is not None
    assert "The draft went through public consultation." in adoption.get_text(" ")
    assert adoption.select_one('a[href="/guidelines/etica-ia/1.0/consultation/report"]')
    assert "No version is in force." in adoption.get_text(" ")


def test_a_ballot_on_a_draft_missing_a_newer_version_is_refused_unless_it_replaces_it(
    db: Session, browser: TestClient, clock: Clock, council: Council
) -> None:
    adopt(db, make_draft(db, council.secretariat))
    newer = _reworded_draft(db, council, "1.1")
    _reworded_draft(db, council, "1.2")
    adopt(db, newer, now=NOW + dt.timedelta(hours=1))
    db.commit()
    clock.now = NOW + dt.timedelta(hours=2)
    sign_in_as(browser, council.secretary)
    form = ballot_form(number="1.2")
    refused = post_form(browser, "/council/ballots", form)
    assert refused.status_code == 409
    page = soup(refused)
    assert text_of(page, ".form-error") == (
        "Version 1.1 was adopted after the text this draft builds on. Rebase the draft onto it, "
        "or state that this version replaces its changes."
    )
    assert one(page, "input[name=number]")["value"] == "1.2"
    opened = post_form(browser, "/council/ballots", {**form, "replaces_newer": "true"})
    assert opened.status_code == 303
    shown = one(
        soup(browser.get(opened.headers["location"])), "section[aria-labelledby=adoption-heading]"
    )
    assert "This version replaces the changes of version 1.1" in " ".join(
        shown.get_text(" ").split()
    )


def _status(page: BeautifulSoup) -> dict[str, str]:
    """The ballot's status panel: its heading, then each fact by its term."""
    panel = one(page, "section.ballot-status")
    facts = dict(zip(texts(panel, "dt"), texts(panel, "dd"), strict=True))
    return {"heading": text_of(panel, "h2"), **facts}


def test_the_ballot_status_panel_says_when_it_closes_and_links_the_resolution(
    db: Session, browser: TestClient, clock: Clock, council: Council
) -> None:
    make_draft(db, council.secretariat)
    db.commit()
    sign_in_as(browser, council.secretary)
    opened = post_form(browser, "/council/ballots", ballot_form())
    assert opened.status_code == 303, opened.text
    url = opened.headers["location"]

    page = soup(browser.get(url))
    status = _status(page)
    assert status["heading"] == "Voting is open"
    # The ballot ends at midnight after 2 December: people write that as 2 December, 23:59.
    assert "Closes on December 2 at 23:59." in texts(page, "section.ballot-status p")
    assert status["Subject"] == "Ethics in AI, version 1.0"
    assert one(page, "section.ballot-status dd a")["href"] == "/guidelines/etica-ia/1.0"
    assert status["Positions"] == "0 cast (quorum: 3)"
    assert status["In favour"] == "0 (3 needed)"
    assert status["Members who count"] == "5 (0 recused)"
    assert page.select('section.ballot-status a[href^="/council/resolutions/"]') == []

    spanish = soup(browser.get(url, headers={"Accept-Language": "es-MX"}))
    panel = one(spanish, "section.ballot-status")
    assert "2 de diciembre" in panel.get_text(" ")
    assert "23:59" in panel.get_text(" ")
    assert "00:00" not in panel.get_text(" ")
    assert one(panel, "dd a").get_text(strip=True) == "Ética en IA, versión 1.0"

    for user in council.everyone:
        assert cast(browser, user, int(url.rsplit("/", 1)[1]), "yes").status_code == 303
    # No position is written to the second.
    sign_in_as(browser, council.secretary)
    page = soup(browser.get(url))
    assert all(re.search(r"\d:\d\d:\d\d", line) is None for line in history(page))
    clock.now = AFTER_CLOSING
    closed = post_form(browser, f"{url}/close")
    assert closed.status_code == 303

    page = soup(browser.get(url))
    status = _status(page)
    assert status["heading"] == "Result: Passed"
    assert one(page, "section.ballot-status h2")["id"] == "status-heading"
    link = one(page, 'section.ballot-status a[href="/council/resolutions/CEIA-2026-001"]')
    assert link.get_text(strip=True) == "CEIA-2026-001"
    assert status["Positions"] == "5 cast (quorum: 3)"
    assert "Not voted yet" not in status
