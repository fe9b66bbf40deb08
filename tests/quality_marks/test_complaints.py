"""Complaints: the public's form and confirmation, the secretariat's triage, the public history."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.errors import Conflict, Invalid, RateLimited
from core.mail import OutboxMessage
from quality_marks import complaints
from quality_marks.certificate_history import certificate_history
from quality_marks.certificate_models import Certificate, RegistryEventKind
from quality_marks.complaint_models import Complaint, ComplaintOutcome, ComplaintStatus
from tests.conftest import csrf_of
from tests.factories import NOW, sign_in_as
from tests.quality_marks.certificate_builders import granted, make_certificate
from tests.quality_marks.decision_builders import Reviewed

LINK_RE = re.compile(r"http://testserver(/complaints/confirm/\S+)")
NAME, EMAIL = "Lucía Complainant", "lucia.queja@ejemplo.mx"
BODY = "El producto muestra la marca pero no informa a los usuarios que usan IA."


def _status(db: Session, complaint: Complaint) -> ComplaintStatus:
    """The complaint's status as stored now (read again, so each check sees the database)."""
    db.refresh(complaint)
    return complaint.status


@pytest.fixture
def certified(db: Session) -> tuple[Reviewed, Certificate]:
    """A granted case and its valid certificate."""
    case = granted(db)
    return case, make_certificate(db, case)


def _submit(db: Session, number: str, **overrides: str) -> Complaint:
    data = {
        "author_name": NAME,
        "email": EMAIL,
        "body": BODY,
        "locale": "es_MX",
        "client_ip": "10.1.1.1",
        "honeypot": "",
        "base_url": "http://testserver",
    }
    data.update(overrides)
    return complaints.submit_complaint(db, number=number, now=NOW, **data)


def _confirmed(db: Session, number: str, **overrides: str) -> Complaint:
    complaint = _submit(db, number, **overrides)
    complaint.status = ComplaintStatus.confirmed
    db.flush()
    return complaint


def _confirmation_path(db: Session, email: str) -> str:
    message = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == email)
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None
    match = LINK_RE.search(message.body_text)
    assert match, message.body_text
    return match.group(1)


def test_complaint_flow_from_form_to_public_history_without_personal_data(
    client: TestClient, db: Session, certified: tuple[Reviewed, Certificate]
) -> None:
    case, certificate = certified
    page = client.get(f"/verify/{certificate.number}")
    assert f"/verify/{certificate.number}/complaint" in page.text
    form = f"/verify/{certificate.number}/complaint"
    data = {"author_name": NAME, "email": EMAIL, "body": BODY, "website": ""}
    sent = client.post(form, data={**data, "csrf_token": csrf_of(client, form)})
    assert sent.status_code == 303
    complaint = db.scalars(select(Complaint)).one()
    assert db.scalar(select(Complaint.status)) == ComplaintStatus.received

    confirmed = client.get(_confirmation_path(db, EMAIL))
    assert confirmed.status_code == 200
    db.refresh(complaint)
    assert _status(db, complaint) == ComplaintStatus.confirmed

    sign_in_as(client, case.staff)
    listing = client.get("/complaints")
    assert f"/complaints/{complaint.id}" in listing.text
    detail = f"/complaints/{complaint.id}"
    reason = "Sin fundamento: el aviso existe en la página de inicio."
    dismissed = client.post(
        f"{detail}/dismiss", data={"reason": reason, "csrf_token": csrf_of(client, detail)}
    )
    assert dismissed.status_code == 303
    db.refresh(complaint)
    assert _status(db, complaint) == ComplaintStatus.dismissed
    client.post("/signout", data={"csrf_token": csrf_of(client, "/")})

    public = client.get(f"/verify/{certificate.number}").text
    history = BeautifulSoup(public, "html.parser").select_one("ol.certificate-history")
    assert history is not None
    assert "Queja desestimada" in history.get_text() or "Complaint dismissed" in history.get_text()
    for private in (NAME, EMAIL, BODY, reason):
        assert private not in public
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "complaint"))
    assert list(actions) == ["complaint.submit", "complaint.confirm", "complaint.dismiss"]


def test_unconfirmed_complaint_cannot_be_triaged(
    db: Session, certified: tuple[Reviewed, Certificate]
) -> None:
    case, certificate = certified
    complaint = _submit(db, certificate.number)
    with pytest.raises(Conflict):
        complaints.dismiss_complaint(
            db, complaint=complaint, reason="No.", actor=case.staff, now=NOW
        )
    listed, total = complaints.list_complaints(db, status=None)
    assert (listed, total) == ([], 0)


def test_asking_the_holder_mails_its_owners_in_their_language(
    db: Session, certified: tuple[Reviewed, Certificate]
) -> None:
    case, certificate = certified
    complaint = _confirmed(db, certificate.number)
    complaints.ask_holder(
        db,
        complaint=complaint,
        message="Expliquen cómo informan a los usuarios.",
        reply_by=dt.date(2026, 12, 15),
        actor=case.staff,
        base_url="http://testserver",
        now=NOW,
    )
    assert _status(db, complaint) == ComplaintStatus.holder_asked
    sent = db.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "mail/complaint_holder.txt")
    ).all()
    assert [message.to_address for message in sent] == [case.owner.email]
    assert sent[0].locale == case.owner.locale
    assert "Expliquen cómo informan" in sent[0].body_text
    assert EMAIL not in sent[0].body_text
    assert NAME not in sent[0].body_text


def test_reply_deadline_must_leave_time_to_answer(
    db: Session, certified: tuple[Reviewed, Certificate]
) -> None:
    case, certificate = certified
    complaint = _confirmed(db, certificate.number)
    with pytest.raises(Invalid) as refused:
        complaints.ask_holder(
            db,
            complaint=complaint,
            message="Expliquen.",
            reply_by=NOW.date() + dt.timedelta(days=1),
            actor=case.staff,
            base_url="http://testserver",
            now=NOW,
        )
    assert "reply_by" in refused.value.fields


def test_surveillance_then_closing_enters_the_public_history(
    client: TestClient, db: Session, certified: tuple[Reviewed, Certificate]
) -> None:
    case, certificate = certified
    complaint = _confirmed(db, certificate.number)
    complaints.open_surveillance(db, complaint=complaint, actor=case.staff, now=NOW)
    sign_in_as(client, case.staff)
    detail = client.get(f"/complaints/{complaint.id}").text
    assert f"/certificates/{certificate.number}/manage" in detail
    complaints.close_complaint(
        db,
        complaint=complaint,
        outcome=ComplaintOutcome.suspension.value,
        note="Se turnó al Consejo.",
        actor=case.staff,
        now=NOW,
    )
    events = certificate_history(db, certificate.id)
    kinds = [event.kind for event in events]
    assert kinds[-2:] == [
        RegistryEventKind.complaint_surveillance_opened,
        RegistryEventKind.complaint_closed,
    ]
    assert events[-1].reason_code == "suspension"
    assert set(events[-1].public_reason) == {"es", "en"}
    assert "suspend" in events[-1].public_reason["en"]
    assert _status(db, complaint) == ComplaintStatus.closed
    # A complaint's triage does not change what the certificate's status is said to be.
    page = client.get(f"/verify/{certificate.number}").text
    assert "suspend" not in page.split('id="states-heading"')[0].lower()


def test_closing_needs_a_known_outcome(
    db: Session, certified: tuple[Reviewed, Certificate]
) -> None:
    case, certificate = certified
    complaint = _confirmed(db, certificate.number)
    complaints.open_surveillance(db, complaint=complaint, actor=case.staff, now=NOW)
    with pytest.raises(Invalid):
        complaints.close_complaint(
            db, complaint=complaint, outcome="whatever", note="", actor=case.staff, now=NOW
        )


def test_complaints_are_rate_limited_per_email_and_per_address(
    db: Session, certified: tuple[Reviewed, Certificate]
) -> None:
    _case, certificate = certified
    for n in range(complaints.COMPLAINT_LIMIT):
        _submit(db, certificate.number, client_ip=f"10.2.0.{n}")
    with pytest.raises(RateLimited):
        _submit(db, certificate.number, client_ip="10.2.1.1")
    for n in range(complaints.COMPLAINT_LIMIT):
        _submit(db, certificate.number, email=f"otra{n}@ejemplo.mx", client_ip="10.3.0.1")
    with pytest.raises(RateLimited):
        _submit(db, certificate.number, email="nueva@ejemplo.mx", client_ip="10.3.0.1")


def test_honeypot_refuses_and_keeps_nothing(
    db: Session, certified: tuple[Reviewed, Certificate]
) -> None:
    _case, certificate = certified
    with pytest.raises(Invalid):
        _submit(db, certificate.number, honeypot="http://spam.example")
    assert db.scalars(select(Complaint)).all() == []


def test_form_refusal_keeps_what_was_typed(
    client: TestClient, certified: tuple[Reviewed, Certificate]
) -> None:
    _case, certificate = certified
    form = f"/verify/{certificate.number}/complaint"
    data = {"author_name": NAME, "email": "not-an-email", "body": "corto", "website": ""}
    refused = client.post(form, data={**data, "csrf_token": csrf_of(client, form)})
    assert refused.status_code == 422
    page = BeautifulSoup(refused.text, "html.parser")
    assert page.select_one("#f-author_name")["value"] == NAME  # type: ignore[index]
    assert page.select_one("#f-email-error") is not None
    assert page.select_one("#f-body-error") is not None
