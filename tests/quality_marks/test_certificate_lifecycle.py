"""A certificate's life after issue: each transition, its public reason, audit and registry."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.errors import Conflict, Forbidden, Invalid
from core.mail import OutboxMessage
from core.settings import Settings
from quality_marks import applications
from quality_marks import certificate_lifecycle as lifecycle
from quality_marks.certificate_history import certificate_history, reason_in_both
from quality_marks.certificate_models import (
    Certificate,
    CertificateStatus,
    RegistryEventKind,
    WithdrawalReason,
)
from quality_marks.models import (
    Answer,
    Application,
    ApplicationDecision,
    ApplicationStatus,
    Decision,
    Evidence,
)
from tests.factories import NOW
from tests.quality_marks.certificate_builders import decision_of, granted, make_certificate
from tests.quality_marks.decision_builders import Reviewed
from tests.quality_marks.factories import make_product

S = CertificateStatus
REASON = {"es": "Se halló una falla grave.", "en": "A serious fault was found."}


def _audit(db: Session, certificate: Certificate) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(
                AuditEvent.object_type == "certificate",
                AuditEvent.object_id == certificate.number,
            )
            .order_by(AuditEvent.id)
        )
    )


def _status(certificate: Certificate) -> S:
    """The status now (a verb called since changed it)."""
    return certificate.status


def _certified(db: Session, **changes: object) -> tuple[Reviewed, Certificate]:
    case = granted(db)
    return case, make_certificate(db, case, **changes)  # type: ignore[arg-type]


def _more(db: Session, case: Reviewed, **changes: object) -> Certificate:
    """A certificate for another product of the same holder (one live one per application)."""
    product = make_product(
        db, case.owner, case.organization, name=f"Producto {application_count(db)}"
    )
    application = Application(
        organization_id=case.organization.id,
        product_id=product.id,
        guideline_version_id=case.application.guideline_version_id,
        risk_level=case.application.risk_level,
        status=ApplicationStatus.decided,
        revision=1,
        created_by_id=case.owner.id,
        created_at=NOW,
        updated_at=NOW,
    )
    db.add(application)
    db.flush()
    other = replace(case, application=application)
    db.add(
        ApplicationDecision(
            **{
                c.key: getattr(decision_of(db, case), c.key)
                for c in ApplicationDecision.__table__.columns
                if c.key != "id"
            }
            | {"application_id": application.id}
        )
    )
    db.flush()
    return make_certificate(db, other, **changes)  # type: ignore[arg-type]


def application_count(db: Session) -> int:
    return len(db.scalars(select(Application.id)).all())


def test_the_life_cycle_table_allows_only_the_documented_moves() -> None:
    assert lifecycle.LIFE_CYCLE.transitions(S) == {
        S.issuing: frozenset(),
        S.valid: {S.suspended, S.withdrawn, S.expired, S.superseded},
        S.suspended: {S.valid, S.withdrawn, S.expired, S.superseded},
        S.withdrawn: frozenset(),
        S.expired: frozenset(),
        S.superseded: frozenset(),
        S.void: frozenset(),
    }


def test_suspension_and_reinstatement_by_resolution_leave_public_reasons(db: Session) -> None:
    _case, certificate = _certified(db)
    later = NOW + dt.timedelta(days=1)
    lifecycle.suspend_certificate(
        db,
        certificate=certificate,
        reason=REASON,
        resolution="CEIA-2026-010",
        actor=None,
        now=later,
    )
    assert certificate.status == S.suspended
    assert certificate.status_changed_at == later
    assert certificate.confirm_suspension_by is None
    back = {"es": "La falla se corrigió.", "en": "The fault was fixed."}
    lifecycle.reinstate_certificate(
        db, certificate=certificate, reason=back, resolution="CEIA-2026-011", actor=None, now=later
    )
    assert _status(certificate) == S.valid
    history = certificate_history(db, certificate.id)
    assert [(e.kind, e.resolution, e.public_reason) for e in history] == [
        (RegistryEventKind.suspended, "CEIA-2026-010", REASON),
        (RegistryEventKind.reinstated, "CEIA-2026-011", back),
    ]
    assert [e.details["status"] for e in history] == ["suspended", "valid"]
    assert _audit(db, certificate) == ["certificate.suspended", "certificate.reinstated"]


def test_withdrawal_keeps_its_reason_code_and_is_final(db: Session) -> None:
    _case, certificate = _certified(db, status=S.suspended)
    lifecycle.withdraw_certificate(
        db,
        certificate=certificate,
        reason_code=WithdrawalReason.misuse,
        reason=REASON,
        resolution="CEIA-2026-012",
        actor=None,
        now=NOW,
    )
    assert (certificate.status, certificate.withdrawal_reason) == (
        S.withdrawn,
        WithdrawalReason.misuse,
    )
    (event,) = certificate_history(db, certificate.id)
    assert (event.kind, event.reason_code) == (RegistryEventKind.withdrawn, "misuse")
    with pytest.raises(Conflict):
        lifecycle.reinstate_certificate(
            db, certificate=certificate, reason=REASON, resolution="X", actor=None, now=NOW
        )
    with pytest.raises(Conflict):
        lifecycle.suspend_certificate(
            db, certificate=certificate, reason=REASON, resolution="X", actor=None, now=NOW
        )
    # Nothing is deleted: the row and its one event are still there.
    assert db.get(Certificate, certificate.id) is not None


@pytest.mark.parametrize("status", [S.issuing, S.withdrawn, S.expired, S.superseded, S.void])
def test_only_a_valid_certificate_can_be_suspended(db: Session, status: S) -> None:
    _case, certificate = _certified(db, status=status)
    with pytest.raises(Conflict):
        lifecycle.suspend_certificate(
            db, certificate=certificate, reason=REASON, resolution="X", actor=None, now=NOW
        )
    assert certificate.status == status
    assert certificate_history(db, certificate.id) == []


def test_a_valid_certificate_cannot_be_reinstated(db: Session) -> None:
    _case, certificate = _certified(db)
    with pytest.raises(Conflict):
        lifecycle.reinstate_certificate(
            db, certificate=certificate, reason=REASON, resolution="X", actor=None, now=NOW
        )


def test_the_council_writes_its_public_reason_in_both_languages() -> None:
    with pytest.raises(Invalid) as refused:
        lifecycle.public_reason("Motivo.", "  ")
    assert set(refused.value.fields) == {"reason_en"}
    assert lifecycle.public_reason(" Motivo. ", "Reason.") == {"es": "Motivo.", "en": "Reason."}


def test_system_reasons_are_stored_in_spanish_and_english() -> None:
    reason = reason_in_both(lifecycle.EXPIRED_REASON, date="2026-06-01")
    assert set(reason) == {"es", "en"}
    assert reason["en"] == "The certificate reached the end of its validity on 2026-06-01."
    assert "2026-06-01" in reason["es"]


def test_expiry_job_expires_valid_and_suspended_certificates_past_their_last_day(
    db: Session,
) -> None:
    last_day = dt.date(2026, 11, 24)  # NOW is 2026-11-25 in Mexico City
    case, past = _certified(db, valid_until=last_day)
    suspended = _more(db, case, status=S.suspended, valid_until=last_day)
    today = _more(db, case, valid_until=dt.date(2026, 11, 25))
    withdrawn = _more(db, case, status=S.withdrawn, valid_until=last_day)
    assert lifecycle.expire_certificates(db, now=NOW) == 2
    assert [c.status for c in (past, suspended, today, withdrawn)] == [
        S.expired,
        S.expired,
        S.valid,
        S.withdrawn,
    ]
    (event,) = certificate_history(db, past.id)
    assert event.kind == RegistryEventKind.expired
    assert event.public_reason["en"] == (
        "The certificate reached the end of its validity on 2026-11-24."
    )
    assert _audit(db, past) == ["certificate.expired"]
    # Run again: nothing more to do.
    assert lifecycle.expire_certificates(db, now=NOW) == 0


def test_an_urgent_suspension_lapses_when_not_confirmed_in_time(db: Session) -> None:
    _case, certificate = _certified(db)
    lifecycle.suspend_certificate(
        db,
        certificate=certificate,
        reason=REASON,
        resolution=None,
        actor=None,
        now=NOW,
        urgent=True,
    )
    confirm_by = dt.date(2026, 11, 25) + dt.timedelta(
        days=lifecycle.DEFAULT_RULES.suspension_confirm_days
    )
    assert certificate.confirm_suspension_by == confirm_by
    # On the last day to confirm it still holds; the day after it lapses.
    on_last_day = NOW + dt.timedelta(days=lifecycle.DEFAULT_RULES.suspension_confirm_days)
    assert lifecycle.lapse_unconfirmed_suspensions(db, confirming=(), now=on_last_day) == 0
    assert certificate.status == S.suspended
    after = on_last_day + dt.timedelta(days=1)
    assert lifecycle.lapse_unconfirmed_suspensions(db, confirming=(), now=after) == 1
    assert _status(certificate) == S.valid
    assert certificate.confirm_suspension_by is None
    suspended, lapsed = certificate_history(db, certificate.id)
    assert suspended.details["confirm_by"] == confirm_by.isoformat()
    assert lapsed.kind == RegistryEventKind.reinstated
    assert lapsed.details["lapsed"] is True
    assert "did not confirm it by" in lapsed.public_reason["en"]
    assert set(lapsed.public_reason) == {"es", "en"}


def test_a_suspension_by_resolution_never_lapses(db: Session) -> None:
    _case, certificate = _certified(db)
    lifecycle.suspend_certificate(
        db, certificate=certificate, reason=REASON, resolution="CEIA-1", actor=None, now=NOW
    )
    far = NOW + dt.timedelta(days=100)
    assert lifecycle.lapse_unconfirmed_suspensions(db, confirming=(), now=far) == 0
    with pytest.raises(Conflict):
        lifecycle.lapse_suspension(db, certificate=certificate, reason=REASON, now=far)
    assert certificate.status == S.suspended


def _outbox(db: Session) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == "mail/certificate_expiry.txt")
            .order_by(OutboxMessage.id)
        )
    )


def test_expiry_reminders_go_at_90_and_30_days_once_each(db: Session) -> None:
    case, certificate = _certified(db, valid_until=dt.date(2027, 3, 1))
    day = dt.timedelta(days=1)
    # 2027-03-01 is 96 days after 2026-11-25.
    assert lifecycle.send_expiry_reminders(db, base_url="http://x", now=NOW) == 0
    at_90 = NOW + 6 * day
    assert lifecycle.send_expiry_reminders(db, base_url="http://x", now=at_90) == 1
    assert lifecycle.send_expiry_reminders(db, base_url="http://x", now=at_90 + day) == 0
    assert certificate.reminded_days_before == 90
    at_30 = NOW + 66 * day
    assert lifecycle.send_expiry_reminders(db, base_url="http://x", now=at_30 - day) == 0
    assert lifecycle.send_expiry_reminders(db, base_url="http://x", now=at_30) == 1
    assert lifecycle.send_expiry_reminders(db, base_url="http://x", now=at_30 + 10 * day) == 0
    assert certificate.reminded_days_before == 30
    mails = _outbox(db)
    assert [m.to_address for m in mails] == [case.owner.email] * 2
    assert all(certificate.number in m.body_text for m in mails)
    assert f"http://x/certificates/{certificate.number}/manage" in mails[0].body_text
    assert _audit(db, certificate) == ["certificate.expiry_reminder"] * 2


def test_a_certificate_first_seen_within_30_days_gets_only_the_last_reminder(db: Session) -> None:
    _case, certificate = _certified(db, valid_until=dt.date(2026, 12, 10))
    assert lifecycle.send_expiry_reminders(db, base_url="", now=NOW) == 1
    assert certificate.reminded_days_before == 30
    assert lifecycle.send_expiry_reminders(db, base_url="", now=NOW) == 0


def test_reminders_are_written_in_each_owners_language(db: Session) -> None:
    case, _certificate = _certified(db, valid_until=dt.date(2026, 12, 10))
    case.owner.locale = "en"
    lifecycle.send_expiry_reminders(db, base_url="", now=NOW)
    (mail,) = _outbox(db)
    assert mail.locale == "en"
    assert "expires" in mail.subject


def test_daily_run_expires_lapses_and_reminds(db: Session) -> None:
    case, old = _certified(db, valid_until=dt.date(2026, 1, 1))
    soon = _more(db, case, valid_until=dt.date(2026, 12, 31))
    run = lifecycle.run_daily(db, base_url="", confirming=(), now=NOW)
    assert run == lifecycle.DailyRun(expired=1, lapsed=0, reminders=1)
    assert (old.status, soon.reminded_days_before) == (S.expired, 90)


def test_renewal_starts_a_draft_prefilled_from_the_last_application(db: Session) -> None:
    case, certificate = _certified(db)
    db.add(
        Evidence(
            application_id=case.application.id,
            criterion_code="TR-1",
            url="https://example.mx/modelo",
            label="Ficha del modelo",
            public=True,
            uploaded_by_id=case.owner.id,
            uploaded_at=NOW,
        )
    )
    # The last application is decided, so the product may start a new one.
    renewal = lifecycle.start_renewal(db, actor=case.owner, certificate=certificate, now=NOW)
    assert renewal.status == ApplicationStatus.draft
    assert renewal.product_id == case.application.product_id
    assert renewal.guideline_version_id == case.application.guideline_version_id
    assert certificate.renewal_application_id == renewal.id
    old = {
        a.criterion_code: a.value
        for a in db.scalars(select(Answer).where(Answer.application_id == case.application.id))
    }
    new = {
        a.criterion_code: a.value
        for a in db.scalars(select(Answer).where(Answer.application_id == renewal.id))
    }
    assert new == old
    assert len(new) == 5
    (link,) = db.scalars(select(Evidence).where(Evidence.application_id == renewal.id))
    assert (link.url, link.criterion_code) == ("https://example.mx/modelo", "TR-1")
    assert _audit(db, certificate) == ["certificate.renewal_started"]
    with pytest.raises(Conflict):
        lifecycle.start_renewal(db, actor=case.owner, certificate=certificate, now=NOW)


def test_a_renewal_withdrawn_or_refused_lets_the_holder_start_again(db: Session) -> None:
    case, certificate = _certified(db)
    first = lifecycle.start_renewal(db, actor=case.owner, certificate=certificate, now=NOW)
    standing = lifecycle.standing_of(db, case.owner, certificate)
    assert (
        "renew"
        not in lifecycle.certificate_view(db, case.owner, certificate.number, standing, NOW).actions
    )
    applications.withdraw_application(
        db, actor=case.owner, application=first, reason="Faltan datos.", now=NOW
    )
    assert (
        "renew"
        in lifecycle.certificate_view(db, case.owner, certificate.number, standing, NOW).actions
    )
    second = lifecycle.start_renewal(db, actor=case.owner, certificate=certificate, now=NOW)
    assert certificate.renewal_application_id == second.id
    # Decided and refused: the renewal ended without a grant.
    second.status = ApplicationStatus.decided
    refusal = {
        c.key: getattr(decision_of(db, case), c.key)
        for c in ApplicationDecision.__table__.columns
        if c.key != "id"
    }
    db.add(
        ApplicationDecision(
            **refusal | {"application_id": second.id, "outcome": Decision.refused, "level": None}
        )
    )
    db.flush()
    third = lifecycle.start_renewal(db, actor=case.owner, certificate=certificate, now=NOW)
    assert certificate.renewal_application_id == third.id
    with pytest.raises(Conflict):
        lifecycle.start_renewal(db, actor=case.owner, certificate=certificate, now=NOW)


def test_only_the_holder_renews(db: Session) -> None:
    case, certificate = _certified(db)
    with pytest.raises(Forbidden):
        lifecycle.start_renewal(db, actor=case.staff, certificate=certificate, now=NOW)


def test_renewal_by_issuance_supersedes_the_old_certificate(db: Session) -> None:
    case, old = _certified(db)
    new = _more(db, case)
    lifecycle.supersede_certificate(db, certificate=old, by=new, now=NOW)
    assert old.status == S.superseded
    (event,) = certificate_history(db, old.id)
    assert event.details["superseded_by"] == new.number
    assert new.number in event.public_reason["en"]


def test_status_list_bits_follow_suspension_withdrawal_and_supersession(db: Session) -> None:
    case, suspended = _certified(db, status=S.suspended)
    withdrawn = _more(db, case, status=S.withdrawn)
    superseded = _more(db, case, status=S.superseded)
    _more(db, case, status=S.expired)
    _more(db, case)
    bits, _ = lifecycle.status_list_bits(db, "suspension")
    assert bits == {suspended.status_list_index}
    # Superseded by its renewal, a certificate is no longer in force: revoked for good.
    bits, _ = lifecycle.status_list_bits(db, "revocation")
    assert bits == {withdrawn.status_list_index, superseded.status_list_index}


def test_the_certificates_list_filters_by_status_in_sql(db: Session) -> None:
    case, valid = _certified(db)
    suspended = _more(db, case, status=S.suspended)
    _more(db, case, status=S.issuing)
    everything = lifecycle.certificates_list(db, viewer=case.staff, filter_by="", page=1)
    assert [c.id for c in everything.items] == [suspended.id, valid.id]
    only = lifecycle.certificates_list(db, viewer=case.staff, filter_by="suspended", page=1)
    assert [c.id for c in only.items] == [suspended.id]
    with pytest.raises(Invalid):
        lifecycle.certificates_list(db, viewer=case.staff, filter_by="issuing", page=1)


def test_only_the_secretariat_reads_the_certificates_list(db: Session) -> None:
    case, _valid = _certified(db)
    for viewer in (case.owner, case.council[2][0]):
        with pytest.raises(Forbidden):
            lifecycle.certificates_list(db, viewer=viewer, filter_by="", page=1)


def test_the_councils_periods_come_from_the_settings(db: Session) -> None:
    settings = Settings(
        expiry_reminder_days="60,7,60",
        suspension_confirm_days=10,
        reassessment_days=45,
        _env_file=None,
    )
    rules = lifecycle.CertificateRules.from_settings(settings)
    assert rules == lifecycle.CertificateRules(
        suspension_confirm_days=10, expiry_reminder_days=(7, 60), reassessment_days=45
    )
    _case, certificate = _certified(db, valid_until=dt.date(2027, 1, 20))
    # 56 days before expiry: the council's 60-day reminder, not the default 90-day one.
    assert lifecycle.send_expiry_reminders(db, base_url="", now=NOW, rules=rules) == 1
    assert certificate.reminded_days_before == 60
    assert lifecycle.send_expiry_reminders(db, base_url="", now=NOW, rules=rules) == 0
    lifecycle.suspend_certificate(
        db,
        certificate=certificate,
        reason=reason_in_both(lifecycle.CONFIRMED_REASON),
        resolution=None,
        actor=None,
        now=NOW,
        urgent=True,
        rules=rules,
    )
    assert certificate.confirm_suspension_by == NOW.date() + dt.timedelta(days=10)
