"""The life of an issued certificate: suspension, reinstatement, withdrawal, expiry, renewal.

Every change of status has a public reason in Spanish and English, an audit event and a registry
event; nothing is deleted. The council's ballots (council/certificate_ballots.py) and the daily
job (`council certificates expire`) call the verbs here; issuance supersedes a renewed one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.audit import record_event
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound
from core.i18n import local_date, normalize_locale
from core.mail import queue_mail
from core.pagination import PageOf, page_of
from core.settings import Settings
from core.workflow import Step, Workflow
from guidelines.diff import diff_versions
from guidelines.documents import load_version_tree, version_document
from guidelines.models import Criterion, GuidelineVersion
from guidelines.service import get_guideline, slug_of, version_in_force
from quality_marks import applications
from quality_marks.certificate_history import (
    STATUS_LABELS,
    certificate_history,
    reason_in_both,
    record_registry_event,
)
from quality_marks.certificate_models import (
    Certificate,
    CertificateStatus,
    RegistryEvent,
    RegistryEventKind,
    WithdrawalReason,
)
from quality_marks.decisions import latest_decision
from quality_marks.models import Answer, Application, ApplicationStatus, Decision, Evidence
from quality_marks.organizations import EDITING_ROLES, membership, owners_of
from quality_marks.schemas import AnswerInput

S = CertificateStatus
# The chair's urgent suspension lapses unless a council ballot confirms it within these days.


@dataclass(frozen=True)
class CertificateRules:
    """The council's periods for certificates, as the settings give them."""

    # Days a ballot has to confirm the chair's urgent suspension before it lapses.
    suspension_confirm_days: int = 14
    # Days before expiry on which holders are reminded, once each.
    expiry_reminder_days: tuple[int, ...] = (90, 30)
    # Days a holder has to re-assess when a new guideline version changes criteria.
    reassessment_days: int = 90

    @classmethod
    def from_settings(cls, settings: Settings) -> CertificateRules:
        """The rules the service runs with."""
        return cls(
            suspension_confirm_days=settings.suspension_confirm_days,
            expiry_reminder_days=tuple(
                sorted({int(days) for days in settings.expiry_reminder_days.split(",")})
            ),
            reassessment_days=settings.reassessment_days,
        )


DEFAULT_RULES = CertificateRules()

ACTION_LABELS = {
    "open_suspension_ballot": N_("Propose a suspension to the council"),
    "open_reinstatement_ballot": N_("Propose a reinstatement to the council"),
    "open_withdrawal_ballot": N_("Propose a withdrawal to the council"),
    "suspend_urgently": N_("Suspend urgently"),
    "renew": N_("Start the renewal"),
}
EXPIRED_REASON = N_("The certificate reached the end of its validity on %(date)s.")
LAPSED_REASON = N_(
    "The urgent suspension lapsed: the council did not confirm it by %(date)s. "
    "The certificate is valid again."
)
NOT_CONFIRMED_REASON = N_(
    "The council did not confirm the urgent suspension; the certificate is valid again."
)
CONFIRMED_REASON = N_("The council confirmed the urgent suspension.")
REASSESS_REASON = N_(
    "Version %(number)s of the guideline changed criteria this certificate was assessed on "
    "(%(codes)s); the holder re-assesses against it by %(date)s."
)
SUPERSEDED_REASON = N_("Renewed by certificate %(number)s.")
NO_REASON = N_("Give the public reason in Spanish and in English.")
NO_REASON_CODE = N_("Choose the reason for the withdrawal.")
NOT_EXPIRED = N_("The certificate is still within its validity.")
NOT_LAPSED = N_("The suspension is not an urgent one past its confirmation day.")
RENEWAL_STARTED = N_("A renewal of this certificate has already started.")


def public_reason(es: str, en: str) -> dict[str, str]:
    """A public reason the council writes, both languages required."""
    reason = {"es": es.strip(), "en": en.strip()}
    missing = {f"reason_{key}": NO_REASON for key, text in reason.items() if not text}
    if missing:
        raise Invalid(fields=missing)
    return reason


# The workflow ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """Who acts on a certificate: a person's roles towards it, the council, or the daily job."""

    holder: bool = False  # an owner or editor of the holding organisation
    staff: bool = False  # runs the council's ballots (the secretary, the secretariat)
    chair: bool = False  # the council's chair in term: may suspend at once
    council: bool = False  # the council itself, by a ballot's resolution
    system: bool = False  # the daily job


COUNCIL = Standing(council=True)
SYSTEM = Standing(system=True)


@dataclass(frozen=True)
class CertificateCase:
    """What the workflow's rules read: the certificate, who acts, and the day."""

    certificate: Certificate
    standing: Standing
    today: dt.date
    # A renewal application of it is under way (`renewal_under_way`).
    renewing: bool = False


def _by_holder(case: CertificateCase) -> bool:
    return case.standing.holder


def _by_staff(case: CertificateCase) -> bool:
    return case.standing.staff


def _by_chair(case: CertificateCase) -> bool:
    return case.standing.chair


def _by_council(case: CertificateCase) -> bool:
    return case.standing.council


def _by_system(case: CertificateCase) -> bool:
    return case.standing.system


def _past_validity(case: CertificateCase) -> bool:
    return case.certificate.valid_until < case.today


def _unconfirmed_past_day(case: CertificateCase) -> bool:
    by = case.certificate.confirm_suspension_by
    return by is not None and by < case.today


def _not_renewed(case: CertificateCase) -> bool:
    return not case.renewing


# The life cycle of a certificate once issued. Actions without a target open a ballot or start a
# renewal; the order of the steps is the order of the buttons on the management page.
LIFE_CYCLE: Workflow[CertificateStatus, CertificateCase] = Workflow(
    [
        Step("open_suspension_ballot", S.valid, may=_by_staff),
        Step("open_reinstatement_ballot", S.suspended, may=_by_staff),
        Step("open_withdrawal_ballot", S.valid, may=_by_staff),
        Step("open_withdrawal_ballot", S.suspended, may=_by_staff),
        Step("suspend_urgently", S.valid, S.suspended, may=_by_chair),
        Step("renew", S.valid, may=_by_holder, guard=_not_renewed, refusal=RENEWAL_STARTED),
        # What the council's resolutions do.
        Step("suspend", S.valid, S.suspended, may=_by_council),
        Step("reinstate", S.suspended, S.valid, may=_by_council),
        Step("withdraw", S.valid, S.withdrawn, may=_by_council),
        Step("withdraw", S.suspended, S.withdrawn, may=_by_council),
        # What the daily job does.
        Step(
            "expire", S.valid, S.expired, may=_by_system, guard=_past_validity, refusal=NOT_EXPIRED
        ),
        Step(
            "expire",
            S.suspended,
            S.expired,
            may=_by_system,
            guard=_past_validity,
            refusal=NOT_EXPIRED,
        ),
        Step(
            "lapse",
            S.suspended,
            S.valid,
            may=_by_system,
            guard=_unconfirmed_past_day,
            refusal=NOT_LAPSED,
        ),
        # Issuance of the renewal (quality_marks/certificates.py) supersedes the renewed one.
        Step("supersede", S.valid, S.superseded, may=_by_system),
        Step("supersede", S.suspended, S.superseded, may=_by_system),
    ]
)


def standing_of(
    session: Session,
    user: User,
    certificate: Certificate,
    *,
    staff: bool = False,
    chair: bool = False,
) -> Standing:
    """A person's standing towards a certificate; the council side says if they run ballots."""
    member = membership(session, user, certificate.organization_id)
    return Standing(
        holder=member is not None and member.role in EDITING_ROLES,
        staff=staff or user.has_role(Role.secretariat),
        chair=chair,
    )


def renewal_under_way(session: Session, certificate: Certificate) -> bool:
    """Whether a renewal of the certificate has started and not ended without a grant.

    A renewal application withdrawn, or decided and refused, frees the holder to start again.
    """
    if certificate.renewal_application_id is None:
        return False
    application = session.get(Application, certificate.renewal_application_id)
    if application is None or application.status == ApplicationStatus.withdrawn:
        return False
    if application.status != ApplicationStatus.decided:
        return True
    decision = latest_decision(session, application)
    return decision is not None and decision.outcome == Decision.granted


def next_actions(
    certificate: Certificate, standing: Standing, now: dt.datetime, *, renewing: bool
) -> list[str]:
    """What the person may do next with the certificate (drives the page's buttons)."""
    return LIFE_CYCLE.actions(
        certificate.status, CertificateCase(certificate, standing, local_date(now), renewing)
    )


def _require(
    certificate: Certificate,
    action: str,
    standing: Standing,
    now: dt.datetime,
    *,
    renewing: bool = False,
) -> Step[CertificateStatus, CertificateCase]:
    case = CertificateCase(certificate, standing, local_date(now), renewing)
    try:
        return LIFE_CYCLE.require(action, certificate.status, case)
    except Conflict as refused:
        if refused.message and refused.message != Conflict().message:
            raise
        raise Conflict(
            N_("The certificate is %(status)s; this cannot be done now."),
            status=STATUS_LABELS[certificate.status],
        ) from None


def _change(
    session: Session,
    certificate: Certificate,
    *,
    action: str,
    standing: Standing,
    kind: RegistryEventKind,
    reason: dict[str, str],
    actor: User | None,
    now: dt.datetime,
    resolution: str | None = None,
    reason_code: str | None = None,
    details: dict[str, Any] | None = None,
) -> RegistryEvent:
    """Take a step of the life cycle: the new status, audit and registry events, owners told."""
    step = _require(certificate, action, standing, now)
    previous = certificate.status
    if step.target is not None:
        certificate.status = step.target
        certificate.status_changed_at = now
    session.flush()
    record_event(
        session,
        actor=actor,
        action=f"certificate.{kind.value}",
        object_type="certificate",
        object_id=certificate.number,
        summary={
            "from": previous.value,
            "to": certificate.status.value,
            "resolution": resolution,
            "reason_code": reason_code,
            **(details or {}),
        },
        now=now,
    )
    event = record_registry_event(
        session,
        kind=kind,
        certificate=certificate,
        public_reason=reason,
        now=now,
        reason_code=reason_code,
        resolution=resolution,
        details={"status": certificate.status.value, **(details or {})},
    )
    _mail_owners(
        session,
        certificate,
        template="mail/certificate_status.txt",
        context={"kind": kind.value, **_public_links(certificate)},
        reason=reason,
        now=now,
    )
    return event


# The verbs ---------------------------------------------------------------------------------


def suspend_certificate(
    session: Session,
    *,
    certificate: Certificate,
    reason: dict[str, str],
    resolution: str | None,
    actor: User | None,
    now: dt.datetime,
    urgent: bool = False,
    rules: CertificateRules = DEFAULT_RULES,
) -> RegistryEvent:
    """Suspend a valid certificate: by a council resolution, or urgently by the chair.

    An urgent suspension must be confirmed by a ballot within the rules' confirmation days.
    """
    details: dict[str, Any] = {}
    if urgent:
        certificate.confirm_suspension_by = local_date(now) + dt.timedelta(
            days=rules.suspension_confirm_days
        )
        details["confirm_by"] = certificate.confirm_suspension_by.isoformat()
    event = _change(
        session,
        certificate,
        action="suspend_urgently" if urgent else "suspend",
        standing=Standing(chair=True) if urgent else COUNCIL,
        kind=RegistryEventKind.suspended,
        reason=reason,
        actor=actor,
        now=now,
        resolution=resolution,
        details=details,
    )
    return event


def confirm_suspension(
    session: Session,
    *,
    certificate: Certificate,
    resolution: str,
    actor: User | None,
    now: dt.datetime,
) -> RegistryEvent:
    """The council confirms the chair's urgent suspension: it no longer lapses."""
    if certificate.status != S.suspended or certificate.confirm_suspension_by is None:
        raise Conflict(N_("Only an urgent suspension awaiting confirmation can be confirmed."))
    certificate.confirm_suspension_by = None
    session.flush()
    record_event(
        session,
        actor=actor,
        action="certificate.suspension_confirmed",
        object_type="certificate",
        object_id=certificate.number,
        summary={"resolution": resolution},
        now=now,
    )
    return record_registry_event(
        session,
        kind=RegistryEventKind.suspended,
        certificate=certificate,
        public_reason=reason_in_both(CONFIRMED_REASON),
        now=now,
        resolution=resolution,
        details={"status": certificate.status.value, "confirmed": True},
    )


def reinstate_certificate(
    session: Session,
    *,
    certificate: Certificate,
    reason: dict[str, str],
    resolution: str | None,
    actor: User | None,
    now: dt.datetime,
) -> RegistryEvent:
    """Reinstate a suspended certificate by a council resolution."""
    certificate.confirm_suspension_by = None
    return _change(
        session,
        certificate,
        action="reinstate",
        standing=COUNCIL,
        kind=RegistryEventKind.reinstated,
        reason=reason,
        actor=actor,
        now=now,
        resolution=resolution,
    )


def lapse_suspension(
    session: Session,
    *,
    certificate: Certificate,
    reason: dict[str, str],
    now: dt.datetime,
    resolution: str | None = None,
    actor: User | None = None,
) -> RegistryEvent:
    """An urgent suspension not confirmed ends: the certificate is valid again.

    A failed confirmation ballot ends it at once (its resolution given); otherwise the daily
    job does, once the day to confirm it has passed.
    """
    event = _change(
        session,
        certificate,
        action="reinstate" if resolution else "lapse",
        standing=COUNCIL if resolution else SYSTEM,
        kind=RegistryEventKind.reinstated,
        reason=reason,
        actor=actor,
        now=now,
        resolution=resolution,
        details={"lapsed": True},
    )
    certificate.confirm_suspension_by = None
    session.flush()
    return event


def withdraw_certificate(
    session: Session,
    *,
    certificate: Certificate,
    reason_code: WithdrawalReason,
    reason: dict[str, str],
    resolution: str | None,
    actor: User | None,
    now: dt.datetime,
) -> RegistryEvent:
    """Withdraw a valid or suspended certificate for good, with the reason's code."""
    event = _change(
        session,
        certificate,
        action="withdraw",
        standing=COUNCIL,
        kind=RegistryEventKind.withdrawn,
        reason=reason,
        actor=actor,
        now=now,
        resolution=resolution,
        reason_code=reason_code.value,
    )
    certificate.withdrawal_reason = reason_code
    certificate.confirm_suspension_by = None
    session.flush()
    return event


def supersede_certificate(
    session: Session, *, certificate: Certificate, by: Certificate, now: dt.datetime
) -> RegistryEvent:
    """A renewal was issued: the certificate it renews is superseded by it."""
    return _change(
        session,
        certificate,
        action="supersede",
        standing=SYSTEM,
        kind=RegistryEventKind.superseded,
        reason=reason_in_both(SUPERSEDED_REASON, number=by.number),
        actor=None,
        now=now,
        details={"superseded_by": by.number},
    )


def expire_certificates(session: Session, *, now: dt.datetime) -> int:
    """Expire every valid or suspended certificate past its last day of validity."""
    today = local_date(now)
    due = session.scalars(
        select(Certificate)
        .where(Certificate.status.in_([S.valid, S.suspended]), Certificate.valid_until < today)
        .order_by(Certificate.id)
    ).all()
    for certificate in due:
        _change(
            session,
            certificate,
            action="expire",
            standing=SYSTEM,
            kind=RegistryEventKind.expired,
            reason=reason_in_both(EXPIRED_REASON, date=certificate.valid_until.isoformat()),
            actor=None,
            now=now,
        )
        certificate.confirm_suspension_by = None
    session.flush()
    return len(due)


def lapse_unconfirmed_suspensions(
    session: Session, *, confirming: Collection[int], now: dt.datetime
) -> int:
    """Reinstate every urgent suspension the council did not confirm by its day.

    The rule: while its confirmation ballot is open (`confirming`, the certificates' ids) a
    suspension holds, even past its day, for members who voted in time must not lose their
    vote to the calendar; closing that ballot settles it (passed: confirmed; failed: it ends at
    once). Only a suspension with no confirmation ballot open lapses here, the day after its day.
    """
    today = local_date(now)
    due = session.scalars(
        select(Certificate)
        .where(
            Certificate.status == S.suspended,
            Certificate.confirm_suspension_by.is_not(None),
            Certificate.confirm_suspension_by < today,
            Certificate.id.not_in(list(confirming)),
        )
        .order_by(Certificate.id)
    ).all()
    for certificate in due:
        by = certificate.confirm_suspension_by
        assert by is not None
        lapse_suspension(
            session,
            certificate=certificate,
            reason=reason_in_both(LAPSED_REASON, date=by.isoformat()),
            now=now,
        )
    return len(due)


# Expiry reminders --------------------------------------------------------------------------


def _link(base_url: str, certificate: Certificate) -> str:
    return f"{base_url.rstrip('/')}/certificates/{certificate.number}/manage"


def _public_links(certificate: Certificate) -> dict[str, str]:
    """The certificate's public page and its management page.

    The public address is the one issuance wrote into the certificate (its QR code opens it):
    every verb that changes a status has the certificate, not always the request's base URL.
    """
    public = certificate.payload["verify_url"]
    base = public.removesuffix(f"/verify/{certificate.number}")
    return {"link": public, "manage_link": _link(base, certificate)}


def _mail_owners(
    session: Session,
    certificate: Certificate,
    *,
    template: str,
    context: dict[str, Any],
    now: dt.datetime,
    reason: dict[str, str] | None = None,
) -> int:
    """Mail each owner of the holder, in their own language (a public reason too)."""
    owners = owners_of(session, certificate.organization_id)
    for owner in owners:
        in_their_language = {}
        if reason is not None:
            english = normalize_locale(owner.locale) == "en"
            in_their_language["reason"] = reason["en"] if english else reason["es"]
        queue_mail(
            session,
            to=owner.email,
            template=template,
            locale=owner.locale,
            context={
                "user_name": owner.full_name,
                "number": certificate.number,
                "product_name": certificate.payload.get("product_name", ""),
                **context,
                **in_their_language,
            },
            now=now,
        )
    return len(owners)


def send_expiry_reminders(
    session: Session, *, base_url: str, now: dt.datetime, rules: CertificateRules = DEFAULT_RULES
) -> int:
    """Remind holders on each of the rules' days before expiry, once each; the mails queued."""
    today = local_date(now)
    sent = 0
    # Nearest first: a certificate first seen within 30 days gets only the 30-day reminder.
    for days in sorted(rules.expiry_reminder_days):
        due = session.scalars(
            select(Certificate)
            .where(
                Certificate.status.in_([S.valid, S.suspended]),
                Certificate.valid_until >= today,
                Certificate.valid_until <= today + dt.timedelta(days=days),
                or_(
                    Certificate.reminded_days_before.is_(None),
                    Certificate.reminded_days_before > days,
                ),
            )
            .order_by(Certificate.id)
        ).all()
        for certificate in due:
            certificate.reminded_days_before = days
            sent += _mail_owners(
                session,
                certificate,
                template="mail/certificate_expiry.txt",
                context={
                    "valid_until": certificate.valid_until,
                    "days": (certificate.valid_until - today).days,
                    "link": _link(base_url, certificate),
                },
                now=now,
            )
            record_event(
                session,
                actor=None,
                action="certificate.expiry_reminder",
                object_type="certificate",
                object_id=certificate.number,
                summary={"days_before": days},
                now=now,
            )
    session.flush()
    return sent


@dataclass(frozen=True)
class DailyRun:
    """What one run of the daily certificate job did."""

    expired: int
    lapsed: int
    reminders: int


def run_daily(
    session: Session,
    *,
    base_url: str,
    confirming: Collection[int],
    now: dt.datetime,
    rules: CertificateRules = DEFAULT_RULES,
) -> DailyRun:
    """The daily job: expire, lapse unconfirmed urgent suspensions, send expiry reminders.

    `confirming` names the certificates whose confirmation ballot is still open: they do not
    lapse (see `lapse_unconfirmed_suspensions`).
    """
    expired = expire_certificates(session, now=now)
    lapsed = lapse_unconfirmed_suspensions(session, confirming=confirming, now=now)
    reminders = send_expiry_reminders(session, base_url=base_url, now=now, rules=rules)
    return DailyRun(expired=expired, lapsed=lapsed, reminders=reminders)


# Renewal -----------------------------------------------------------------------------------


def start_renewal(
    session: Session, *, actor: User, certificate: Certificate, now: dt.datetime
) -> Application:
    """Start a new draft application for the certificate's product, pre-filled from the last.

    It applies on the guideline's version in force; answers and evidence links are copied for
    the criteria that still apply (files stay with the old application: a link is not a copy).
    """
    standing = standing_of(session, actor, certificate)
    _require(certificate, "renew", standing, now, renewing=renewal_under_way(session, certificate))
    old_version = session.get(GuidelineVersion, certificate.guideline_version_id)
    assert old_version is not None
    guideline = get_guideline(session, slug_of(session, old_version))
    version = version_in_force(guideline, now) or old_version
    application = applications.start_application(
        session, actor=actor, product_id=certificate.product_id, guideline_version=version, now=now
    )
    applicable = applications.applicable_codes(session, application)
    answers = {
        a.criterion_code: AnswerInput(
            value=a.value,
            justification=a.justification,
            answer_public=a.answer_public,
            justification_public=a.justification_public,
        )
        for a in session.scalars(
            select(Answer).where(Answer.application_id == certificate.application_id)
        )
        if a.criterion_code in applicable
    }
    if answers:
        applications.save_answers(
            session, actor=actor, application=application, answers=answers, now=now
        )
    links = session.scalars(
        select(Evidence)
        .where(Evidence.application_id == certificate.application_id, Evidence.url != "")
        .order_by(Evidence.id)
    ).all()
    for link in links:
        if link.criterion_code in applicable:
            applications.add_evidence_link(
                session,
                actor=actor,
                application=application,
                criterion_code=link.criterion_code,
                url=link.url,
                label=link.label,
                public=link.public,
                now=now,
            )
    certificate.renewal_application_id = application.id
    session.flush()
    record_event(
        session,
        actor=actor,
        action="certificate.renewal_started",
        object_type="certificate",
        object_id=certificate.number,
        summary={"application": application.id, "version": version.number},
        now=now,
    )
    return application


# Re-assessment on a new guideline version --------------------------------------------------


def _changed_criteria(
    session: Session, old_id: int, new_id: int
) -> tuple[set[str], dict[str, Any]]:
    """Codes changed or removed from one version to the other, and the added criteria's levels."""
    old = version_document(load_version_tree(session, old_id))
    new = version_document(load_version_tree(session, new_id))
    diff = diff_versions(old, new)
    changed = {c.code for c in diff.changed} | {e.criterion.code for e in diff.removed}
    added = {e.criterion.code: [r.value for r in e.criterion.risk_levels] for e in diff.added}
    return changed, added


def request_reassessment(
    session: Session,
    *,
    version: GuidelineVersion,
    base_url: str,
    now: dt.datetime,
    days: int = DEFAULT_RULES.reassessment_days,
) -> list[Certificate]:
    """After a version is adopted: live certificates on older versions whose assessed criteria
    changed are asked to re-assess against it within `days`; holders are told."""
    older = session.scalars(
        select(Certificate)
        .join(GuidelineVersion, GuidelineVersion.id == Certificate.guideline_version_id)
        .where(
            GuidelineVersion.guideline_id == version.guideline_id,
            Certificate.guideline_version_id != version.id,
            Certificate.status.in_([S.valid, S.suspended]),
        )
        .order_by(Certificate.id)
    ).all()
    diffs: dict[int, tuple[set[str], dict[str, Any]]] = {}
    reassess_by = local_date(now) + dt.timedelta(days=days)
    asked = []
    for certificate in older:
        if certificate.guideline_version_id not in diffs:
            diffs[certificate.guideline_version_id] = _changed_criteria(
                session, certificate.guideline_version_id, version.id
            )
        changed, added = diffs[certificate.guideline_version_id]
        application = session.get(Application, certificate.application_id)
        assert application is not None
        assessed = set(
            session.scalars(
                select(Criterion.code).where(
                    Criterion.version_id == certificate.guideline_version_id
                )
            )
        ) & applications.applicable_codes(session, application)
        codes = sorted(
            (changed & assessed)
            | {code for code, levels in added.items() if application.risk_level.value in levels}
        )
        if not codes:
            continue
        certificate.reassess_version_id = version.id
        certificate.reassess_by = reassess_by
        session.flush()
        details = {"version": version.number, "criteria": codes, "by": reassess_by.isoformat()}
        record_event(
            session,
            actor=None,
            action="certificate.reassessment_requested",
            object_type="certificate",
            object_id=certificate.number,
            summary=details,
            now=now,
        )
        record_registry_event(
            session,
            kind=RegistryEventKind.reassessment_requested,
            certificate=certificate,
            public_reason=reason_in_both(
                REASSESS_REASON,
                number=version.number,
                codes=", ".join(codes),
                date=reassess_by.isoformat(),
            ),
            now=now,
            details={"status": certificate.status.value, **details},
        )
        _mail_owners(
            session,
            certificate,
            template="mail/certificate_reassessment.txt",
            context={
                "version": version.number,
                "codes": ", ".join(codes),
                "reassess_by": reassess_by,
                "link": _link(base_url, certificate),
            },
            now=now,
        )
        asked.append(certificate)
    return asked


# Reading -----------------------------------------------------------------------------------


def get_certificate_by_number(session: Session, number: str) -> Certificate:
    """An issued certificate by its number (NotFound for unknown, void or unfinished ones)."""
    certificate = session.scalar(select(Certificate).where(Certificate.number == number))
    if certificate is None or certificate.status in (S.issuing, S.void):
        raise NotFound()
    return certificate


def may_read(session: Session, user: User, certificate: Certificate) -> bool:
    """Whether a person manages or follows the certificate: the holder, the council, staff."""
    return (
        user.has_role(Role.secretariat, Role.council_member)
        or membership(session, user, certificate.organization_id) is not None
    )


@dataclass(frozen=True)
class CertificateView:
    """A certificate as its management page shows it: the history and what the person may do."""

    certificate: Certificate
    history: list[RegistryEvent]
    actions: list[str]


def certificate_view(
    session: Session, user: User, number: str, standing: Standing, now: dt.datetime
) -> CertificateView:
    """The certificate, its public history and the actions the person may take now."""
    certificate = get_certificate_by_number(session, number)
    if not may_read(session, user, certificate):
        raise Forbidden()
    return CertificateView(
        certificate=certificate,
        history=certificate_history(session, certificate.id),
        actions=next_actions(
            certificate, standing, now, renewing=renewal_under_way(session, certificate)
        ),
    )


# The filters of the certificates list: a status, or those asked to re-assess.
LIST_FILTERS = (
    "",
    *(s.value for s in (S.valid, S.suspended, S.withdrawn, S.expired, S.superseded)),
    "reassess",
)


def _listed(filter_by: str) -> Select[Certificate]:
    stmt = select(Certificate)
    if filter_by == "reassess":
        return stmt.where(
            Certificate.reassess_version_id.is_not(None),
            Certificate.status.in_([S.valid, S.suspended]),
        ).order_by(Certificate.reassess_by, Certificate.id)
    if filter_by:
        stmt = stmt.where(Certificate.status == S(filter_by))
    else:
        stmt = stmt.where(Certificate.status.not_in([S.issuing, S.void]))
    return stmt.order_by(Certificate.id.desc())


def certificates_list(
    session: Session, *, viewer: User, filter_by: str, page: int
) -> PageOf[Certificate]:
    """One page of issued certificates, newest first, of one status or asked to re-assess.

    The list is the secretariat's: holders and the public read each certificate on its own page.
    """
    if not viewer.has_role(Role.secretariat):
        raise Forbidden()
    if filter_by not in LIST_FILTERS:
        raise Invalid(fields={"status": N_("Choose a status from the list.")})
    return page_of(session, _listed(filter_by), page=page, filters={"status": filter_by})


def certificates_to_reassess(session: Session) -> Sequence[Certificate]:
    """Live certificates asked to re-assess against a newer guideline version, soonest first."""
    return session.scalars(_listed("reassess")).all()


# The statuses whose certificates set their bit in each published status list. Revocation is
# for good (W3C): a withdrawn certificate and one superseded by its renewal are no longer in force;
# suspension is the one bit cleared again (on reinstatement, lapse or any later status).
STATUS_LIST_PURPOSES: dict[str, frozenset[CertificateStatus]] = {
    "revocation": frozenset({S.withdrawn, S.superseded}),
    "suspension": frozenset({S.suspended}),
}


def status_list_bits(session: Session, purpose: str) -> tuple[set[int], dt.datetime]:
    """The status-list indexes set in a purpose's list, and when any status last changed."""
    indexes = set(
        session.scalars(
            select(Certificate.status_list_index).where(
                Certificate.status.in_(STATUS_LIST_PURPOSES[purpose])
            )
        )
    )
    changed = session.scalar(select(func.max(Certificate.status_changed_at)))
    return indexes, changed or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
