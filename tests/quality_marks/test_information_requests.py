"""Requests for information carry a due date: chosen by the secretariat or the default."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import issue_api_token
from core.audit import AuditEvent
from core.errors import Invalid
from core.i18n import local_date
from core.storage import FileStore
from quality_marks import applications
from quality_marks.models import ApplicationStatus
from tests.conftest import csrf_of
from tests.factories import NOW, sign_in_as
from tests.quality_marks.review_builders import BASE_URL, UnderReview, under_review


@pytest.fixture
def case(db: Session, tmp_path: Path) -> UnderReview:
    return under_review(db, FileStore(tmp_path / "store"))


def test_a_request_is_due_the_default_number_of_days_after_it_is_made(
    db: Session, case: UnderReview
) -> None:
    message = applications.request_information(
        db,
        actor=case.staff,
        application=case.application,
        body="Aclare TR-2.",
        base_url=BASE_URL,
        now=NOW,
        information_due_days=15,
    )
    assert message.due_on == local_date(NOW) + dt.timedelta(days=15)
    event = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "application.request_information")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None
    assert event.summary["due_on"] == message.due_on.isoformat()


def test_the_secretariat_may_choose_the_due_date(db: Session, case: UnderReview) -> None:
    chosen = local_date(NOW) + dt.timedelta(days=3)
    message = applications.request_information(
        db,
        actor=case.staff,
        application=case.application,
        body="Aclare TR-2.",
        base_url=BASE_URL,
        now=NOW,
        due_on=chosen,
    )
    assert message.due_on == chosen


@pytest.mark.parametrize("days", [0, -1])
def test_a_due_date_not_after_today_is_refused(db: Session, case: UnderReview, days: int) -> None:
    with pytest.raises(Invalid) as refused:
        applications.request_information(
            db,
            actor=case.staff,
            application=case.application,
            body="Aclare TR-2.",
            base_url=BASE_URL,
            now=NOW,
            due_on=local_date(NOW) + dt.timedelta(days=days),
        )
    assert set(refused.value.fields) == {"due_on"}
    assert case.application.status == ApplicationStatus.under_review


def _ask(client: TestClient, case: UnderReview, due_on: str) -> str:
    token = csrf_of(client, case.url)
    answer = client.post(
        f"{case.url}/request-information",
        data={"body": "Aclare TR-2.", "due_on": due_on, "csrf_token": token},
        follow_redirects=True,
    )
    return answer.text


def test_the_request_form_takes_a_due_date_and_the_thread_shows_it(
    client: TestClient, db: Session, case: UnderReview
) -> None:
    client.cookies.set("lang", "en")
    sign_in_as(client, case.staff)
    form = BeautifulSoup(client.get(case.url).text, "html.parser").find(
        "form", action=f"{case.url}/request-information"
    )
    assert form is not None
    due_input = form.find("input", attrs={"name": "due_on", "type": "date"})
    assert due_input is not None
    label = form.find("label", attrs={"for": due_input["id"]})
    assert label is not None
    assert "Answer due by" in label.get_text()
    chosen = local_date(dt.datetime.now(dt.UTC)) + dt.timedelta(days=12)
    page = BeautifulSoup(_ask(client, case, chosen.isoformat()), "html.parser")
    due = page.find("p", class_="due")
    assert due is not None
    assert "Answer due by" in due.get_text()
    db.expire_all()
    assert case.application.status == ApplicationStatus.information_requested


def test_a_date_that_is_not_one_comes_back_with_what_was_typed(
    client: TestClient, case: UnderReview
) -> None:
    client.cookies.set("lang", "en")
    sign_in_as(client, case.staff)
    token = csrf_of(client, case.url)
    answer = client.post(
        f"{case.url}/request-information",
        data={"body": "Aclare TR-2.", "due_on": "31/12/2026", "csrf_token": token},
    )
    assert answer.status_code == 422
    page = BeautifulSoup(answer.text, "html.parser")
    field = page.find("input", attrs={"name": "due_on"})
    assert field is not None
    assert field["value"] == "31/12/2026"
    assert field.get("aria-invalid") == "true"
    assert "year-month-day" in page.get_text()


def test_the_api_gives_the_organisation_the_due_date(
    client: TestClient, db: Session, case: UnderReview
) -> None:
    message = applications.request_information(
        db,
        actor=case.staff,
        application=case.application,
        body="Aclare TR-2.",
        base_url=BASE_URL,
        now=NOW,
    )
    token = issue_api_token(db, user=case.owner, name="cumplimiento", now=NOW)[1]
    db.commit()
    answer = client.get(
        f"/api/v1/applications/{case.application.id}/messages",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200
    requests = [item for item in answer.json()["items"] if item["is_request"]]
    assert message.due_on is not None
    assert requests[-1]["due_on"] == message.due_on.isoformat()
