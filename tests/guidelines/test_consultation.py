"""Public consultation: confirmed comments, spam, rate limits, moderation, dispositions, report."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.audit import AuditEvent
from core.auth import now_utc
from core.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from core.mail import OutboxMessage, SmtpConfig, deliver_outbox
from core.settings import Settings
from guidelines import consultation, service
from guidelines.documents import load_version_tree
from guidelines.models import (
    CommenterType,
    ConsultationComment,
    Disposition,
    GuidelineVersion,
    RiskLevel,
    VersionStatus,
)
from guidelines.schemas import CriterionInput, GuidelineInput, PrincipleInput
from tests.conftest import csrf_of
from tests.core.test_mail import RecordingHandler, free_port
from tests.factories import NOW, make_user, sign_in_as
from tests.guidelines.builders import adopt

CLOSES_ON = dt.date(2026, 12, 10)
# The consultations here are shorter than the default minimum, to keep the dates close.
MIN_DAYS = 14
CLOSES_AT = service.closing_moment(CLOSES_ON)
DURING = NOW + dt.timedelta(days=1)
AFTER = CLOSES_AT + dt.timedelta(hours=1)
PAGE = "/guidelines/etica-ia/1.0/consultation"
API = "/api/v1/guidelines/etica-ia/versions/1.0/comments"
LINK_RE = re.compile(r"http://testserver(/consultation/confirm/\S+)")


@dataclass
class Clock:
    """The time every request sees; tests move it past the closing moment."""

    now: dt.datetime


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    """Requests see the clock's time (the consultation is open at first)."""
    pinned = Clock(DURING)
    app.dependency_overrides[now_utc] = lambda: pinned.now
    return pinned


@pytest.fixture
def public(app: FastAPI, clock: Clock) -> Iterator[TestClient]:
    """An anonymous visitor with a cookie jar of their own."""
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as visitor:
        yield visitor


@pytest.fixture
def staff(db: Session) -> User:
    """A member of the secretariat."""
    return make_user(db, role=Role.secretariat, full_name="Secretaría Técnica")


@pytest.fixture
def version(db: Session, staff: User) -> GuidelineVersion:
    """Version 1.0 of a guideline with one principle and two criteria, in consultation."""
    service.create_guideline(
        db,
        actor=staff,
        data=GuidelineInput(
            slug="etica-ia", title_es="Ética en sistemas de IA", title_en="Ethics in AI systems"
        ),
        now=NOW,
    )
    draft = service.get_version(db, slug="etica-ia", number="1.0", viewer=staff)
    service.add_principle(
        db,
        actor=staff,
        version=draft,
        data=PrincipleInput(code="TR", title_es="Transparencia", title_en="Transparency"),
        expected_revision=None,
        now=NOW,
    )
    for code, title in (("TR-1", "Aviso de uso de IA"), ("TR-2", "Explicación de decisiones")):
        service.add_criterion(
            db,
            actor=staff,
            version=draft,
            data=CriterionInput(
                code=code,
                principle_code="TR",
                title_es=title,
                requirement_es=f"Requisito {code}.",
                risk_levels=[RiskLevel.limited, RiskLevel.high],
            ),
            expected_revision=None,
            now=NOW,
        )
    draft = service.get_version(db, slug="etica-ia", number="1.0", viewer=staff)
    service.open_consultation(
        db, actor=staff, version=draft, closes_on=CLOSES_ON, min_days=MIN_DAYS, now=NOW
    )
    db.commit()
    return service.get_version(db, slug="etica-ia", number="1.0", viewer=None)


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "target_code": "TR-1",
        "author_name": "Ana Pérez",
        "email": "ana@ejemplo.mx",
        "commenter_type": "academia",
        "organisation": "UNAM",
        "body": "El aviso debería mostrarse antes de cualquier interacción.",
        "website": "",
    }
    data.update(overrides)
    return data


def post_comment(client: TestClient, **overrides: str) -> Response:
    """Send the public comment form as a visitor would."""
    data = {**_form(**overrides), "csrf_token": csrf_of(client, PAGE)}
    return client.post(PAGE + "/comments", data=data)


def confirmation_path(db: Session, email: str) -> str:
    """The confirmation link of the newest mail sent to the address."""
    message = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == email)
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None
    match = LINK_RE.search(message.body_text)
    assert match, message.body_text
    return match.group(1)


def submit(
    db: Session, version: GuidelineVersion, *, ip: str = "10.0.0.1", **overrides: Any
) -> ConsultationComment:
    """A comment received through the service verb (not yet confirmed)."""
    data: dict[str, Any] = {
        "target_code": "TR-1",
        "author_name": "",
        "email": "persona@ejemplo.mx",
        "commenter_type": CommenterType.individual,
        "organisation": "",
        "body": "Un comentario suficientemente largo.",
        "locale": "es_MX",
        "client_ip": ip,
        "honeypot": "",
        "base_url": "http://testserver",
        "now": DURING,
    }
    data.update(overrides)
    return consultation.submit_comment(db, version=version, **data)


def publish(db: Session, version: GuidelineVersion, **overrides: Any) -> ConsultationComment:
    """A comment received and confirmed by its author."""
    comment = submit(db, version, **overrides)
    token = confirmation_path(db, comment.email).rsplit("/", 1)[1]
    confirmed = consultation.confirm_comment(db, token=token, now=DURING)
    db.commit()
    return confirmed


def _consulted_guideline(db: Session, staff: User, slug: str) -> GuidelineVersion:
    """Version 1.0 of another guideline, with one criterion, in consultation."""
    service.create_guideline(
        db, actor=staff, data=GuidelineInput(slug=slug, title_es="Otra guía"), now=NOW
    )
    draft = service.get_version(db, slug=slug, number="1.0", viewer=staff)
    service.add_principle(
        db,
        actor=staff,
        version=draft,
        data=PrincipleInput(code="TR", title_es="Transparencia"),
        expected_revision=None,
        now=NOW,
    )
    service.add_criterion(
        db,
        actor=staff,
        version=draft,
        data=CriterionInput(
            code="TR-1",
            principle_code="TR",
            title_es="Aviso",
            requirement_es="Requisito TR-1.",
            risk_levels=[RiskLevel.high],
        ),
        expected_revision=None,
        now=NOW,
    )
    draft = service.get_version(db, slug=slug, number="1.0", viewer=staff)
    service.open_consultation(
        db, actor=staff, version=draft, closes_on=CLOSES_ON, min_days=MIN_DAYS, now=NOW
    )
    db.commit()
    return service.get_version(db, slug=slug, number="1.0", viewer=None)


def soup(response: Response) -> BeautifulSoup:
    """The parsed HTML of a response."""
    return BeautifulSoup(response.text, "html.parser")


def actions_for(db: Session, comment: ConsultationComment) -> list[str]:
    """The audit actions recorded on a comment, oldest first."""
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(
                AuditEvent.object_type == "consultation_comment",
                AuditEvent.object_id == str(comment.id),
            )
            .order_by(AuditEvent.id)
        )
    )


def count_comments(db: Session) -> int:
    """How many comments are stored, confirmed or not."""
    return db.scalar(select(func.count(ConsultationComment.id))) or 0


# Submitting and confirming ----------------------------------------------------------------


def test_comment_needs_confirmation_before_it_appears(
    public: TestClient, db: Session, version: GuidelineVersion
) -> None:
    response = post_comment(public)
    assert response.status_code == 303
    assert response.headers["location"] == PAGE
    page = soup(public.get(PAGE))
    assert "revise su correo" in page.select_one(".flashes").get_text().lower()  # type: ignore[union-attr]
    assert "antes de cualquier interacción" not in page.get_text()

    path = confirmation_path(db, "ana@ejemplo.mx")
    (message,) = db.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == "ana@ejemplo.mx")
    )
    assert message.template == "mail/comment_confirmation.txt"
    assert message.locale == "es_MX"
    assert "Ética en sistemas de IA" in message.subject

    confirmed = public.get(path)
    assert confirmed.status_code == 200
    assert soup(confirmed).h1 is not None

    page = soup(public.get(PAGE))
    article = page.select_one("article[id^=comment-]")
    assert article is not None
    assert "antes de cualquier interacción" in article.get_text()
    assert "Ana Pérez" in article.get_text()
    assert "ana@ejemplo.mx" not in page.get_text()
    comment = db.scalars(select(ConsultationComment)).one()
    assert comment.confirm_token_hash not in path  # only the hash is stored
    assert actions_for(db, comment) == [
        "consultation_comment.submit",
        "consultation_comment.confirm",
    ]


def test_form_offers_every_target_and_a_hidden_honeypot(
    public: TestClient, version: GuidelineVersion
) -> None:
    consultation_page = soup(public.get(PAGE))
    link = consultation_page.select_one(f'a[href="{PAGE}/comment"]')
    assert link is not None
    page = soup(public.get(PAGE + "/comment"))
    options = [o["value"] for o in page.select('select[name="target_code"] option')]
    assert options == ["", "TR", "TR-1", "TR-2"]
    email_label = page.select_one('label[for="f-email"]')
    assert email_label is not None
    assert page.select_one("#f-email-help") is not None
    trap = page.select_one('input[name="website"]')
    assert trap is not None
    assert trap["tabindex"] == "-1"
    wrapper = trap.parent
    assert wrapper is not None
    assert "visually-hidden" in wrapper["class"]
    assert wrapper["aria-hidden"] == "true"
    assert page.select_one('label[for="f-website"]') is not None


def test_second_click_on_the_confirmation_link_is_harmless(
    public: TestClient, db: Session, version: GuidelineVersion
) -> None:
    comment = submit(db, version)
    db.commit()
    path = confirmation_path(db, comment.email)
    assert public.get(path).status_code == 200
    assert public.get(path).status_code == 200
    assert actions_for(db, comment).count("consultation_comment.confirm") == 1


def test_unknown_confirmation_link_is_refused(
    public: TestClient, version: GuidelineVersion
) -> None:
    response = public.get("/consultation/confirm/not-a-token")
    assert response.status_code == 422


def test_honeypot_refuses_quietly_and_stores_nothing(
    public: TestClient, db: Session, version: GuidelineVersion
) -> None:
    events_before = db.scalar(select(func.count(AuditEvent.id)))
    response = post_comment(public, website="http://spam.example")
    assert response.status_code == 422
    alert = soup(response).select_one('[role="alert"]')
    assert alert is not None
    assert alert.get_text(strip=True) == "No fue posible recibir su comentario."
    assert count_comments(db) == 0
    assert db.scalar(select(func.count(OutboxMessage.id))) == 0
    assert db.scalar(select(func.count(AuditEvent.id))) == events_before


def test_sixth_comment_from_one_address_within_an_hour_is_refused(
    public: TestClient, db: Session, version: GuidelineVersion
) -> None:
    for n in range(5):
        assert post_comment(public, email=f"persona{n}@ejemplo.mx").status_code == 303
    response = post_comment(
        public, email="sexta@ejemplo.mx", body="Mi sexto comentario, ¿se pierde?"
    )
    assert response.status_code == 429
    page = soup(response)
    alert = page.select_one('[role="alert"]')
    assert alert is not None
    assert "Demasiados intentos" in alert.get_text()
    textarea = page.select_one('textarea[name="body"]')
    assert textarea is not None
    assert textarea.get_text() == "Mi sexto comentario, ¿se pierde?"
    email = page.select_one('input[name="email"]')
    assert email is not None
    assert email["value"] == "sexta@ejemplo.mx"
    assert count_comments(db) == 5


def test_sixth_comment_from_one_email_within_an_hour_is_refused(
    db: Session, version: GuidelineVersion
) -> None:
    for n in range(5):
        submit(db, version, ip=f"10.0.0.{n}")
    with pytest.raises(RateLimited):
        submit(db, version, ip="10.0.0.99")
    later = DURING + consultation.COMMENT_WINDOW + dt.timedelta(minutes=1)
    submit(db, version, ip="10.0.0.99", now=later)


def test_comment_after_the_consultation_closed_is_refused(
    public: TestClient, db: Session, clock: Clock, version: GuidelineVersion
) -> None:
    token = csrf_of(public, PAGE)
    clock.now = AFTER
    page = soup(public.get(PAGE))
    assert page.select_one('form[action$="/consultation/comments"]') is None
    assert page.select_one(f'a[href="{PAGE}/comment"]') is None
    assert "se cerró" in page.get_text()
    assert public.get(PAGE + "/comment").headers["location"] == PAGE
    response = public.post(PAGE + "/comments", data={**_form(), "csrf_token": token})
    assert response.status_code == 409
    assert count_comments(db) == 0


def test_a_comment_sent_as_the_consultation_closed_comes_back_with_its_text(
    public: TestClient, db: Session, clock: Clock, version: GuidelineVersion
) -> None:
    token = csrf_of(public, PAGE)
    clock.now = AFTER
    data = {**_form(body="Texto escrito mientras cerraba la consulta."), "csrf_token": token}
    response = public.post(PAGE + "/comments", data=data)
    assert response.status_code == 409
    page = soup(response)
    alert = page.select_one('[role="alert"]')
    assert alert is not None
    assert "no está abierta" in alert.get_text()
    textarea = page.select_one('textarea[name="body"]')
    assert textarea is not None
    assert textarea.get_text() == "Texto escrito mientras cerraba la consulta."
    assert count_comments(db) == 0


def test_unknown_target_is_a_field_error_that_keeps_the_text(
    public: TestClient, db: Session, version: GuidelineVersion
) -> None:
    response = post_comment(public, target_code="ZZ-9", body="Texto que no debe perderse.")
    assert response.status_code == 422
    page = soup(response)
    error = page.select_one("#f-target_code-error")
    assert error is not None
    assert error.get_text(strip=True)
    textarea = page.select_one('textarea[name="body"]')
    assert textarea is not None
    assert textarea.get_text() == "Texto que no debe perderse."
    assert count_comments(db) == 0


def test_bad_email_and_short_comment_are_named(
    public: TestClient, db: Session, version: GuidelineVersion
) -> None:
    response = post_comment(public, email="no-es-correo", body="corto", commenter_type="")
    assert response.status_code == 422
    page = soup(response)
    for name in ("email", "body", "commenter_type"):
        assert page.select_one(f"#f-{name}-error") is not None, name
    assert "10" in page.select_one("#f-body-error").get_text()  # type: ignore[union-attr]
    assert count_comments(db) == 0


# Moderation --------------------------------------------------------------------------------


def test_hidden_comment_shows_the_reason_instead_of_the_text_and_stays_counted(
    client: TestClient,
    public: TestClient,
    db: Session,
    staff: User,
    version: GuidelineVersion,
) -> None:
    comment = publish(db, version, body="Texto con datos personales de un tercero.")
    sign_in_as(client, staff)
    token = csrf_of(client, PAGE)
    response = client.post(
        f"{PAGE}/comments/{comment.id}/hide",
        data={"reason": "Contiene datos personales.", "csrf_token": token},
    )
    assert response.status_code == 303

    page = soup(public.get(PAGE))
    article = page.select_one(f"#comment-{comment.id}")
    assert article is not None
    assert "Contiene datos personales." in article.get_text()
    assert "datos personales de un tercero" not in page.get_text()
    counts = consultation.comment_counts(db, version)
    assert (counts.published, counts.hidden, counts.awaiting_disposition) == (1, 1, 0)
    figures = page.select_one("dl.facts")
    assert figures is not None
    assert [dd.get_text(strip=True) for dd in figures.select("dd")][:2] == ["1", "1"]

    (event,) = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "consultation_comment.hide")
    )
    assert event.summary["reason"] == "Contiene datos personales."
    assert event.actor_id == staff.id


def test_anonymous_readers_share_the_page_until_a_comment_is_published_or_hidden(
    public: TestClient, db: Session, staff: User, version: GuidelineVersion
) -> None:
    first = publish(db, version, body="El primer comentario publicado.")
    public.get(PAGE)
    kept = public.get(PAGE)
    assert kept.headers["cache-control"].startswith("public")
    assert "El primer comentario publicado." in kept.text
    assert 'name="csrf_token"' not in kept.text  # the form has its own page

    publish(db, version, body="Un segundo comentario, confirmado después.", ip="10.0.0.2")
    assert "Un segundo comentario" in public.get(PAGE).text

    consultation.hide_comment(
        db,
        actor=staff,
        version=version,
        comment_id=first.id,
        reason="Contiene datos personales.",
        now=DURING,
    )
    db.commit()
    after = public.get(PAGE).text
    assert "El primer comentario publicado." not in after
    assert "Contiene datos personales." in after


def test_hiding_needs_a_reason(
    client: TestClient, db: Session, staff: User, version: GuidelineVersion
) -> None:
    comment = publish(db, version)
    sign_in_as(client, staff)
    token = csrf_of(client, PAGE)
    response = client.post(
        f"{PAGE}/comments/{comment.id}/hide", data={"reason": "  ", "csrf_token": token}
    )
    assert response.status_code == 422
    assert soup(response).select_one(f"#c{comment.id}-reason-error") is not None
    db.refresh(comment)
    assert comment.hidden_at is None


def test_only_the_secretariat_hides_comments(
    client: TestClient, public: TestClient, db: Session, version: GuidelineVersion
) -> None:
    comment = publish(db, version)
    applicant = make_user(db, role=Role.applicant)
    sign_in_as(client, applicant)
    token = csrf_of(client, PAGE)
    hide = f"{PAGE}/comments/{comment.id}/hide"
    assert client.post(hide, data={"reason": "x", "csrf_token": token}).status_code == 403
    anonymous = public.post(hide, data={"reason": "x", "csrf_token": csrf_of(public, PAGE)})
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/signin")
    with pytest.raises(Forbidden):
        consultation.hide_comment(
            db, actor=applicant, version=version, comment_id=comment.id, reason="x", now=DURING
        )
    assert soup(public.get(PAGE)).select_one('form[action$="/hide"]') is None


def test_hiding_twice_is_refused_and_keeps_the_first_reason(
    client: TestClient, db: Session, staff: User, version: GuidelineVersion
) -> None:
    comment = publish(db, version)
    consultation.hide_comment(
        db, actor=staff, version=version, comment_id=comment.id, reason="Spam.", now=DURING
    )
    db.commit()
    with pytest.raises(Conflict):
        consultation.hide_comment(
            db, actor=staff, version=version, comment_id=comment.id, reason="Otro.", now=DURING
        )
    sign_in_as(client, staff)
    page = soup(client.get(PAGE))
    assert page.select_one(f'form[action$="/comments/{comment.id}/hide"]') is None

    response = client.post(
        f"{PAGE}/comments/{comment.id}/hide",
        data={"reason": "Motivo escrito de nuevo.", "csrf_token": csrf_of(client, PAGE)},
    )
    assert response.status_code == 409
    page = soup(response)
    alert = page.select_one(f"#comment-{comment.id} [role=alert]")
    assert alert is not None
    assert "ya está oculto" in alert.get_text()
    reason = page.select_one(f"#c{comment.id}-reason")
    assert reason is not None
    assert reason["value"] == "Motivo escrito de nuevo."
    db.refresh(comment)
    assert comment.hidden_reason == "Spam."
    assert actions_for(db, comment).count("consultation_comment.hide") == 1


def test_an_unconfirmed_comment_cannot_be_hidden(
    db: Session, staff: User, version: GuidelineVersion
) -> None:
    comment = submit(db, version)
    with pytest.raises(Conflict):
        consultation.hide_comment(
            db, actor=staff, version=version, comment_id=comment.id, reason="Spam.", now=DURING
        )
    assert comment.hidden_at is None


def test_a_comment_is_hidden_only_through_its_own_version(
    client: TestClient, db: Session, staff: User, version: GuidelineVersion
) -> None:
    other_version = _consulted_guideline(db, staff, "otra-guia")
    other = publish(db, other_version, email="otra@ejemplo.mx")
    with pytest.raises(NotFound):
        consultation.hide_comment(
            db, actor=staff, version=version, comment_id=other.id, reason="Spam.", now=DURING
        )
    sign_in_as(client, staff)
    response = client.post(
        f"{PAGE}/comments/{other.id}/hide",
        data={"reason": "Spam.", "csrf_token": csrf_of(client, PAGE)},
    )
    assert response.status_code == 404
    db.refresh(other)
    assert other.hidden_at is None


def test_comments_of_an_adopted_version_stay_as_published(
    client: TestClient, db: Session, staff: User, clock: Clock, version: GuidelineVersion
) -> None:
    comment = publish(db, version)
    consultation.record_disposition(
        db,
        actor=staff,
        comment_id=comment.id,
        disposition=Disposition.noted,
        response="Gracias.",
        changed_codes=[],
        now=AFTER,
    )
    db.commit()
    adopt(db, service.get_version(db, slug="etica-ia", number="1.0", viewer=staff), now=AFTER)
    db.commit()
    adopted = service.get_version(db, slug="etica-ia", number="1.0", viewer=staff)
    with pytest.raises(Conflict):
        consultation.hide_comment(
            db, actor=staff, version=adopted, comment_id=comment.id, reason="Tarde.", now=AFTER
        )
    clock.now = AFTER
    sign_in_as(client, staff)
    page = soup(client.get(PAGE))
    assert page.select_one(f"#comment-{comment.id}") is not None
    assert page.select_one('form[action$="/hide"]') is None
    db.refresh(comment)
    assert comment.hidden_at is None


def test_a_comment_id_too_large_for_the_database_is_refused(
    client: TestClient, db: Session, staff: User, version: GuidelineVersion
) -> None:
    sign_in_as(client, staff)
    token = csrf_of(client, PAGE)
    for action in ("hide", "disposition"):
        response = client.post(
            f"{PAGE}/comments/99999999999999999999/{action}",
            data={"reason": "x", "response": "x", "csrf_token": token},
        )
        assert response.status_code == 422, action


# Dispositions ------------------------------------------------------------------------------


def _dispose(client: TestClient, comment_id: int, **data: str) -> Response:
    token = csrf_of(client, PAGE)
    return client.post(
        f"{PAGE}/comments/{comment_id}/disposition", data={**data, "csrf_token": token}
    )


def test_disposition_waits_for_the_consultation_to_close(
    client: TestClient, db: Session, staff: User, clock: Clock, version: GuidelineVersion
) -> None:
    comment = publish(db, version)
    sign_in_as(client, staff)
    response = _dispose(client, comment.id, disposition="accepted", response="Gracias.")
    assert response.status_code == 409
    assert soup(client.get(PAGE)).select_one('form[action$="/disposition"]') is None
    clock.now = AFTER
    page = soup(client.get(PAGE))
    assert page.select_one('form[action$="/disposition"]') is not None
    ids = [tag["id"] for tag in page.select("[id]")]
    assert len(ids) == len(set(ids))  # one form per comment, each field labelled on its own
    for control in page.select("main input:not([type=hidden]), main select, main textarea"):
        assert page.select_one(f'label[for="{control["id"]}"]') is not None, control["id"]


def test_a_disposition_sent_before_closing_comes_back_with_its_text(
    client: TestClient, db: Session, staff: User, version: GuidelineVersion
) -> None:
    comment = publish(db, version)
    sign_in_as(client, staff)
    response = _dispose(
        client, comment.id, disposition="accepted", response="Respuesta redactada con cuidado."
    )
    assert response.status_code == 409
    page = soup(response)
    alert = page.select_one(f"#comment-{comment.id} [role=alert]")
    assert alert is not None
    assert alert.get_text(strip=True)
    kept = page.select_one(f"#c{comment.id}-response")
    assert kept is not None
    assert kept.get_text() == "Respuesta redactada con cuidado."
    db.refresh(comment)
    assert comment.disposition is None


def test_disposition_needs_a_response_and_known_codes(
    client: TestClient,
    public: TestClient,
    db: Session,
    staff: User,
    clock: Clock,
    version: GuidelineVersion,
) -> None:
    comment = publish(db, version)
    sign_in_as(client, staff)
    clock.now = AFTER

    response = _dispose(client, comment.id, disposition="accepted", response="", changed_codes="")
    assert response.status_code == 422
    assert soup(response).select_one(f"#c{comment.id}-response-error") is not None

    response = _dispose(
        client,
        comment.id,
        disposition="partly_accepted",
        response="Se precisa el aviso.",
        changed_codes="TR-1, ZZ-9",
    )
    assert response.status_code == 422
    page = soup(response)
    error = page.select_one(f"#c{comment.id}-changed_codes-error")
    assert error is not None
    assert "ZZ-9" in error.get_text()
    kept = page.select_one(f"#c{comment.id}-response")
    assert kept is not None
    assert kept.get_text() == "Se precisa el aviso."
    db.refresh(comment)
    assert comment.disposition is None

    response = _dispose(
        client,
        comment.id,
        disposition="partly_accepted",
        response="Se precisa el aviso.",
        changed_codes="TR-1 TR-2",
    )
    assert response.status_code == 303
    article = soup(public.get(PAGE)).select_one(f"#comment-{comment.id}")
    assert article is not None
    assert "Aceptado parcialmente" in article.get_text()
    assert "Se precisa el aviso." in article.get_text()
    links = [a["href"] for a in article.select("a.code")]
    assert links == ["/guidelines/etica-ia/1.0#TR-1", "/guidelines/etica-ia/1.0#TR-2"]

    assert (
        _dispose(client, comment.id, disposition="noted", response="Revisado.").status_code == 303
    )
    db.refresh(comment)
    assert comment.disposition == Disposition.noted
    assert comment.changed_codes == []
    assert actions_for(db, comment).count("consultation_comment.record_disposition") == 2


def test_disposition_is_the_secretariats_and_refused_before_closing(
    db: Session, staff: User, version: GuidelineVersion
) -> None:
    comment = publish(db, version)
    member = make_user(db, role=Role.council_member)
    arguments: dict[str, Any] = {
        "comment_id": comment.id,
        "disposition": Disposition.accepted,
        "response": "Gracias.",
        "changed_codes": [],
    }
    with pytest.raises(Forbidden):
        consultation.record_disposition(db, actor=member, now=AFTER, **arguments)
    with pytest.raises(Conflict):
        consultation.record_disposition(db, actor=staff, now=DURING, **arguments)
    with pytest.raises(Invalid) as refused:
        consultation.record_disposition(
            db, actor=staff, now=AFTER, **{**arguments, "changed_codes": ["XX-1"]}
        )
    assert set(refused.value.fields) == {"changed_codes"}


def test_adoption_waits_until_every_published_comment_has_a_disposition(
    db: Session, staff: User, version: GuidelineVersion
) -> None:
    first = publish(db, version, email="uno@ejemplo.mx")
    second = publish(db, version, email="dos@ejemplo.mx", target_code="")
    hidden = publish(db, version, email="tres@ejemplo.mx")
    consultation.hide_comment(
        db, actor=staff, version=version, comment_id=hidden.id, reason="Spam.", now=DURING
    )
    submit(db, version, email="cuatro@ejemplo.mx")  # never confirmed: not part of the record

    def adopt() -> None:
        consultation_version = service.get_version(db, slug="etica-ia", number="1.0", viewer=staff)
        service.adopt_version(
            db,
            version=consultation_version,
            resolution="CEIA-2026-07",
            effective_on=dt.date(2027, 1, 1),
            actor=None,
            now=AFTER,
        )

    with pytest.raises(Conflict):
        adopt()
    consultation.record_disposition(
        db,
        actor=staff,
        comment_id=first.id,
        disposition=Disposition.accepted,
        response="Incorporado.",
        changed_codes=["TR-1"],
        now=AFTER,
    )
    with pytest.raises(Conflict):
        adopt()
    consultation.record_disposition(
        db,
        actor=staff,
        comment_id=second.id,
        disposition=Disposition.not_accepted,
        response="Fuera del alcance.",
        changed_codes=[],
        now=AFTER,
    )
    adopt()
    adopted = service.get_version(db, slug="etica-ia", number="1.0", viewer=None)
    assert adopted.status == VersionStatus.adopted


# Report ------------------------------------------------------------------------------------


@pytest.fixture
def disposed(db: Session, staff: User, version: GuidelineVersion) -> list[ConsultationComment]:
    """Three published comments after closing: two answered, one hidden."""
    accepted = publish(db, version, email="uno@ejemplo.mx", body="Comentario aceptado aquí.")
    rejected = publish(
        db,
        version,
        email="dos@ejemplo.mx",
        target_code="",
        commenter_type=CommenterType.company,
        body="Comentario no aceptado aquí.",
    )
    hidden = publish(db, version, email="tres@ejemplo.mx", body="Texto ofensivo retirado.")
    consultation.hide_comment(
        db,
        actor=staff,
        version=version,
        comment_id=hidden.id,
        reason="Lenguaje ofensivo.",
        now=DURING,
    )
    consultation.record_disposition(
        db,
        actor=staff,
        comment_id=accepted.id,
        disposition=Disposition.partly_accepted,
        response="Se precisó el aviso.",
        changed_codes=["TR-1", "TR-2"],
        now=AFTER,
    )
    consultation.record_disposition(
        db,
        actor=staff,
        comment_id=rejected.id,
        disposition=Disposition.not_accepted,
        response="Fuera del alcance.",
        changed_codes=[],
        now=AFTER,
    )
    db.commit()
    return [accepted, rejected, hidden]


def test_report_lists_every_comment_with_its_disposition_and_changes(
    public: TestClient, clock: Clock, disposed: list[ConsultationComment]
) -> None:
    clock.now = AFTER
    response = public.get(PAGE + "/report")
    assert response.status_code == 200
    page = soup(response)
    entries = page.select("article.report-entry")
    assert len(entries) == 3
    first, second, third = (entry.get_text(" ", strip=True) for entry in entries)
    assert "Aceptado parcialmente" in first
    assert "Se precisó el aviso." in first
    assert [a.get_text() for a in entries[0].select("a.code")] == ["TR-1", "TR-2"]
    assert "No aceptado" in second
    assert "Empresa" in second
    assert "Lenguaje ofensivo." in third
    assert "Texto ofensivo" not in page.get_text()
    totals = page.select_one("table")
    assert totals is not None
    rows = {
        row.th.get_text(strip=True): row.td.get_text(strip=True)  # type: ignore[union-attr]
        for row in totals.select("tbody tr")
    }
    assert rows["Aceptado parcialmente"] == "1"
    assert rows["No aceptado"] == "1"
    assert rows["Aceptado"] == "0"


def test_report_is_public_only_after_closing(
    client: TestClient, public: TestClient, staff: User, version: GuidelineVersion
) -> None:
    assert public.get(PAGE + "/report").status_code == 404
    assert public.get(PAGE + "/report/pdf").status_code == 404
    sign_in_as(client, staff)
    assert client.get(PAGE + "/report").status_code == 200


def test_report_pdf_contains_the_dispositions_and_codes(
    public: TestClient, clock: Clock, disposed: list[ConsultationComment]
) -> None:
    clock.now = AFTER
    response = public.get(PAGE + "/report/pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    text = " ".join(text.split())
    for expected in ("Aceptado parcialmente", "No aceptado", "TR-1", "TR-2", "Lenguaje ofensivo."):
        assert expected in text, expected
    assert "Texto ofensivo" not in text
    assert "@ejemplo.mx" not in text


# API ---------------------------------------------------------------------------------------


def test_api_lists_published_comments_and_never_emails(
    public: TestClient,
    db: Session,
    version: GuidelineVersion,
    disposed: list[ConsultationComment],
) -> None:
    submit(db, version, email="pendiente@ejemplo.mx")  # unconfirmed: not listed
    db.commit()
    response = public.get(API, params={"page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3
    assert len(body["items"]) == 2
    everything = public.get(API).json()
    assert "@" not in public.get(API).text
    assert all("email" not in item for item in everything["items"])
    hidden = next(item for item in everything["items"] if item["hidden"])
    assert hidden["body"] is None
    assert hidden["hidden_reason"] == "Lenguaje ofensivo."
    first = everything["items"][0]
    assert first["disposition"] == "partly_accepted"
    assert first["changed_codes"] == ["TR-1", "TR-2"]


def test_api_submission_follows_the_same_rules(
    public: TestClient, db: Session, clock: Clock, version: GuidelineVersion
) -> None:
    payload = {
        "target_code": "TR-2",
        "email": "api@ejemplo.mx",
        "commenter_type": "civil_society",
        "organisation": "Colectivo Datos",
        "body": "Propuesta enviada por la API pública.",
    }
    response = public.post(API, json=payload, headers={"Accept-Language": "en"})
    assert response.status_code == 201
    created = response.json()
    assert created["published"] is False
    assert "@" not in response.text
    (message,) = db.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == "api@ejemplo.mx")
    )
    assert message.locale == "en"
    assert message.subject.startswith("Confirm your comment")
    assert public.get(API).json()["total"] == 0

    refused = public.post(API, json={**payload, "target_code": "ZZ-9"})
    assert refused.status_code == 422
    assert set(refused.json()["fields"]) == {"target_code"}

    clock.now = AFTER
    assert public.post(API, json=payload).status_code == 409
    assert count_comments(db) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/guidelines/no-such/1.0/consultation",
        "/guidelines/no-such/1.0/consultation/report",
        "/guidelines/no-such/1.0/consultation/report/pdf",
        "/api/v1/guidelines/no-such/versions/1.0/comments",
    ],
)
def test_unknown_guideline_is_not_found(public: TestClient, path: str) -> None:
    assert public.get(path).status_code == 404


def test_draft_that_was_never_consulted_has_no_consultation_page(
    client: TestClient, db: Session, staff: User
) -> None:
    service.create_guideline(
        db, actor=staff, data=GuidelineInput(slug="borrador", title_es="Borrador"), now=NOW
    )
    db.commit()
    sign_in_as(client, staff)
    assert client.get("/guidelines/borrador/1.0/consultation").status_code == 404


# The record stays public -------------------------------------------------------------------


def test_the_consultation_record_stays_public_whatever_becomes_of_the_version(
    public: TestClient,
    db: Session,
    staff: User,
    clock: Clock,
    disposed: list[ConsultationComment],
) -> None:
    clock.now = AFTER
    draft = service.get_version(db, slug="etica-ia", number="1.0", viewer=staff)
    service.return_to_draft(db, actor=staff, version=draft, now=AFTER)
    db.commit()
    # The text being reworked is the secretariat's again; the consultation's record is not.
    assert public.get("/guidelines/etica-ia/1.0").status_code == 404
    report = public.get(PAGE + "/report")
    assert report.status_code == 200
    assert "Se precisó el aviso." in report.text
    assert public.get(PAGE + "/report/pdf").status_code == 200
    page = soup(public.get(PAGE))
    assert len(page.select("article[id^=comment-]")) == 3
    assert page.select_one('a[href="/guidelines/etica-ia/1.0"]') is None  # no link to a 404
    listed = public.get(API).json()
    assert listed["total"] == 3
    assert {c["response"] for c in listed["items"]} >= {
        "Se precisó el aviso.",
        "Fuera del alcance.",
    }

    draft = service.get_version(db, slug="etica-ia", number="1.0", viewer=staff)
    service.withdraw_version(db, actor=staff, version=draft, reason="Se replantea.", now=AFTER)
    db.commit()
    assert public.get(PAGE + "/report").status_code == 200
    assert public.get(API).json()["total"] == 3


# Managing the period -----------------------------------------------------------------------


def test_a_consultation_shorter_than_the_minimum_is_refused_with_the_first_allowed_day(
    client: TestClient, db: Session, staff: User, clock: Clock
) -> None:
    service.create_guideline(
        db, actor=staff, data=GuidelineInput(slug="breve", title_es="Breve"), now=NOW
    )
    draft = service.get_version(db, slug="breve", number="1.0", viewer=staff)
    service.add_principle(
        db,
        actor=staff,
        version=draft,
        data=PrincipleInput(code="TR", title_es="Transparencia"),
        expected_revision=None,
        now=NOW,
    )
    service.add_criterion(
        db,
        actor=staff,
        version=draft,
        data=CriterionInput(
            code="TR-1",
            principle_code="TR",
            title_es="Aviso",
            requirement_es="Requisito TR-1.",
            risk_levels=[RiskLevel.high],
        ),
        expected_revision=None,
        now=NOW,
    )
    db.commit()
    sign_in_as(client, staff)
    two_days = (DURING + dt.timedelta(days=2)).date().isoformat()
    response = client.post(
        "/guidelines/breve/1.0/consultation/open",
        data={"closes_on": two_days, "csrf_token": csrf_of(client, "/guidelines/breve/1.0")},
    )
    assert response.status_code == 422
    page = soup(response)
    error = page.select_one("#f-closes_on-error")
    assert error is not None
    # Opened on 26 November, 30 days (the default minimum) reach 26 December.
    assert error.get_text(strip=True) == (
        "Una consulta pública dura al menos 30 días: elija el 2026-12-26 o un día posterior."
    )
    assert page.select_one("#f-closes_on")["value"] == two_days  # type: ignore[index]
    assert service.get_version(db, slug="breve", number="1.0", viewer=staff).status == (
        VersionStatus.draft
    )
    opened = client.post(
        "/guidelines/breve/1.0/consultation/open",
        data={"closes_on": "2026-12-26", "csrf_token": csrf_of(client, "/guidelines/breve/1.0")},
    )
    assert opened.status_code == 303


def _extend(client: TestClient, **data: str) -> Response:
    return client.post(
        PAGE + "/extend",
        data={**data, "csrf_token": csrf_of(client, PAGE)},
    )


def test_extension_is_public_and_mailed_to_everyone_who_commented(
    client: TestClient,
    public: TestClient,
    db: Session,
    staff: User,
    clock: Clock,
    version: GuidelineVersion,
) -> None:
    publish(db, version, email="ana@ejemplo.mx")
    publish(db, version, email="ana@ejemplo.mx", target_code="TR-2")
    publish(db, version, email="luis@ejemplo.mx", locale="en")
    submit(db, version, email="sin.confirmar@ejemplo.mx")
    db.commit()
    sign_in_as(client, staff)
    refused = _extend(client, closes_on="2026-12-05", reason="")
    assert refused.status_code == 422
    page = soup(refused)
    assert page.select_one("#f-extend-closes_on")["value"] == "2026-12-05"  # type: ignore[index]
    assert page.select_one("#f-extend-closes_on-error") is not None
    assert page.select_one("#f-extend-reason-error") is not None

    reason = "Varias universidades pidieron más tiempo para sus comentarios."
    assert _extend(client, closes_on="2026-12-24", reason=reason).status_code == 303
    db.expire_all()
    assert service.closes_on(load_version_tree(db, version.id)) == dt.date(2026, 12, 24)
    assert "guideline_version.consultation_extended" in db.scalars(select(AuditEvent.action))
    public_page = soup(public.get(PAGE)).get_text(" ")
    assert reason in public_page
    assert "24 de diciembre de 2026" in public_page

    handler = RecordingHandler()
    port = free_port()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        deliver_outbox(
            db,
            smtp=SmtpConfig(host="127.0.0.1", port=port, sender="CEIA <no-responder@ceia.mx>"),
            now=DURING,
            max_attempts=3,
        )
    finally:
        server.stop()
    extended = {
        rcpt[0]: message
        for _sender, rcpt, message in handler.envelopes
        if "ampli" in message["Subject"] or "extended" in message["Subject"]
    }
    # One mail per address that confirmed a comment, in its language; none to the unconfirmed.
    assert sorted(extended) == ["ana@ejemplo.mx", "luis@ejemplo.mx"]
    assert reason in extended["ana@ejemplo.mx"].get_content()
    assert "24 de diciembre de 2026" in extended["ana@ejemplo.mx"].get_content()
    assert extended["luis@ejemplo.mx"]["Subject"].startswith("The consultation on")


def test_extension_must_move_the_closing_day_later(
    client: TestClient, db: Session, staff: User, clock: Clock, version: GuidelineVersion
) -> None:
    sign_in_as(client, staff)
    response = _extend(client, closes_on="2026-12-09", reason="Más tiempo.")
    assert response.status_code == 422
    error = soup(response).select_one("#f-extend-closes_on-error")
    assert error is not None
    assert "2026-12-10" in error.get_text()
    assert service.closes_on(load_version_tree(db, version.id)) == CLOSES_ON


def test_closing_early_waits_for_the_minimum_period_and_needs_a_reason(
    app: FastAPI,
    settings: Settings,
    client: TestClient,
    public: TestClient,
    db: Session,
    staff: User,
    clock: Clock,
    version: GuidelineVersion,
) -> None:
    close = PAGE + "/close"
    sign_in_as(client, staff)
    early = client.post(close, data={"reason": "Ya basta.", "csrf_token": csrf_of(client, PAGE)})
    assert early.status_code == 409
    assert "al menos 30 días" in soup(early).get_text()
    app.state.settings = settings.model_copy(update={"consultation_min_days": 7})
    clock.now = NOW + dt.timedelta(days=8)
    no_reason = client.post(close, data={"reason": " ", "csrf_token": csrf_of(client, PAGE)})
    assert no_reason.status_code == 422
    reason = "Se recibieron los comentarios de todos los sectores convocados."
    closed = client.post(close, data={"reason": reason, "csrf_token": csrf_of(client, PAGE)})
    assert closed.status_code == 303
    assert load_version_tree(db, version.id).consultation_closes_at == clock.now
    page = soup(public.get(PAGE))
    assert reason in page.get_text(" ")
    assert page.select_one("form[action$='/consultation/comments']") is None


def test_the_badge_stops_saying_in_consultation_when_the_period_ends(
    public: TestClient, clock: Clock, version: GuidelineVersion
) -> None:
    def badges() -> set[str]:
        found = set()
        for path in ("/guidelines/etica-ia", "/guidelines/etica-ia/1.0", PAGE):
            page = soup(public.get(path))
            found |= {badge.get_text(strip=True) for badge in page.select(".badge")}
        return found

    assert badges() == {"En consulta pública"}
    clock.now = CLOSES_AT
    assert badges() == {"Consulta cerrada"}


def test_each_principle_and_criterion_links_to_the_comment_form_about_it(
    public: TestClient, clock: Clock, version: GuidelineVersion
) -> None:
    public.cookies.set("lang", "en")
    page = soup(public.get("/guidelines/etica-ia/1.0"))
    links = {
        str(a.find_parent(["article", "section"])["id"]): str(a["href"])  # type: ignore[index]
        for a in page.select("p.comment-link a")
    }
    assert links == {
        "TR": PAGE + "/comment?target=TR",
        "TR-1": PAGE + "/comment?target=TR-1",
        "TR-2": PAGE + "/comment?target=TR-2",
    }
    texts = [a.get_text(" ", strip=True) for a in page.select("article p.comment-link a")]
    assert texts == ["Comment on this criterion TR-1", "Comment on this criterion TR-2"]

    form = soup(public.get(links["TR-2"]))
    chosen = form.select('select[name="target_code"] option[selected]')
    assert [o["value"] for o in chosen] == ["TR-2"]
    about = form.select_one("p.comment-about")
    assert about is not None
    assert "TR-2 · Explicación de decisiones" in about.get_text(" ", strip=True)

    clock.now = AFTER
    closed = soup(public.get("/guidelines/etica-ia/1.0"))
    assert closed.select("p.comment-link") == []
