"""The council's decisions on applications: the mark rule and its levels, decisions, appeals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from core.accounts import Role, User
from core.audit import record_event
from core.errors import N_, Conflict, Invalid
from core.i18n import local_date
from core.mail import queue_mail
from core.markdown import render_markdown
from guidelines.models import Guideline, GuidelineVersion, VersionStatus
from guidelines.service import standings
from quality_marks.applications import (
    COUNCIL,
    DECISION_LABELS,
    STATUS_LABELS,
    get_application,
    log_change,
    standing_of,
    take_step,
)
from quality_marks.certificate_history import void_reasons
from quality_marks.certificate_models import Certificate, CertificateStatus
from quality_marks.models import (
    ACTIVE_REVIEWS,
    Appeal,
    AppealStatus,
    Application,
    ApplicationDecision,
    ApplicationSnapshot,
    ApplicationStatus,
    Decision,
    Finding,
    MarkRule,
    OrgRole,
    Review,
    ReviewFinding,
    ReviewStatus,
)
from quality_marks.organizations import EDITING_ROLES, members_of, membership

# The rule for versions adopted before rules were published: best level first.
DEFAULT_RULE: dict[str, Any] = {
    "levels": [
        {"code": "A", "max_major": 0, "max_minor": 0},
        {"code": "B", "max_major": 0, "max_minor": 3},
    ]
}
LEVEL_LABELS = {
    "A": N_("Level A: full conformity"),
    "B": N_("Level B: conformity with minor observations"),
}
FINDING_LABELS = {
    Finding.conforms: N_("Conforms"),
    Finding.minor_nonconformity: N_("Minor nonconformity"),
    Finding.major_nonconformity: N_("Major nonconformity"),
    Finding.not_applicable_confirmed: N_("Not applicable (confirmed)"),
}
APPEAL_LABELS = {
    AppealStatus.filed: N_("Filed, awaiting the council"),
    AppealStatus.upheld: N_("Upheld: the refusal is set aside"),
    AppealStatus.dismissed: N_("Dismissed: the refusal stands"),
}
# Most severe first: the consolidated finding of a criterion is the worst any reviewer found.
SEVERITY = {
    Finding.major_nonconformity: 3,
    Finding.minor_nonconformity: 2,
    Finding.conforms: 1,
    Finding.not_applicable_confirmed: 0,
}
# Reviews that still count in their round (declined and released ones were handed back).


# A certificate the secretariat may (re)issue: none yet, one left unfinished, or a void one.
RETRIABLE_CERTIFICATES = (CertificateStatus.issuing, CertificateStatus.void)


# The mark rule -----------------------------------------------------------------------------


def mark_level(findings: Mapping[str, Finding], rule: Mapping[str, Any]) -> str | None:
    """The best level whose limits the findings keep within; None: not eligible for the mark."""
    majors = sum(1 for f in findings.values() if f == Finding.major_nonconformity)
    minors = sum(1 for f in findings.values() if f == Finding.minor_nonconformity)
    for level in rule["levels"]:
        if majors <= level["max_major"] and minors <= level["max_minor"]:
            return str(level["code"])
    return None


def publish_mark_rule(session: Session, version: GuidelineVersion, now: dt.datetime) -> MarkRule:
    """Freeze the mark rule with a guideline version as it is adopted (once; then it is kept)."""
    existing = session.scalar(select(MarkRule).where(MarkRule.guideline_version_id == version.id))
    if existing is not None:
        return existing
    rule = MarkRule(guideline_version_id=version.id, rule=DEFAULT_RULE, published_at=now)
    session.add(rule)
    session.flush()
    record_event(
        session,
        actor=None,
        action="mark_rule.publish",
        object_type="guideline_version",
        object_id=version.id,
        summary={"rule": DEFAULT_RULE},
        now=now,
    )
    return rule


def rule_for(session: Session, version_id: int) -> dict[str, Any]:
    """The mark rule published with a guideline version (the default for older versions)."""
    rule = session.scalar(select(MarkRule.rule).where(MarkRule.guideline_version_id == version_id))
    return dict(rule) if rule is not None else DEFAULT_RULE


@dataclass(frozen=True)
class PublishedRule:
    """One adopted version's mark rule, for the public page on levels."""

    guideline: Guideline
    version: GuidelineVersion
    in_force: bool
    rule: dict[str, Any]


def published_rules(session: Session, now: dt.datetime) -> list[PublishedRule]:
    """The rules of every adopted guideline version, each guideline's version in force first."""
    guidelines = session.scalars(
        select(Guideline).options(selectinload(Guideline.versions)).order_by(Guideline.slug)
    ).all()
    adopted = [
        v
        for g in guidelines
        for v in g.versions
        if v.status in (VersionStatus.adopted, VersionStatus.superseded)
    ]
    rules: dict[int, dict[str, Any]] = {}
    for version_id, rule in session.execute(
        select(MarkRule.guideline_version_id, MarkRule.rule).where(
            MarkRule.guideline_version_id.in_([v.id for v in adopted])
        )
    ):
        rules[version_id] = rule
    found: list[PublishedRule] = []
    for guideline in guidelines:
        standing = standings(guideline.versions, now)
        mine = [v for v in adopted if v.guideline_id == guideline.id]
        mine.sort(key=lambda v: (not standing[v.id].in_force, -(v.adopted_at or now).timestamp()))
        found += [
            PublishedRule(guideline, v, standing[v.id].in_force, rules.get(v.id, DEFAULT_RULE))
            for v in mine
        ]
    return found


# Findings of a round -----------------------------------------------------------------------


def round_reviews(session: Session, application: Application, round: int) -> list[Review]:
    """The reviews of one round still counting (not declined or released), with findings."""
    return list(
        session.scalars(
            select(Review)
            .where(
                Review.application_id == application.id,
                Review.round == round,
                Review.status.in_(ACTIVE_REVIEWS),
            )
            .options(selectinload(Review.findings), joinedload(Review.reviewer))
            .order_by(Review.id)
        )
    )


def consolidate(reviews: Sequence[Review]) -> dict[str, Finding]:
    """The most severe finding per criterion across the submitted reviews given."""
    worst: dict[str, Finding] = {}
    for review in reviews:
        if review.status != ReviewStatus.submitted:
            continue
        for finding in review.findings:
            if finding.finding is None:
                continue
            current = worst.get(finding.criterion_code)
            if current is None or SEVERITY[finding.finding] > SEVERITY[current]:
                worst[finding.criterion_code] = finding.finding
    return dict(sorted(worst.items()))


def consolidated_findings(
    session: Session, application: Application, round: int
) -> dict[str, Finding]:
    """Per criterion, the most severe finding of the round's submitted reviews."""
    return consolidate(round_reviews(session, application, round))


def _findings_for_applicant(reviews: Sequence[Review]) -> dict[str, Any]:
    """Per criterion the consolidated finding and the reviewers' comments, never who wrote them."""
    consolidated = consolidate(reviews)
    comments: dict[str, list[str]] = {}
    for review in reviews:
        if review.status != ReviewStatus.submitted:
            continue
        for finding in review.findings:
            if finding.comment.strip():
                html = str(render_markdown(finding.comment))
                comments.setdefault(finding.criterion_code, []).append(html)
    return {
        code: {"finding": finding.value, "comments": comments.get(code, [])}
        for code, finding in consolidated.items()
    }


# Deciding ----------------------------------------------------------------------------------


def record_decision(
    session: Session,
    *,
    application: Application,
    outcome: Decision,
    resolution: str,
    round: int,
    rule: dict[str, Any],
    reasons: str,
    conditions: str,
    validity_years: int,
    appeal_days: int,
    decision_url: str,
    actor: User | None,
    now: dt.datetime,
) -> ApplicationDecision:
    """The `decide` step: the council's decision by the resolution named, never changed after.

    Only the decision ballot's carry-out calls it (a test reads the code to make sure).
    """
    if not resolution.strip():
        raise Invalid(fields={"resolution": N_("A decision needs the resolution that took it.")})
    if application.status != ApplicationStatus.under_review:
        # Only from review: the table would also let "decide" reach decided from an appeal.
        raise Conflict(
            N_("The application is %(status)s; it cannot become %(target)s."),
            status=STATUS_LABELS[application.status],
            target=STATUS_LABELS[ApplicationStatus.decided],
        )
    take_step(application, "decide", COUNCIL)
    reviews = round_reviews(session, application, round)
    findings = consolidate(reviews)
    level = mark_level(findings, rule) if outcome == Decision.granted else None
    if outcome == Decision.granted and level is None:
        raise Conflict(N_("The findings reach no level of the mark; it cannot be granted."))
    today = local_date(now)
    granted = outcome == Decision.granted
    decision = ApplicationDecision(
        application_id=application.id,
        outcome=outcome,
        resolution=resolution.strip(),
        round=round,
        findings=_findings_for_applicant(reviews),
        level=level,
        rule=rule,
        reasons=reasons.strip(),
        conditions=conditions.strip() if granted else "",
        valid_from=today if granted else None,
        valid_until=years_after(today, validity_years) if granted else None,
        appeal_until=None if granted else today + dt.timedelta(days=appeal_days),
        decided_at=now,
    )
    session.add(decision)
    application.decision = outcome
    application.decision_resolution = decision.resolution
    application.decided_at = now
    session.flush()
    log_change(
        session,
        actor,
        "decide",
        application,
        now,
        decision=outcome.value,
        resolution=decision.resolution,
        level=level,
    )
    if granted:
        # The boundary with certificate issuance: the next issue consumes these events.
        record_event(
            session,
            actor=actor,
            action="mark.granted",
            object_type="application_decision",
            object_id=decision.id,
            summary={"application": application.id, "level": level},
            now=now,
        )
    _mail_organization(session, application, decision, "mail/decision.txt", decision_url, now)
    return decision


def years_after(day: dt.date, years: int) -> dt.date:
    """The same day `years` later: the end of a mark's validity from its start."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def may_issue_certificate(
    user: User, decision: ApplicationDecision | None, certificate: Certificate | None
) -> bool:
    """Whether the person may issue an application's certificate now: the secretariat, for a
    grant whose latest certificate is missing, unfinished or void."""
    return (
        user.has_role(Role.secretariat)
        and decision is not None
        and decision.outcome == Decision.granted
        and (certificate is None or certificate.status in RETRIABLE_CERTIFICATES)
    )


def granted_marks_awaiting_certificate(session: Session) -> list[ApplicationDecision]:
    """Granted decisions that never had a certificate, oldest first: what issuance takes up.

    A decision whose certificate was voided waits for the secretariat's retry, not for a batch
    that would spend a number on it each time it runs.
    """
    return list(
        session.scalars(
            select(ApplicationDecision)
            .where(
                ApplicationDecision.outcome == Decision.granted,
                ~select(Certificate.id)
                .where(Certificate.decision_id == ApplicationDecision.id)
                .exists(),
            )
            .order_by(ApplicationDecision.decided_at, ApplicationDecision.id)
        )
    )


def _mail_organization(
    session: Session,
    application: Application,
    decision: ApplicationDecision,
    template: str,
    link: str,
    now: dt.datetime,
    appeal: Appeal | None = None,
) -> None:
    for person, role in members_of(session, application.organization_id):
        if role not in (OrgRole.owner, OrgRole.editor):
            continue
        queue_mail(
            session,
            to=person.email,
            template=template,
            locale=person.locale,
            context={
                "user_name": person.full_name,
                "application_id": application.id,
                "outcome": DECISION_LABELS[decision.outcome],
                "resolution": appeal.resolution if appeal else decision.resolution,
                "level": LEVEL_LABELS.get(decision.level or "", decision.level or ""),
                "reasons": appeal.outcome_reason if appeal else decision.reasons,
                "appeal_until": decision.appeal_until,
                "upheld": appeal is not None and appeal.status == AppealStatus.upheld,
                "link": link,
            },
            now=now,
        )


# Reading a decision ------------------------------------------------------------------------


def latest_decision(session: Session, application: Application) -> ApplicationDecision | None:
    """The application's most recent decision."""
    return session.scalar(
        select(ApplicationDecision)
        .where(ApplicationDecision.application_id == application.id)
        .order_by(ApplicationDecision.decided_at.desc(), ApplicationDecision.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class FindingForApplicant:
    """One criterion's finding as the applicant reads it: the finding and anonymous comments."""

    code: str
    finding: Finding
    comments: list[Markup]


@dataclass(frozen=True)
class DecisionView:
    """What the decision page shows: the decision, its level and rule, findings, the appeal."""

    application: Application
    decision: ApplicationDecision | None  # None: the council has not decided yet
    findings: list[FindingForApplicant]
    levels: list[dict[str, Any]]
    appeal: Appeal | None
    may_appeal: bool
    # The application's latest certificate (live, issued or void), and whether the viewer may
    # issue it now (the secretariat, for a grant without a certificate in force).
    certificate: Certificate | None = None
    may_issue_certificate: bool = False
    # Why a void certificate was not signed (lint message ids): for the secretariat only.
    certificate_problems: list[str] = field(default_factory=list)


def decision_view(
    session: Session, user: User, application_id: int, now: dt.datetime
) -> DecisionView:
    """An application's latest decision (if any) for those who may read it, with its appeal."""
    application = get_application(session, user, application_id)
    decision = latest_decision(session, application)
    appeal = (
        session.scalar(select(Appeal).where(Appeal.decision_id == decision.id))
        if decision
        else None
    )
    certificate = session.scalar(
        select(Certificate)
        .where(Certificate.application_id == application.id)
        .order_by(Certificate.id.desc())
        .limit(1)
    )
    return DecisionView(
        application=application,
        decision=decision,
        findings=[
            FindingForApplicant(
                code, Finding(item["finding"]), [Markup(c) for c in item["comments"]]
            )
            for code, item in sorted(decision.findings.items() if decision else [])
        ],
        levels=list(decision.rule.get("levels", [])) if decision else [],
        appeal=appeal,
        may_appeal=may_appeal(session, user, application, now),
        certificate=certificate,
        may_issue_certificate=may_issue_certificate(user, decision, certificate),
        certificate_problems=(
            void_reasons(certificate)
            if certificate is not None and user.has_role(Role.secretariat)
            else []
        ),
    )


# Appeals -----------------------------------------------------------------------------------


def _appeal_open(
    session: Session, application: Application, now: dt.datetime
) -> ApplicationDecision | None:
    """The refusal that may still be appealed now, if any."""
    decision = latest_decision(session, application)
    if decision is None or decision.outcome != Decision.refused or decision.appeal_until is None:
        return None
    if local_date(now) > decision.appeal_until:
        return None
    if session.scalar(select(Appeal.id).where(Appeal.decision_id == decision.id)) is not None:
        return None
    return decision


def may_appeal(session: Session, user: User, application: Application, now: dt.datetime) -> bool:
    """Whether the person may appeal the application's decision now (drives the appeal form)."""
    if application.status != ApplicationStatus.decided:
        return False
    member = membership(session, user, application.organization_id)
    if member is None or member.role not in EDITING_ROLES:
        return False
    return _appeal_open(session, application, now) is not None


def file_appeal(
    session: Session,
    *,
    actor: User,
    application: Application,
    grounds: str,
    base_url: str,
    now: dt.datetime,
) -> Appeal:
    """An owner or editor appeals a refusal within the appeal period; the secretariat is told."""
    decision = _appeal_open(session, application, now)
    standing = replace(standing_of(session, actor, application), appeal_open=decision is not None)
    take_step(application, "appeal", standing)
    if not grounds.strip():
        raise Invalid(fields={"grounds": N_("Say why the decision should be reconsidered.")})
    assert decision is not None  # the step's guard holds only with an open refusal
    appeal = Appeal(
        application_id=application.id,
        decision_id=decision.id,
        grounds=grounds.strip(),
        filed_by_id=actor.id,
        filed_at=now,
        status=AppealStatus.filed,
    )
    session.add(appeal)
    session.flush()
    log_change(session, actor, "appeal", application, now, decision=decision.resolution)
    for person in session.scalars(
        select(User).where(User.role == Role.secretariat, User.is_active.is_(True))
    ):
        queue_mail(
            session,
            to=person.email,
            template="mail/appeal_filed.txt",
            locale=person.locale,
            context={
                "user_name": person.full_name,
                "application_id": application.id,
                "resolution": decision.resolution,
                "link": f"{base_url.rstrip('/')}/applications/{application.id}/appeal-ballot",
            },
            now=now,
        )
    return appeal


def pending_appeal(session: Session, application: Application) -> Appeal:
    """The appeal of an application the council has still to hear; Conflict when none is."""
    appeal = session.scalar(
        select(Appeal).where(
            Appeal.application_id == application.id, Appeal.status == AppealStatus.filed
        )
    )
    if appeal is None or application.status != ApplicationStatus.appealed:
        raise Conflict(
            N_("The application is %(status)s; it has no appeal awaiting the council."),
            status=STATUS_LABELS[application.status],
        )
    return appeal


def excluded_reviewers(session: Session, application: Application) -> set[int]:
    """Reviewers of the decisions appealed against: never the panel, never assigned again."""
    decided_rounds = select(ApplicationDecision.round).where(
        ApplicationDecision.id.in_(
            select(Appeal.decision_id).where(Appeal.application_id == application.id)
        )
    )
    return set(
        session.scalars(
            select(Review.reviewer_id).where(
                Review.application_id == application.id,
                Review.round.in_(decided_rounds),
                Review.status.in_(ACTIVE_REVIEWS),
            )
        )
    )


def settle_appeal(
    session: Session,
    *,
    application: Application,
    upheld: bool,
    resolution: str,
    reason: str,
    decision_url: str,
    actor: User | None,
    now: dt.datetime,
) -> Appeal:
    """The appeal ballot's outcome: upheld sends the application to a new round of review."""
    appeal = pending_appeal(session, application)
    take_step(application, "uphold_appeal" if upheld else "dismiss_appeal", COUNCIL)
    appeal.status = AppealStatus.upheld if upheld else AppealStatus.dismissed
    appeal.resolution = resolution
    appeal.outcome_reason = reason.strip()
    appeal.decided_at = now
    if upheld:
        # The refusal is set aside: a new round, reviewed by people other than the first ones.
        _new_round(session, application, now)
        application.decision = None
        application.decision_resolution = None
        application.decided_at = None
    session.flush()
    log_change(
        session,
        actor,
        "appeal_upheld" if upheld else "appeal_dismissed",
        application,
        now,
        resolution=resolution,
        decision=appeal.decision_id,
    )
    decision = session.get(ApplicationDecision, appeal.decision_id)
    assert decision is not None
    _mail_organization(
        session, application, decision, "mail/appeal_decided.txt", decision_url, now, appeal
    )
    return appeal


def _new_round(session: Session, application: Application, now: dt.datetime) -> None:
    """A new revision frozen with the same self-assessment, so the new round has its snapshot."""
    latest = session.scalar(
        select(ApplicationSnapshot).where(
            ApplicationSnapshot.application_id == application.id,
            ApplicationSnapshot.revision == application.revision,
        )
    )
    application.revision += 1
    if latest is not None:
        session.add(
            ApplicationSnapshot(
                application_id=application.id,
                revision=application.revision,
                submitted_at=now,
                submitted_by_id=latest.submitted_by_id,
                document={**latest.document, "revision": application.revision},
            )
        )


def findings_by_review(reviews: Sequence[Review]) -> dict[int, dict[str, ReviewFinding]]:
    """Each review's findings by criterion code (for the council's side-by-side table)."""
    return {r.id: {f.criterion_code: f for f in r.findings} for r in reviews}
