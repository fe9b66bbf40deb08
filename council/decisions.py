"""Deciding applications and hearing appeals by ballot: two kinds of subject of the council."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.accounts import Role, User
from core.audit import record_event
from core.db import open_session
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound
from core.i18n import DISPLAY_ZONE, in_both_languages
from core.markdown import render_markdown
from core.settings import Settings
from core.signing import CouncilKeys
from core.storage import FileStore
from council.ballots import (
    BallotSubjectKind,
    SubjectLink,
    get_ballot,
    is_open,
    open_ballot,
    register_subject_kind,
)
from council.conflicts import Party, party_of
from council.members import member_of
from council.models import (
    Ballot,
    BallotResult,
    BallotRule,
    BallotStatus,
    BallotVoter,
    CouncilMember,
    Position,
    PositionKind,
    Resolution,
)
from council.schemas import AppealBallotInput, DecisionBallotInput
from guidelines.service import closing_moment
from quality_marks import decisions
from quality_marks.applications import get_application
from quality_marks.certificate_models import Certificate
from quality_marks.certificates import BallotFacts, issue_certificate, register_ballot_facts
from quality_marks.models import (
    ACTIVE_REVIEWS,
    Appeal,
    Application,
    ApplicationDecision,
    ApplicationSnapshot,
    ApplicationStatus,
    Decision,
    Finding,
    Organization,
    Product,
    Recommendation,
    Review,
    ReviewFinding,
    ReviewNote,
    ReviewStatus,
)
from quality_marks.reviews import latest_review_notes

logger = logging.getLogger(__name__)

SUBJECT_APPLICATION_DECISION = "application_decision"
SUBJECT_APPEAL = "appeal"
DEFAULT_VOTING_DAYS = 7
Proposal = Literal["grant", "refuse"]
RECOMMENDATION_LABELS = {
    Recommendation.grant: N_("Grant"),
    Recommendation.grant_with_conditions: N_("Grant with conditions"),
    Recommendation.request_information: N_("Request information"),
    Recommendation.refuse: N_("Refuse"),
}
PROPOSAL_LABELS = {"grant": N_("Grant the mark"), "refuse": N_("Refuse the mark")}
# The reason recorded on an appeal ballot for each reviewer of the decision appealed against.
REVIEWED_ORIGINAL = N_("Reviewed the original application")
ASSESSED_IT = N_("Reviewed this application")
GRANT_NOT_APPROVED = N_("The council did not approve the grant of the mark.")
APPEAL_NOT_UPHELD = N_("The council did not uphold the appeal; the refusal stands.")
APPEAL_UPHELD = N_("The council upheld the appeal; the application will be reviewed again.")
NOT_A_READER = N_(
    "Only the ballot's voters who are not recused read the application while it is open."
)
NOT_YET_REVIEWED = N_(
    "Every review of the current round must be submitted (at least %(count)s) "
    "before the council decides."
)


def ballot_form_defaults(now: dt.datetime) -> dict[str, str]:
    """What a new decision or appeal ballot's form proposes for the vote itself."""
    closes_on = (now + dt.timedelta(days=DEFAULT_VOTING_DAYS)).astimezone(DISPLAY_ZONE).date()
    return {"rule": "simple_majority", "quorum_percent": "50", "closes_on": closes_on.isoformat()}


# What the council weighs -------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionFindings:
    """One criterion: each reviewer's finding (None: none given) and the consolidated one."""

    code: str
    by_review: list[Finding | None]
    consolidated: Finding | None


@dataclass(frozen=True)
class DecisionReview:
    """What members weigh on an application: findings per criterion, recommendations, level."""

    application: Application
    organization: Organization
    product: Product
    reviews: list[Review]
    criteria: list[CriterionFindings]
    level: str | None
    rule: dict[str, Any]
    proposal: str
    reasons: str
    conditions: str
    application_href: str
    # The ballot's Markdown as rendered when it opened (empty before a ballot states them).
    reasons_html: str = ""
    conditions_html: str = ""
    appeal: Appeal | None = None
    decision: ApplicationDecision | None = None
    finding_labels: dict[Finding, str] = field(default_factory=lambda: decisions.FINDING_LABELS)
    recommendation_labels: dict[Recommendation, str] = field(
        default_factory=lambda: RECOMMENDATION_LABELS
    )
    level_labels: dict[str, str] = field(default_factory=lambda: decisions.LEVEL_LABELS)
    proposal_labels: dict[str, str] = field(default_factory=lambda: PROPOSAL_LABELS)


def _loaded(session: Session, application_id: int) -> tuple[Application, Organization, Product]:
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound()
    organization = session.get(Organization, application.organization_id)
    product = session.get(Product, application.product_id)
    assert organization is not None
    assert product is not None
    return application, organization, product


def weigh_application(
    session: Session, application_id: int, round: int, ballot_id: int | None = None
) -> DecisionReview:
    """The round's reviews side by side, consolidated, and the level the rule gives."""
    application, organization, product = _loaded(session, application_id)
    reviews = decisions.round_reviews(session, application, round)
    by_review = decisions.findings_by_review(reviews)
    consolidated = decisions.consolidate(reviews)
    codes = sorted({code for found in by_review.values() for code in found})
    rule = decisions.rule_for(session, application.guideline_version_id)
    level = decisions.mark_level(consolidated, rule)
    return DecisionReview(
        application=application,
        organization=organization,
        product=product,
        reviews=reviews,
        criteria=[
            CriterionFindings(
                code,
                [_finding(by_review[r.id].get(code)) for r in reviews],
                consolidated.get(code),
            )
            for code in codes
        ],
        level=level,
        rule=rule,
        proposal="grant" if level else "refuse",
        reasons="",
        conditions="",
        application_href=(
            f"/council/ballots/{ballot_id}/application"
            if ballot_id
            else f"/applications/{application.id}"
        ),
    )


def _finding(found: ReviewFinding | None) -> Finding | None:
    return found.finding if found else None


def decision_form_defaults(
    session: Session, application: Application, now: dt.datetime
) -> dict[str, str]:
    """The form to put an application to a decision: the proposal its level implies, conditions."""
    review = weigh_application(session, application.id, application.revision)
    conditions = "\n\n".join(
        r.conditions.strip()
        for r in review.reviews
        if r.recommendation == Recommendation.grant_with_conditions and r.conditions.strip()
    )
    return {
        **ballot_form_defaults(now),
        "proposal": review.proposal,
        "reasons": "",
        "conditions": conditions,
    }


# The decision ballot -----------------------------------------------------------------------


def _require_ready(
    session: Session, application: Application, reviewers_required: int
) -> list[Review]:
    if application.status != ApplicationStatus.under_review:
        raise Conflict(N_("Only an application under review can be put to a decision."))
    reviews = decisions.round_reviews(session, application, application.revision)
    submitted = [r for r in reviews if r.status == ReviewStatus.submitted]
    if len(submitted) < reviewers_required or len(submitted) < len(reviews):
        raise Conflict(NOT_YET_REVIEWED, count=reviewers_required)
    return reviews


def open_decision_ballot(
    session: Session,
    *,
    actor: User,
    application: Application,
    proposal: str,
    reasons: str,
    conditions: str,
    rule: BallotRule,
    quorum_percent: int,
    closes_at: dt.datetime,
    reviewers_required: int,
    validity_years: int,
    appeal_days: int,
    base_url: str,
    now: dt.datetime,
) -> Ballot:
    """Put an application whose round is fully reviewed to the council: grant or refuse."""
    _require_ready(session, application, reviewers_required)
    if proposal not in PROPOSAL_LABELS:
        raise Invalid(fields={"proposal": N_("Propose to grant or to refuse the mark.")})
    weighed = weigh_application(session, application.id, application.revision)
    if proposal == "grant" and weighed.level is None:
        raise Invalid(
            fields={
                "proposal": N_("The findings reach no level of the mark; it cannot be granted.")
            }
        )
    if not reasons.strip():
        raise Invalid(fields={"reasons": N_("Give the reasons the decision would state.")})
    _, organization, product = _loaded(session, application.id)
    return open_ballot(
        session,
        actor=actor,
        subject_type=SUBJECT_APPLICATION_DECISION,
        subject_id=application.id,
        title_es=f"Decisión sobre la solicitud {application.id}: {product.name} "
        f"({organization.legal_name})",
        title_en=f"Decision on application {application.id}: {product.name} "
        f"({organization.legal_name})",
        rule=rule,
        quorum_percent=quorum_percent,
        closes_at=closes_at,
        parties=[],
        terms={
            "proposal": proposal,
            "level": weighed.level if proposal == "grant" else None,
            "round": application.revision,
            "reasons": reasons.strip(),
            "conditions": conditions.strip() if proposal == "grant" else "",
            # Rendered once, as the ballot states them; the page shows these.
            "reasons_html": str(render_markdown(reasons.strip())),
            "conditions_html": str(
                render_markdown(conditions.strip() if proposal == "grant" else "")
            ),
            "rule": weighed.rule,
            "validity_years": validity_years,
            "appeal_days": appeal_days,
            "decision_url": f"{base_url.rstrip('/')}/applications/{application.id}/decision",
        },
        base_url=base_url,
        now=now,
    )


def put_to_decision(
    session: Session,
    *,
    actor: User,
    application_id: int,
    terms: DecisionBallotInput,
    settings: Settings,
    now: dt.datetime,
) -> Ballot:
    """Open a decision ballot as the secretary's form sets it, under the council's settings."""
    return open_decision_ballot(
        session,
        actor=actor,
        application=get_application(session, actor, application_id),
        proposal=terms.proposal,
        reasons=terms.reasons,
        conditions=terms.conditions,
        rule=terms.rule,
        quorum_percent=terms.quorum_percent,
        closes_at=closing_moment(terms.closes_on),
        reviewers_required=settings.reviewers_per_application,
        validity_years=settings.mark_validity_years,
        appeal_days=settings.appeal_days,
        base_url=settings.base_url,
        now=now,
    )


def _application_of(session: Session, ballot: Ballot) -> Application | None:
    return session.get(Application, ballot.subject_id)


def _describe_application(session: Session, ballot: Ballot) -> SubjectLink | None:
    application = _application_of(session, ballot)
    if application is None:
        return None
    return SubjectLink(label=f"#{application.id}", href=f"/applications/{application.id}")


def _application_changed(session: Session, ballot: Ballot) -> str | None:
    """Why the application is no longer what the members voted on, if it changed meanwhile."""
    application = _application_of(session, ballot)
    if application is None or application.status != ApplicationStatus.under_review:
        return N_("The application is no longer under review.")
    if application.revision != ballot.terms.get("round"):
        return N_("A new round of review started after the ballot opened.")
    findings = decisions.consolidated_findings(session, application, application.revision)
    if ballot.terms.get("proposal") == "grant" and (
        decisions.mark_level(findings, ballot.terms["rule"]) != ballot.terms.get("level")
    ):
        return N_("The findings changed after the ballot opened; the level is no longer the same.")
    return None


def _application_parties(session: Session, application_id: int) -> list[Party]:
    """The applying organisation: members with an interest in it are recused."""
    application = session.get(Application, application_id)
    organization = session.get(Organization, application.organization_id) if application else None
    return [party_of(organization)] if organization else []


def _decision_review(session: Session, ballot: Ballot, now: dt.datetime) -> DecisionReview | None:
    if _application_of(session, ballot) is None:
        return None
    terms = ballot.terms
    weighed = weigh_application(session, ballot.subject_id, terms["round"], ballot.id)
    return replace(
        weighed,
        proposal=terms["proposal"],
        reasons=terms["reasons"],
        conditions=terms["conditions"],
        reasons_html=terms.get("reasons_html", ""),
        conditions_html=terms.get("conditions_html", ""),
        rule=terms["rule"],
    )


def _decide(
    session: Session,
    ballot: Ballot,
    resolution: Resolution,
    actor: User,
    outcome: Decision,
    reasons: str,
    now: dt.datetime,
) -> None:
    application = _application_of(session, ballot)
    if application is None:
        raise NotFound()
    terms = ballot.terms
    decisions.record_decision(
        session,
        application=application,
        outcome=outcome,
        resolution=resolution.number,
        round=terms["round"],
        rule=terms["rule"],
        reasons=reasons,
        conditions=terms["conditions"],
        validity_years=terms["validity_years"],
        appeal_days=terms["appeal_days"],
        decision_url=terms["decision_url"],
        actor=actor,
        now=now,
    )


def _carry_out_decision(
    session: Session, ballot: Ballot, resolution: Resolution, actor: User, now: dt.datetime
) -> None:
    """A passed ballot records the proposal as the council's decision."""
    outcome = Decision.granted if ballot.terms["proposal"] == "grant" else Decision.refused
    _decide(session, ballot, resolution, actor, outcome, ballot.terms["reasons"], now)


def _objections(resolution: Resolution) -> list[str]:
    """The texts of the positions that held the ballot back (discuss, abstain), without names."""
    held_back = {PositionKind.discuss.value, PositionKind.abstain.value}
    return [
        p["text"]
        for p in resolution.record.get("positions", [])
        if p["kind"] in held_back and p["text"].strip()
    ]


def _carry_out_failed_decision(
    session: Session, ballot: Ballot, resolution: Resolution, actor: User, now: dt.datetime
) -> None:
    """A failed grant is a refusal; a failed refusal leaves the application under review."""
    void = resolution.record.get("void_reason")
    if ballot.terms["proposal"] == "grant" and not void:
        reasons = "\n\n".join([in_both_languages(GRANT_NOT_APPROVED), *_objections(resolution)])
        _decide(session, ballot, resolution, actor, Decision.refused, reasons, now)
        return
    record_event(
        session,
        actor=actor,
        action="application.decision_not_taken",
        object_type="application",
        object_id=ballot.subject_id,
        summary={
            "resolution": resolution.number,
            "proposal": ballot.terms["proposal"],
            # Said plainly in the log: nothing was decided, the review goes on.
            "outcome": "void" if void else "refusal not approved; still under review",
        },
        now=now,
    )


def _assessors(session: Session, application_id: int) -> dict[int, str]:
    """Who assessed the round does not decide on it: assessor and decider stay apart."""
    application = session.get(Application, application_id)
    if application is None:
        return {}
    reviewers = decisions.round_reviews(session, application, application.revision)
    return dict.fromkeys(sorted({r.reviewer_id for r in reviewers}), in_both_languages(ASSESSED_IT))


def decision_ballot_facts(session: Session, decision: ApplicationDecision) -> BallotFacts | None:
    """What the ballot behind a decision says, for the certificate's lint (None: no such ballot)."""
    found = session.execute(
        select(Ballot, Resolution)
        .join(Resolution, Resolution.ballot_id == Ballot.id)
        .where(
            Resolution.number == decision.resolution,
            Ballot.subject_type == SUBJECT_APPLICATION_DECISION,
            Ballot.subject_id == decision.application_id,
        )
    ).first()
    if found is None:
        return None
    ballot, resolution = found
    voted = select(Position.member_id).where(
        Position.ballot_id == ballot.id, Position.kind != PositionKind.recuse
    )
    conflicted = session.scalar(
        select(BallotVoter.id)
        .where(
            BallotVoter.ballot_id == ballot.id,
            BallotVoter.conflict.is_not(None),
            BallotVoter.member_id.in_(voted),
        )
        .limit(1)
    )
    reviewers = select(Review.reviewer_id).where(
        Review.application_id == decision.application_id,
        Review.round == decision.round,
        Review.status.in_(ACTIVE_REVIEWS),
    )
    reviewer = session.scalar(
        select(CouncilMember.id)
        .where(CouncilMember.user_id.in_(reviewers), CouncilMember.id.in_(voted))
        .limit(1)
    )
    years = ballot.terms.get("validity_years")
    return BallotFacts(
        closed=ballot.status == BallotStatus.closed,
        passed=resolution.result == BallotResult.passed
        and ballot.result == BallotResult.passed
        and ballot.terms.get("proposal") == "grant",
        conflicted_voted=conflicted is not None,
        reviewer_voted=reviewer is not None,
        validity_years=years if isinstance(years, int) else None,
    )


register_ballot_facts(decision_ballot_facts)


APPLICATION_DECISION = register_subject_kind(
    BallotSubjectKind(
        name=SUBJECT_APPLICATION_DECISION,
        describe=_describe_application,
        changed_since_opened=_application_changed,
        parties=_application_parties,
        review=_decision_review,
        review_template="council/_review_application_decision.html",
        carry_out_passed=_carry_out_decision,
        carry_out_failed=_carry_out_failed_decision,
        excluded=_assessors,
    )
)


def certify_granted(
    factory: sessionmaker[Session],
    *,
    resolution: str,
    keys: Callable[[], CouncilKeys],
    store: FileStore,
    settings: Settings,
    actor_id: int | None,
    now: dt.datetime,
) -> Certificate | None:
    """Once a decision ballot's close is committed: issue the certificate of the mark it granted.

    The close stands whatever happens here: a failure is logged, and the reconciler, the
    `council certificates issue` batch or the secretariat's button issues it later.
    """
    with open_session(factory, writes=False) as session:
        decision_id = session.scalar(
            select(ApplicationDecision.id).where(
                ApplicationDecision.resolution == resolution,
                ApplicationDecision.outcome == Decision.granted,
            )
        )
    if decision_id is None:
        return None
    try:
        return issue_certificate(
            factory,
            decision_id=decision_id,
            keys=keys(),
            store=store,
            base_url=settings.base_url,
            prefix=settings.certificate_prefix,
            actor_id=actor_id,
            now=now,
        )
    except Exception:  # the resolution is public already; issuance is retried later
        logger.exception("certificate not issued after resolution %s", resolution)
        return None


# The appeal ballot -------------------------------------------------------------------------


def put_to_appeal(
    session: Session,
    *,
    actor: User,
    application_id: int,
    terms: AppealBallotInput,
    base_url: str,
    now: dt.datetime,
) -> Ballot:
    """Open an appeal ballot as the secretary's form or the API sets it."""
    return open_appeal_ballot(
        session,
        actor=actor,
        application=get_application(session, actor, application_id),
        rule=terms.rule,
        quorum_percent=terms.quorum_percent,
        closes_at=closing_moment(terms.closes_on),
        base_url=base_url,
        now=now,
    )


def open_appeal_ballot(
    session: Session,
    *,
    actor: User,
    application: Application,
    rule: BallotRule,
    quorum_percent: int,
    closes_at: dt.datetime,
    base_url: str,
    now: dt.datetime,
) -> Ballot:
    """Put a filed appeal to a panel of the council without the original reviewers."""
    appeal = decisions.pending_appeal(session, application)
    _, organization, product = _loaded(session, application.id)
    return open_ballot(
        session,
        actor=actor,
        subject_type=SUBJECT_APPEAL,
        subject_id=appeal.id,
        title_es=f"Apelación de la solicitud {application.id}: {product.name} "
        f"({organization.legal_name})",
        title_en=f"Appeal on application {application.id}: {product.name} "
        f"({organization.legal_name})",
        rule=rule,
        quorum_percent=quorum_percent,
        closes_at=closes_at,
        parties=[],
        terms={
            "application": application.id,
            "decision": appeal.decision_id,
            "decision_url": f"{base_url.rstrip('/')}/applications/{application.id}/decision",
        },
        base_url=base_url,
        now=now,
    )


def _appeal_of(session: Session, ballot: Ballot) -> Appeal | None:
    return session.get(Appeal, ballot.subject_id)


def _describe_appeal(session: Session, ballot: Ballot) -> SubjectLink | None:
    appeal = _appeal_of(session, ballot)
    if appeal is None:
        return None
    return SubjectLink(
        label=f"#{appeal.application_id}", href=f"/applications/{appeal.application_id}/decision"
    )


def _appeal_changed(session: Session, ballot: Ballot) -> str | None:
    appeal = _appeal_of(session, ballot)
    application = session.get(Application, appeal.application_id) if appeal else None
    if appeal is None or application is None or application.status != ApplicationStatus.appealed:
        return N_("The appeal is no longer awaiting the council.")
    return None


def _appeal_parties(session: Session, appeal_id: int) -> list[Party]:
    appeal = session.get(Appeal, appeal_id)
    return _application_parties(session, appeal.application_id) if appeal else []


def _original_reviewers(session: Session, appeal_id: int) -> dict[int, str]:
    """Every reviewer of the decision appealed against sits out, whatever their interests."""
    appeal = session.get(Appeal, appeal_id)
    application = session.get(Application, appeal.application_id) if appeal else None
    if application is None:
        return {}
    reason = in_both_languages(REVIEWED_ORIGINAL)
    return dict.fromkeys(sorted(decisions.excluded_reviewers(session, application)), reason)


def _appeal_review(session: Session, ballot: Ballot, now: dt.datetime) -> DecisionReview | None:
    appeal = _appeal_of(session, ballot)
    decision = session.get(ApplicationDecision, appeal.decision_id) if appeal else None
    if appeal is None or decision is None:
        return None
    weighed = weigh_application(session, appeal.application_id, decision.round, ballot.id)
    return replace(
        weighed,
        proposal="",
        reasons=decision.reasons,
        rule=decision.rule,
        level=decision.level,
        appeal=appeal,
        decision=decision,
    )


def _settle(
    session: Session,
    ballot: Ballot,
    resolution: Resolution,
    actor: User,
    now: dt.datetime,
    *,
    upheld: bool,
) -> None:
    appeal = _appeal_of(session, ballot)
    application = session.get(Application, appeal.application_id) if appeal else None
    if application is None:
        raise NotFound()
    reason = in_both_languages(APPEAL_UPHELD if upheld else APPEAL_NOT_UPHELD)
    decisions.settle_appeal(
        session,
        application=application,
        upheld=upheld,
        resolution=resolution.number,
        reason="\n\n".join([reason, *([] if upheld else _objections(resolution))]),
        decision_url=ballot.terms["decision_url"],
        actor=actor,
        now=now,
    )


def _uphold(
    session: Session, ballot: Ballot, resolution: Resolution, actor: User, now: dt.datetime
) -> None:
    """A passed appeal ballot sets the refusal aside: the application is reviewed again."""
    _settle(session, ballot, resolution, actor, now, upheld=True)


def _dismiss(
    session: Session, ballot: Ballot, resolution: Resolution, actor: User, now: dt.datetime
) -> None:
    """A failed appeal ballot dismisses the appeal (a void one leaves it awaiting a new ballot)."""
    if resolution.record.get("void_reason"):
        return
    _settle(session, ballot, resolution, actor, now, upheld=False)


APPEAL = register_subject_kind(
    BallotSubjectKind(
        name=SUBJECT_APPEAL,
        describe=_describe_appeal,
        changed_since_opened=_appeal_changed,
        parties=_appeal_parties,
        review=_appeal_review,
        review_template="council/_review_appeal.html",
        carry_out_passed=_uphold,
        carry_out_failed=_dismiss,
        excluded=_original_reviewers,
    )
)


# What voters read while the ballot is open -------------------------------------------------


@dataclass(frozen=True)
class BallotApplication:
    """The application a voter weighs: the findings and the frozen self-assessment's answers."""

    ballot: Ballot
    review: DecisionReview
    answers: list[dict[str, Any]]
    # The reviewers' private discussion, newest first: voters weigh it too.
    notes: list[ReviewNote]


def ballot_application(
    session: Session, ballot_id: int, viewer: User, now: dt.datetime
) -> BallotApplication:
    """An open decision or appeal ballot's application, for its voters who are not recused."""
    ballot = get_ballot(session, ballot_id)
    if ballot.subject_type not in (SUBJECT_APPLICATION_DECISION, SUBJECT_APPEAL):
        raise NotFound()
    if not viewer.has_role(Role.secretariat):
        me = member_of(session, viewer)
        voter = next((v for v in ballot.voters if me and v.member_id == me.id), None)
        if voter is None or voter.conflict or not is_open(ballot, now):
            raise Forbidden(NOT_A_READER)
    review = (
        _decision_review(session, ballot, now)
        if ballot.subject_type == SUBJECT_APPLICATION_DECISION
        else _appeal_review(session, ballot, now)
    )
    if review is None:
        raise NotFound()
    snapshot = session.scalar(
        select(ApplicationSnapshot)
        .where(ApplicationSnapshot.application_id == review.application.id)
        .order_by(ApplicationSnapshot.revision.desc())
        .limit(1)
    )
    answers = list(snapshot.document.get("answers", [])) if snapshot else []
    notes = latest_review_notes(session, review.application.id)
    return BallotApplication(ballot=ballot, review=review, answers=answers, notes=notes)
