"""The secretariat's exports (CSV for spreadsheets, JSON for programs) honour the list filters,
parse back, are audited and refused to others; the self-assessment prints as a PDF."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import User, find_user_by_email
from core.audit import AuditEvent
from core.exports import BOM, csv_chunks
from core.i18n import LOCALE_COOKIE
from core.storage import FileStore
from council.demo import DEMO_PASSWORD, seed_demo
from council.models import Ballot, BallotVoter
from guidelines.models import ConsultationComment
from quality_marks.models import (
    ACTIVE_REVIEWS,
    Answer,
    AnswerValue,
    Application,
    ApplicationStatus,
    Organization,
    Product,
    Review,
)
from tests.factories import NOW, sign_in_as


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


def _csv(body: bytes) -> list[dict[str, str]]:
    text = body.decode("utf-8")
    assert text.startswith(BOM)  # Excel reads UTF-8 only after a byte order mark
    return list(csv.DictReader(io.StringIO(text.removeprefix(BOM))))


def _exports(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_spreadsheet_never_runs_a_cell_as_a_formula() -> None:
    rows = [{"a": '=HYPERLINK("http://x")', "b": ["uno", "dos"], "c": None, "d": "-1"}]
    body = b"".join(csv_chunks(["a", "b", "c", "d"], rows))
    (row,) = _csv(body)
    assert row == {"a": '\'=HYPERLINK("http://x")', "b": "uno; dos", "c": "", "d": "'-1"}


def test_the_queue_exports_with_status_history_and_the_filters(
    client: TestClient, demo: Session
) -> None:
    staff = _as(client, demo, "secretaria@ceia.gob.mx")
    answer = staff.get("/exports/applications.csv", params={"q": "analitica"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.headers["cache-control"] == "private, no-store"
    rows = _csv(answer.content)
    expected = demo.scalar(
        select(func.count())
        .select_from(Application)
        .join(Organization, Organization.id == Application.organization_id)
        .where(Organization.legal_name.like("DataSalud%"))
    )
    assert len(rows) == expected
    assert {row["organisation"] for row in rows} == {"DataSalud Analítica, S.A. de C.V."}
    triage = next(row for row in rows if row["product"] == "TriajeIA")
    assert "submitted" in triage["history"]
    assert triage["status"] == "decided"
    as_json = staff.get("/exports/applications.json", params={"status": "draft"})
    assert as_json.headers["content-type"] == "application/json"
    items = json.loads(as_json.content)
    drafts = demo.scalar(
        select(func.count())
        .select_from(Application)
        .where(Application.status == ApplicationStatus.draft)
    )
    assert len(items) == drafts
    assert all(item["status"] == "draft" for item in items)
    assert all(isinstance(item["history"], list) for item in items)
    assert items[0]["history"][0]["action"] == "start"
    assert staff.get("/exports/applications.xlsx").status_code == 422
    audited = _exports(demo, "application.exported")
    assert [e.summary["format"] for e in audited] == ["csv", "json"]
    assert audited[0].summary["q"] == "analitica"
    assert audited[0].summary["rows"] == expected


def test_exports_are_the_secretariats(client: TestClient, demo: Session) -> None:
    member = _as(client, demo, "presidencia@ceia.gob.mx")
    for path in (
        "/exports/applications.csv",
        "/exports/ballots.json",
        "/guidelines/etica-ia/1.1/consultation/dispositions.csv",
    ):
        assert member.get(path).status_code == 403, path
    assert _exports(demo, "application.exported") == []


def test_comments_export_with_their_dispositions(client: TestClient, demo: Session) -> None:
    staff = _as(client, demo, "secretaria@ceia.gob.mx")
    comment = demo.scalars(
        select(ConsultationComment).where(ConsultationComment.target_code == "PR-3")
    ).first()
    assert comment is not None
    comment.disposition = "noted"  # type: ignore[assignment]
    comment.response = "Gracias; se valorará en la guía para MIPYMES."
    demo.commit()
    path = "/guidelines/etica-ia/1.1/consultation/dispositions"
    rows = _csv(staff.get(f"{path}.csv").content)
    assert len(rows) == demo.scalar(select(func.count()).select_from(ConsultationComment))
    answered = next(row for row in rows if row["id"] == str(comment.id))
    assert answered["disposition"] == "noted"
    assert answered["state"] == "answered"
    assert answered["response"] == "Gracias; se valorará en la guía para MIPYMES."
    assert answered["email"] == comment.email
    only = json.loads(staff.get(f"{path}.json", params={"state": "answered"}).content)
    assert [item["id"] for item in only] == [comment.id]
    assert len(_exports(demo, "consultation.comments_exported")) == 2


def test_ballots_export_one_row_per_member_with_their_position(
    client: TestClient, demo: Session
) -> None:
    staff = _as(client, demo, "secretaria@ceia.gob.mx")
    rows = json.loads(staff.get("/exports/ballots.json").content)
    voters = demo.scalar(select(func.count()).select_from(BallotVoter))
    assert len(rows) == voters
    ballots = demo.scalar(select(func.count()).select_from(Ballot))
    assert len({row["ballot"] for row in rows}) == ballots
    cast = [row for row in rows if row["position"]]
    assert cast
    assert all(row["member"] and row["cast_at"] for row in cast)
    closed = _csv(staff.get("/exports/ballots.csv", params={"status": "closed"}).content)
    assert closed
    assert {row["status"] for row in closed} == {"closed"}
    assert all(row["result"] in {"passed", "failed"} for row in closed)


# The printable self-assessment ----------------------------------------------------------------


def _pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_the_company_prints_its_self_assessment(client: TestClient, demo: Session) -> None:
    application = demo.scalars(
        select(Application).join(Product).where(Product.name == "TriajeIA")
    ).one()
    answer = demo.scalars(
        select(Answer).where(
            Answer.application_id == application.id,
            Answer.value == AnswerValue.partly_meets,
            Answer.justification != "",
        )
    ).first()
    assert answer is not None
    company = _as(client, demo, "cumplimiento@datasalud.example.mx")
    page = company.get(f"/applications/{application.id}").text
    assert f'href="/applications/{application.id}/self-assessment.pdf"' in page
    printed = company.get(f"/applications/{application.id}/self-assessment.pdf")
    assert printed.status_code == 200
    assert printed.headers["content-type"] == "application/pdf"
    assert printed.headers["content-disposition"].startswith("attachment;")
    reader = PdfReader(io.BytesIO(printed.content))
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(float(width)), round(float(height))) == (595, 842)  # A4 in points
    text = " ".join(_pdf_text(printed.content).split())
    assert f"Application {application.id}" in text
    assert "Confidential" in text
    assert answer.criterion_code in text
    assert "Partly meets" in text
    assert " ".join(answer.justification.split())[:40] in text


def test_reviewers_and_staff_print_it_and_strangers_learn_nothing(
    client: TestClient, demo: Session
) -> None:
    review = demo.scalars(select(Review).where(Review.status.in_(ACTIVE_REVIEWS))).first()
    assert review is not None
    reviewer = demo.get(User, review.reviewer_id)
    assert reviewer is not None
    path = f"/applications/{review.application_id}/self-assessment.pdf"
    assert _as(client, demo, reviewer.email).get(path).status_code == 200
    assert _as(client, demo, "secretaria@ceia.gob.mx").get(path).status_code == 200
    owner = demo.scalar(
        select(Organization.legal_name)
        .join(Application, Application.organization_id == Organization.id)
        .where(Application.id == review.application_id)
    )
    stranger = (
        "legal@finintel.example.mx"
        if owner and owner.startswith("DataSalud")
        else "cumplimiento@datasalud.example.mx"
    )
    assert _as(client, demo, stranger).get(path).status_code == 404
