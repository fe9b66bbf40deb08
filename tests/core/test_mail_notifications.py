"""Notifications: each mail in its recipient's language, delivered by a real SMTP server, read back.

Spanish mails are checked on what does not depend on the message catalog (their language header,
the dates Babel writes, the people's own words): the catalog's Spanish arrives with its merge.
"""

from __future__ import annotations

import datetime as dt
import io
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User, issue_api_token
from core.audit import AuditEvent
from core.mail import SmtpConfig, closing_words, deliver_outbox
from core.storage import FileStore
from council import ballots
from council.models import BallotRule
from guidelines import consultation
from guidelines.models import Disposition, GuidelineVersion
from quality_marks import applications
from quality_marks.models import AnswerValue, Application, OrgRole
from quality_marks.organizations import members_of
from quality_marks.schemas import AnswerInput
from tests.conftest import csrf_of
from tests.core import test_mail
from tests.core.test_mail import RecordingHandler
from tests.council.builders import seat_council
from tests.factories import NOW, make_user, sign_in_as
from tests.guidelines import test_consultation
from tests.guidelines.test_consultation import AFTER, DURING, MIN_DAYS, publish
from tests.quality_marks.factories import (
    make_adopted_version,
    make_application,
    make_organization,
    make_product,
)
from tests.quality_marks.review_builders import CODES, PDF

SENDER = "CEIA <no-responder@ceia.example.mx>"
BASE_URL = "http://testserver"

Postman = tuple[RecordingHandler, int]

# Fixtures shared with the mail and consultation tests: a real SMTP server on loopback, a
# secretariat member and a guideline version in consultation.
smtp_server = test_mail.smtp_server
staff = test_consultation.staff
version = test_consultation.version


def delivered(db: Session, postman: Postman, now: dt.datetime = NOW) -> dict[str, EmailMessage]:
    """Deliver the outbox through the test SMTP server; the messages it received, by address
    (one each: a test reads one notification at a time)."""
    handler, port = postman
    handler.envelopes.clear()
    deliver_outbox(
        db, smtp=SmtpConfig(host="127.0.0.1", port=port, sender=SENDER), now=now, max_attempts=3
    )
    received: dict[str, EmailMessage] = {}
    for _sender, rcpt_tos, message in handler.envelopes:
        assert rcpt_tos[0] not in received, f"two mails to {rcpt_tos[0]}"
        received[rcpt_tos[0]] = message
    return received


def clear_outbox(db: Session, postman: Postman, now: dt.datetime = NOW) -> None:
    """Deliver whatever earlier steps wrote, before the step a test is about."""
    deliver_outbox(
        db,
        smtp=SmtpConfig(host="127.0.0.1", port=postman[1], sender=SENDER),
        now=now,
        max_attempts=3,
    )


def text_of(message: EmailMessage) -> str:
    """The message's text, its lines joined as a reader sees them."""
    return " ".join(str(message.get_content()).split())


def speak(db: Session, person: User, locale: str) -> User:
    """The person, with their language preference set."""
    person.locale = locale
    db.flush()
    return person


# Language preference -------------------------------------------------------------------------


def test_a_person_chooses_their_language_on_the_account_page(
    client: TestClient, db: Session
) -> None:
    person = make_user(db, role=Role.council_member)
    sign_in_as(client, person)

    refused = client.post(
        "/account/language", data={"locale": "fr", "csrf_token": csrf_of(client, "/account")}
    )
    assert refused.status_code == 422
    assert 'id="f-locale-error"' in refused.text

    response = client.post(
        "/account/language", data={"locale": "en", "csrf_token": csrf_of(client, "/account")}
    )

    assert response.status_code == 303
    db.expire_all()
    assert db.get(User, person.id).locale == "en"  # type: ignore[union-attr]
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.language")).one()
    assert event.summary == {"from": "es_MX", "to": "en"}
    page = client.get("/account")
    assert '<html lang="en"' in page.text
    assert "Your language is now English." in page.text
    assert '<option value="en" selected>' in page.text


def test_the_api_changes_ones_own_language(client: TestClient, db: Session) -> None:
    person = make_user(db, role=Role.applicant)
    token = issue_api_token(db, user=person, name="pruebas", now=NOW)[1]
    db.commit()
    headers = {"Authorization": f"Bearer {token}"}

    assert client.patch("/api/v1/me", json={"locale": "fr"}, headers=headers).status_code == 422
    response = client.patch("/api/v1/me", json={"locale": "en"}, headers=headers)

    assert response.status_code == 200
    assert response.json()["locale"] == "en"
    assert client.get("/api/v1/me", headers=headers).json()["locale"] == "en"


def test_an_invitation_goes_out_in_the_language_chosen_for_the_invitee(
    client: TestClient, db: Session, smtp_server: Postman
) -> None:
    inviter = make_user(db, role=Role.secretariat)
    client.cookies.set("lang", "es_MX")  # the secretariat works in Spanish
    sign_in_as(client, inviter)
    response = client.post(
        "/admin/users/invite",
        data={
            "full_name": "Grace Hopper",
            "email": "grace@ejemplo.mx",
            "role": Role.expert.value,
            "locale": "en",
            "csrf_token": csrf_of(client, "/admin/users"),
        },
    )
    assert response.status_code == 303

    mail = delivered(db, smtp_server, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))

    assert mail["grace@ejemplo.mx"]["Content-Language"] == "en"
    assert "Hello Grace Hopper," in text_of(mail["grace@ejemplo.mx"])


# Applications: the receipt and every status change with its reason --------------------------


def _submitted(
    db: Session, store: FileStore, postman: Postman, *, owner_locale: str
) -> tuple[User, Application]:
    """A secretariat member (Spanish) and a complete application its owner just submitted.

    The mail written before the submission (the organisation's verification) is delivered.
    """
    staff_member = make_user(db, role=Role.secretariat, email="secretaria@ceia.example.mx")
    version = make_adopted_version(db, staff_member)
    organization = make_organization(db)
    owner = next(p for p, r in members_of(db, organization.id) if r == OrgRole.owner)
    speak(db, owner, owner_locale)
    product = make_product(db, owner, organization)
    application = make_application(db, actor=owner, product=product, version=version)
    answers = {code: AnswerInput(value=AnswerValue.meets) for code in CODES}
    applications.save_answers(db, actor=owner, application=application, answers=answers, now=NOW)
    applications.add_evidence_file(
        db,
        actor=owner,
        application=application,
        criterion_code="TR-2",
        stream=io.BytesIO(PDF),
        filename="auditoria.pdf",
        public=True,
        store=store,
        max_file_bytes=10_000_000,
        max_total_bytes=50_000_000,
        now=NOW,
    )
    clear_outbox(db, postman)
    applications.submit_application(
        db, actor=owner, application=application, base_url=BASE_URL, now=NOW
    )
    return staff_member, application


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    """Uploaded files in the test's own directory."""
    return FileStore(tmp_path / "files")


@pytest.mark.parametrize("locale", ["en", "es_MX"])
def test_the_owners_get_a_receipt_when_an_application_is_submitted(
    db: Session, store: FileStore, smtp_server: Postman, locale: str
) -> None:
    _staff, application = _submitted(db, store, smtp_server, owner_locale=locale)
    owner = next(p for p, r in members_of(db, application.organization_id) if r == OrgRole.owner)

    mail = delivered(db, smtp_server)

    receipt = mail[owner.email]
    assert f"/applications/{application.id}" in text_of(receipt)
    # The secretariat is told too, in its own language (Spanish here), whatever the owner's.
    assert mail["secretaria@ceia.example.mx"]["Content-Language"] == "es-MX"
    if locale == "en":
        assert receipt["Content-Language"] == "en"
        assert receipt["Subject"] == f"We received application {application.id}"
        assert "(revision 1), submitted by" in text_of(receipt)
        assert "November" in text_of(receipt) or "December" in text_of(receipt)
    else:
        assert receipt["Content-Language"] == "es-MX"
        assert " de 2026" in text_of(receipt)  # the date as Babel writes it in Spanish


def test_a_returned_application_tells_the_owner_why_in_their_language(
    client: TestClient, db: Session, store: FileStore, smtp_server: Postman
) -> None:
    staff_member, application = _submitted(db, store, smtp_server, owner_locale="en")
    applications.start_screening(
        db, actor=staff_member, application=application, now=NOW, base_url=BASE_URL
    )
    db.commit()
    clear_outbox(db, smtp_server)  # the receipt and the screening notice
    owner = next(p for p, r in members_of(db, application.organization_id) if r == OrgRole.owner)
    reason = "Falta la evaluación de impacto del criterio TR-2."
    # The secretariat works in Spanish; the mail still goes out in the owner's English.
    client.cookies.set("lang", "es_MX")
    sign_in_as(client, staff_member)
    page = f"/applications/{application.id}"
    response = client.post(
        f"{page}/return", data={"reason": reason, "csrf_token": csrf_of(client, page)}
    )
    assert response.status_code == 303

    # The request ran on the real clock.
    mail = delivered(db, smtp_server, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))

    notice = mail[owner.email]
    assert notice["Content-Language"] == "en"
    assert notice["Subject"] == f"Your application {application.id} is now: Draft"
    assert "returned it to you to complete or correct" in text_of(notice)
    assert reason in text_of(notice)


def test_a_request_for_information_is_mailed_with_the_request(
    db: Session, store: FileStore, smtp_server: Postman
) -> None:
    staff_member, application = _submitted(db, store, smtp_server, owner_locale="en")
    applications.start_screening(db, actor=staff_member, application=application, now=NOW)
    applications.accept_application(
        db, actor=staff_member, application=application, base_url=BASE_URL, now=NOW
    )
    clear_outbox(db, smtp_server)
    owner = next(p for p, r in members_of(db, application.organization_id) if r == OrgRole.owner)
    request = "Adjunte el informe de la auditoría externa de sesgos."

    applications.request_information(
        db, actor=staff_member, application=application, body=request, base_url=BASE_URL, now=NOW
    )
    mail = delivered(db, smtp_server)

    notice = mail[owner.email]
    assert notice["Subject"] == f"Your application {application.id} is now: Information requested"
    assert "The reviewers need more information:" in text_of(notice)
    assert request in text_of(notice)


@pytest.mark.parametrize("locale", ["en", "es_MX"])
def test_a_withdrawal_is_mailed_to_the_organisation_and_the_secretariat_with_its_reason(
    db: Session, store: FileStore, smtp_server: Postman, locale: str
) -> None:
    _staff, application = _submitted(db, store, smtp_server, owner_locale=locale)
    clear_outbox(db, smtp_server)
    owner = next(p for p, r in members_of(db, application.organization_id) if r == OrgRole.owner)
    reason = "Cambiamos el modelo; solicitaremos de nuevo el año próximo."

    applications.withdraw_application(
        db, actor=owner, application=application, reason=reason, now=NOW, base_url=BASE_URL
    )
    mail = delivered(db, smtp_server)

    assert reason in text_of(mail[owner.email])
    assert owner.full_name in text_of(mail[owner.email])
    assert reason in text_of(mail["secretaria@ceia.example.mx"])
    assert mail["secretaria@ceia.example.mx"]["Content-Language"] == "es-MX"
    if locale == "en":
        assert f"{owner.full_name} withdrew it." in text_of(mail[owner.email])
        assert mail[owner.email]["Subject"].endswith("is now: Withdrawn")
    else:
        assert mail[owner.email]["Content-Language"] == "es-MX"


# Ballots -------------------------------------------------------------------------------------


def test_closing_words_write_midnight_as_the_end_of_the_day_before() -> None:
    midnight = dt.datetime(2026, 12, 8, 6, 0, tzinfo=dt.UTC)  # 00:00 in Mexico City
    assert closing_words(midnight) == {"closes_day": dt.date(2026, 12, 7), "closes_time": "23:59"}
    afternoon = dt.datetime(2026, 12, 7, 23, 30, tzinfo=dt.UTC)  # 17:30 in Mexico City
    assert closing_words(afternoon) == {
        "closes_day": dt.date(2026, 12, 7),
        "closes_time": "17:30",
    }


def test_every_voter_is_told_of_a_ballot_with_its_closing_in_their_language(
    db: Session, smtp_server: Postman
) -> None:
    secretariat, council = seat_council(db, 3)
    english = speak(db, council[0][0], "en")
    spanish = council[1][0]
    closes_at = dt.datetime(2026, 12, 8, 6, 0, tzinfo=dt.UTC)  # the end of 7 December there

    ballots.open_ballot(
        db,
        actor=secretariat,
        subject_type="application",
        subject_id=1,
        title_es="Solicitud de DataSalud",
        title_en="DataSalud's application",
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=closes_at,
        parties=[],
        terms={},
        base_url=BASE_URL,
        now=NOW,
    )
    mail = delivered(db, smtp_server)

    assert {user.email for user, _member in council} <= set(mail)
    in_english = text_of(mail[english.email])
    assert mail[english.email]["Subject"] == 'New ballot: "DataSalud\'s application"'
    assert "It closes on December 7, 2026 at 23:59 (central Mexico time)." in in_english
    in_spanish = text_of(mail[spanish.email])
    assert mail[spanish.email]["Content-Language"] == "es-MX"
    assert "Solicitud de DataSalud" in in_spanish
    assert "7 de diciembre de 2026" in in_spanish
    assert "23:59" in in_spanish


# Consultations -------------------------------------------------------------------------------


def test_the_author_of_a_comment_is_mailed_its_disposition_in_their_language(
    db: Session, staff: User, version: GuidelineVersion, smtp_server: Postman
) -> None:
    english = publish(db, version, email="luis@ejemplo.mx", locale="en")
    spanish = publish(db, version, email="ana@ejemplo.mx", target_code="TR-2")
    clear_outbox(db, smtp_server, DURING)  # the confirmation links
    accepted = "Se añadió un ejemplo de aviso al criterio."
    noted = "Lo tendremos en cuenta en la guía de implementación."

    for comment, disposition, response in (
        (english, Disposition.accepted, accepted),
        (spanish, Disposition.noted, noted),
    ):
        consultation.record_disposition(
            db,
            actor=staff,
            comment_id=comment.id,
            disposition=disposition,
            response=response,
            changed_codes=["TR-1"] if disposition == Disposition.accepted else [],
            base_url=BASE_URL,
            now=AFTER,
        )
    mail = delivered(db, smtp_server, AFTER)

    to_luis = mail["luis@ejemplo.mx"]
    assert (
        to_luis["Subject"]
        == "The secretariat has answered your comment on Ethics in AI systems 1.0"
    )
    assert "Disposition: Accepted" in text_of(to_luis)
    assert accepted in text_of(to_luis)
    assert "Parts of the text changed because of it: TR-1" in text_of(to_luis)
    assert "/guidelines/etica-ia/1.0/consultation" in text_of(to_luis)
    to_ana = mail["ana@ejemplo.mx"]
    assert to_ana["Content-Language"] == "es-MX"
    assert noted in text_of(to_ana)
    assert "Ética en sistemas de IA" in to_ana["Subject"]


def test_a_revised_disposition_is_mailed_as_a_revision(
    db: Session, staff: User, version: GuidelineVersion, smtp_server: Postman
) -> None:
    comment = publish(db, version, email="luis@ejemplo.mx", locale="en")
    for response in ("Primera respuesta.", "Respuesta corregida."):
        consultation.record_disposition(
            db,
            actor=staff,
            comment_id=comment.id,
            disposition=Disposition.noted,
            response=response,
            changed_codes=[],
            base_url=BASE_URL,
            now=AFTER,
        )
    handler, port = smtp_server
    deliver_outbox(
        db, smtp=SmtpConfig(host="127.0.0.1", port=port, sender=SENDER), now=AFTER, max_attempts=3
    )
    # A subject this long is folded on the wire; a reader sees it unfolded.
    subjects = [
        str(m["Subject"]).strip()
        for _s, rcpt, m in handler.envelopes
        if rcpt == ["luis@ejemplo.mx"]
    ]
    assert subjects[-1] == (
        "The answer to your comment on Ethics in AI systems 1.0 has been revised"
    )
    assert "Respuesta corregida." in text_of(handler.envelopes[-1][2])


def test_commenters_are_told_when_a_consultation_closes_early(
    db: Session, staff: User, version: GuidelineVersion, smtp_server: Postman
) -> None:
    publish(db, version, email="luis@ejemplo.mx", locale="en")
    publish(db, version, email="ana@ejemplo.mx")
    clear_outbox(db, smtp_server, DURING)
    reason = "El consejo pidió adelantar la adopción por una reforma legal."
    when = NOW + dt.timedelta(days=MIN_DAYS + 1)

    consultation.close_consultation(
        db,
        actor=staff,
        version=version,
        reason=reason,
        min_days=MIN_DAYS,
        base_url=BASE_URL,
        now=when,
    )
    mail = delivered(db, smtp_server, when)

    assert sorted(mail) == ["ana@ejemplo.mx", "luis@ejemplo.mx"]
    to_luis = mail["luis@ejemplo.mx"]
    assert to_luis["Subject"] == "The consultation on Ethics in AI systems 1.0 has closed"
    assert reason in text_of(to_luis)
    assert "before the planned closing day" in text_of(to_luis)
    to_ana = mail["ana@ejemplo.mx"]
    assert to_ana["Content-Language"] == "es-MX"
    assert reason in text_of(to_ana)
    assert "de diciembre de 2026" in text_of(to_ana)
