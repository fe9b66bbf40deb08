"""Decision pages and API: the applicant's view, the appeal, the secretary's ballot forms."""

from __future__ import annotations

import ast
import datetime as dt

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, issue_api_token
from core.schema import PROJECT_ROOT
from council import decisions as council_decisions
from council.models import Ballot, PositionKind
from quality_marks import decisions
from quality_marks.models import Appeal, AppealStatus, ApplicationStatus, Finding
from tests.conftest import csrf_of
from tests.council.test_decision_ballots import AFTER, _close, _open, _refused, _reviewed, _vote
from tests.factories import NOW, make_user, sign_in_as
from tests.quality_marks.decision_builders import Reviewed, declare_tie
from tests.quality_marks.factories import fill, form_fields
from tests.test_architecture import LAYERS

F = Finding


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _calls_of(name: str) -> set[tuple[str, str]]:
    """Every (module, enclosing function) of the project's code that calls `name`."""
    found: set[tuple[str, str]] = set()
    for package in LAYERS:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef):
                    continue
                for node in ast.walk(function):
                    if isinstance(node, ast.Call) and name in (
                        getattr(node.func, "id", None),
                        getattr(node.func, "attr", None),
                    ):
                        found.add((str(path.relative_to(PROJECT_ROOT)), function.name))
    return found


def test_only_the_decision_ballots_carry_out_records_a_decision() -> None:
    assert _calls_of("record_decision") == {("council/decisions.py", "_decide")}
    kind = council_decisions.APPLICATION_DECISION
    carry_outs = {kind.carry_out_passed.__name__, kind.carry_out_failed.__name__}
    assert {f for _m, f in _calls_of("_decide")} == carry_outs
    # Nothing in the project calls the carry-outs but the ballots that close.
    for name in carry_outs:
        assert _calls_of(name) == set(), name


def test_the_appeal_outcome_is_settled_only_by_the_appeal_ballot() -> None:
    kind = council_decisions.APPEAL
    assert {f for _m, f in _calls_of("settle_appeal")} == {"_settle"}
    assert {f for _m, f in _calls_of("_settle")} == {
        kind.carry_out_passed.__name__,
        kind.carry_out_failed.__name__,
    }


def _granted(db: Session) -> Reviewed:
    case = _reviewed(db, F.minor_nonconformity, F.conforms)
    ballot = _open(db, case)
    _vote(db, case, ballot, PositionKind.yes)
    _close(db, case, ballot)
    db.commit()
    return case


@pytest.mark.parametrize(
    ("language", "outcome", "level"),
    [
        ("es_MX", "Otorgado", "Nivel B: conformidad con observaciones menores"),
        ("en", "Granted", "Level B: conformity with minor observations"),
    ],
)
def test_the_applicant_reads_the_decision_without_reviewer_names_or_private_notes(
    client: TestClient, db: Session, language: str, outcome: str, level: str
) -> None:
    case = _granted(db)
    client.cookies.set("lang", language)
    sign_in_as(client, case.owner)
    page = client.get(f"/applications/{case.application.id}/decision")
    assert page.status_code == 200
    soup = _soup(page.text)
    facts = soup.select_one("dl.facts")
    assert facts is not None
    text = facts.get_text(" ", strip=True)
    assert outcome in text
    assert level in text
    link = soup.select_one('a[href^="/council/resolutions/CEIA-"]')
    assert link is not None
    assert link.get_text(strip=True) == case.application.decision_resolution
    assert soup.select_one(".finding-comment strong") is not None  # the comment's Markdown
    assert "Publicar el informe de sesgos" in page.text
    for secret in ("Ximena", "Sólo para el consejo", "Nota privada"):
        assert secret not in page.text
    assert soup.select_one('form[action$="/appeal"]') is None  # a grant is not appealed


def test_the_decision_api_names_no_reviewer(client: TestClient, db: Session) -> None:
    case = _granted(db)
    token = issue_api_token(db, user=case.owner, name="prueba", now=NOW)[1]
    db.commit()
    answer = client.get(
        f"/api/v1/applications/{case.application.id}/decision",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200
    body = answer.json()
    decision = body["decision"]
    assert (decision["outcome"], decision["level"], body["may_appeal"]) == ("granted", "B", False)
    assert decision["findings"][0]["code"] == "TR-1"
    assert "Ximena" not in answer.text
    assert "privada" not in answer.text


def test_reviewers_read_the_decision_and_strangers_do_not_find_it(
    client: TestClient, db: Session
) -> None:
    case = _granted(db)
    sign_in_as(client, case.reviewers[0])
    assert client.get(f"/applications/{case.application.id}/decision").status_code == 200
    client.post("/signout", data={"csrf_token": csrf_of(client)})
    stranger = make_user(db, role=Role.applicant)
    db.commit()
    sign_in_as(client, stranger)
    assert client.get(f"/applications/{case.application.id}/decision").status_code == 404


def test_an_appeal_is_filed_from_the_decision_page(client: TestClient, db: Session) -> None:
    case = _refused(db)
    db.commit()
    sign_in_as(client, case.owner)
    where = f"/applications/{case.application.id}/decision"
    action = f"/applications/{case.application.id}/appeal"
    fields = form_fields(client.get(where).text, action)
    refused = client.post(action, data=fill(fields, {"grounds": " "}))
    assert refused.status_code == 422
    assert _soup(refused.text).select_one("#f-grounds-error") is not None
    fields = form_fields(refused.text, action)
    sent = client.post(action, data=fill(fields, {"grounds": "Omitieron la auditoría de 2026."}))
    assert sent.status_code == 303
    assert sent.headers["location"] == where
    appeal = db.scalar(select(Appeal).where(Appeal.application_id == case.application.id))
    assert appeal is not None
    assert appeal.status == AppealStatus.filed
    page = _soup(client.get(where).text)
    assert "Presentada, en espera del Consejo" in page.get_text()
    assert page.select_one(f'form[action="{action}"]') is None


def test_an_appeal_is_filed_through_the_api(client: TestClient, db: Session) -> None:
    case = _refused(db)
    token = issue_api_token(db, user=case.owner, name="prueba", now=NOW)[1]
    db.commit()
    answer = client.post(
        f"/api/v1/applications/{case.application.id}/appeal",
        headers={"Authorization": f"Bearer {token}"},
        json={"grounds": "La revisión omitió evidencia."},
    )
    assert answer.status_code == 201
    assert answer.json()["appeal"]["status"] == "filed"
    again = client.post(
        f"/api/v1/applications/{case.application.id}/appeal",
        headers={"Authorization": f"Bearer {token}"},
        json={"grounds": "Otra vez."},
    )
    assert again.status_code == 409


def test_the_secretary_puts_an_application_to_a_decision(client: TestClient, db: Session) -> None:
    case = _reviewed(db, F.minor_nonconformity)
    tied_user, _ = case.council[2]
    declare_tie(db, tied_user, case.organization)
    db.commit()
    sign_in_as(client, case.staff)
    where = f"/applications/{case.application.id}/decision-ballot"
    form = form_fields(client.get(where).text, where)
    assert form["proposal"] == ["grant"]
    assert form["conditions"] == ["Auditoría externa en 12 meses."]
    refused = client.post(where, data=fill(form, {"reasons": ""}))
    assert refused.status_code == 422
    assert _soup(refused.text).select_one("#f-reasons-error") is not None
    form = form_fields(refused.text, where)
    opened = client.post(where, data=fill(form, {"reasons": "Cumple con observaciones."}))
    assert opened.status_code == 303
    ballot = db.scalar(select(Ballot).where(Ballot.subject_type == "application_decision"))
    assert ballot is not None
    assert opened.headers["location"] == f"/council/ballots/{ballot.id}"
    page = _soup(client.get(f"/council/ballots/{ballot.id}").text)
    assert page.select_one("table.findings") is not None
    assert f"/council/ballots/{ballot.id}/application" in str(page)
    # Voters read the application; the recused member does not.
    client.post("/signout", data={"csrf_token": csrf_of(client)})
    sign_in_as(client, case.council[0][0])
    application = client.get(f"/council/ballots/{ballot.id}/application")
    assert application.status_code == 200
    assert "TR-1" in application.text
    client.post("/signout", data={"csrf_token": csrf_of(client)})
    sign_in_as(client, tied_user)
    assert client.get(f"/council/ballots/{ballot.id}/application").status_code == 403


def test_the_secretary_puts_an_appeal_to_the_council(client: TestClient, db: Session) -> None:
    case = _refused(db)
    decisions.file_appeal(
        db,
        actor=case.owner,
        application=case.application,
        grounds="Omitieron la auditoría.",
        base_url="http://testserver",
        now=AFTER,
    )
    db.commit()
    sign_in_as(client, case.staff)
    where = f"/applications/{case.application.id}/appeal-ballot"
    page = client.get(where)
    assert "Omitieron la auditoría." in page.text
    closes_on = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    opened = client.post(where, data=fill(form_fields(page.text, where), {"closes_on": closes_on}))
    assert opened.status_code == 303
    ballot = db.scalar(select(Ballot).where(Ballot.subject_type == "appeal"))
    assert ballot is not None
    assert case.application.status == ApplicationStatus.appealed
    ballot_page = client.get(f"/council/ballots/{ballot.id}").text
    assert "Fundamentos de la apelación" in ballot_page
