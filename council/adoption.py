"""Adopting a guideline version by ballot: the first kind of subject the council votes on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.accounts import User
from core.errors import N_, Conflict, Invalid, NotFound
from core.i18n import DISPLAY_ZONE, translator
from core.transparency import KIND_GUIDELINE_ADOPTED, append_leaf
from council.ballots import (
    BallotSubjectKind,
    SubjectLink,
    open_ballot,
    register_subject_kind,
)
from council.conflicts import Party
from council.models import Ballot, BallotRule, Resolution
from council.schemas import AdoptionBallotInput
from guidelines import service as guidelines
from guidelines.diff import VersionDiff, diff_versions
from guidelines.documents import load_version_tree, version_document
from guidelines.models import GuidelineVersion, VersionStatus
from quality_marks.certificate_lifecycle import DEFAULT_RULES, request_reassessment
from quality_marks.decisions import publish_mark_rule

SUBJECT_GUIDELINE_VERSION = "guideline_version"
# A new ballot's form proposes closing in a week and taking effect a month after.
DEFAULT_VOTING_DAYS = 7
DEFAULT_DAYS_TO_EFFECT = 30


def ballot_form_defaults(now: dt.datetime, *, slug: str, number: str) -> dict[str, str]:
    """What the form to put a version to a vote proposes."""
    closes_on = (now + dt.timedelta(days=DEFAULT_VOTING_DAYS)).astimezone(DISPLAY_ZONE).date()
    return {
        "slug": slug,
        "number": number,
        "rule": "simple_majority",
        "quorum_percent": "50",
        "closes_on": closes_on.isoformat(),
        "effective_on": (closes_on + dt.timedelta(days=DEFAULT_DAYS_TO_EFFECT)).isoformat(),
    }


def open_adoption_ballot(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    rule: BallotRule,
    quorum_percent: int,
    closes_at: dt.datetime,
    effective_on: dt.date,
    replaces_newer: bool = False,
    consultation_skipped_reason: str = "",
    base_url: str = "",
    reassessment_days: int = DEFAULT_RULES.reassessment_days,
    now: dt.datetime,
) -> Ballot:
    """Open a ballot on adopting a guideline version.

    A draft that misses versions adopted after its base is put to a vote only rebased, or with
    `replaces_newer`: the ballot then states that it replaces their changes. A draft that never
    went to public consultation needs the reason, which the resolution prints.
    """
    if version.status not in (VersionStatus.draft, VersionStatus.consultation):
        raise Conflict(N_("Only a draft or a version in consultation can be put to adoption."))
    replaces = [v.number for v in guidelines.newer_adopted(session, version)]
    reason = consultation_skipped_reason.strip()
    try:
        # What adoption will require when the ballot passes, asked now.
        guidelines.check_adoptable(
            session,
            version,
            replaces=replaces if replaces_newer else (),
            consultation_skipped_reason=reason,
            now=now,
        )
    except Conflict as refused:
        if refused.message != guidelines.NO_CONSULTATION_REASON:
            raise
        # On the ballot form the reason is a field of its own.
        raise Invalid(fields={"consultation_skipped_reason": refused.message}) from refused
    title = load_version_tree(session, version.id).guideline
    return open_ballot(
        session,
        actor=actor,
        subject_type=SUBJECT_GUIDELINE_VERSION,
        subject_id=version.id,
        title_es=f"Adopción de «{title.title_es}», versión {version.number}",
        title_en=f"Adoption of “{title.title_en}”, version {version.number}",
        rule=rule,
        quorum_percent=quorum_percent,
        closes_at=closes_at,
        parties=[],
        # The text voted on: a ballot adopts this revision and no other.
        terms={
            "effective_on": effective_on.isoformat(),
            "revision": version.revision_number,
            # Versions whose changes this one replaces, as the ballot states.
            "replaces": replaces,
            "consultation_skipped_reason": (
                reason if version.consultation_opened_at is None else ""
            ),
            # Where the links in the mail to holders asked to re-assess start.
            "base_url": base_url,
            # The time certificate holders get to re-assess against the version adopted.
            "reassessment_days": reassessment_days,
        },
        base_url=base_url,
        now=now,
    )


def put_to_adoption(
    session: Session,
    *,
    actor: User,
    terms: AdoptionBallotInput,
    base_url: str = "",
    reassessment_days: int = DEFAULT_RULES.reassessment_days,
    now: dt.datetime,
) -> Ballot:
    """Open an adoption ballot as the secretary's form sets it: voting ends at the end of a day."""
    version = guidelines.get_version(session, slug=terms.slug, number=terms.number, viewer=actor)
    return open_adoption_ballot(
        session,
        actor=actor,
        version=version,
        rule=terms.rule,
        quorum_percent=terms.quorum_percent,
        closes_at=guidelines.closing_moment(terms.closes_on),
        effective_on=terms.effective_on,
        replaces_newer=terms.replaces_newer,
        consultation_skipped_reason=terms.consultation_skipped_reason,
        base_url=base_url,
        reassessment_days=reassessment_days,
        now=now,
    )


def _version(session: Session, ballot: Ballot) -> GuidelineVersion | None:
    return session.get(GuidelineVersion, ballot.subject_id)


# How an adoption ballot names the version put to the vote.
SUBJECT_LABEL = N_("%(title)s, version %(number)s")


def _describe(session: Session, ballot: Ballot) -> SubjectLink | None:
    """The version put to adoption, linked to its page."""
    version = _version(session, ballot)
    if version is None:
        return None
    guideline = guidelines.get_guideline(session, guidelines.slug_of(session, version))
    spanish, english = (
        translator(locale).gettext(
            SUBJECT_LABEL,
            title=translator(locale).pick(guideline.title_es, guideline.title_en),
            number=version.number,
        )
        for locale in ("es_MX", "en")
    )
    return SubjectLink(
        label=spanish,
        label_en=english,
        href=f"/guidelines/{guideline.slug}/{version.number}",
    )


def _changed_since_opened(session: Session, ballot: Ballot) -> str | None:
    """Why the version is no longer what the members voted on, if it changed while they voted."""
    version = _version(session, ballot)
    if version is None or version.status not in (VersionStatus.draft, VersionStatus.consultation):
        return N_("The version is no longer a draft awaiting adoption.")
    if version.revision_number != ballot.terms.get("revision"):
        return N_("The text of the version changed after the ballot opened.")
    replaced = ballot.terms.get("replaces", [])
    if any(v.number not in replaced for v in guidelines.newer_adopted(session, version)):
        return N_("A newer version was adopted while the ballot was open; the draft misses it.")
    if (
        version.consultation_opened_at is None
        and not ballot.terms.get("consultation_skipped_reason", "").strip()
    ):
        # Ballots opened before a reason was required could otherwise never be closed.
        return N_("The version skipped public consultation and the ballot gives no reason.")
    return None


def _no_parties(session: Session, subject_id: int) -> list[Party]:
    """A guideline concerns no organisation: nobody is recused from adopting it."""
    return []


def _adopt(
    session: Session, ballot: Ballot, resolution: Resolution, actor: User, now: dt.datetime
) -> None:
    """A passed ballot adopts the version, in force from the day set, and freezes its mark rule."""
    version = _version(session, ballot)
    if version is None:
        raise NotFound()
    guidelines.adopt_version(
        session,
        version=version,
        resolution=resolution.number,
        effective_on=dt.date.fromisoformat(ballot.terms["effective_on"]),
        replaces=ballot.terms.get("replaces", []),
        consultation_skipped_reason=ballot.terms.get("consultation_skipped_reason", ""),
        actor=actor,
        now=now,
    )
    # Anyone may check later which text was adopted when, and by which resolution.
    append_leaf(
        session,
        kind=KIND_GUIDELINE_ADOPTED,
        data={
            "guideline": guidelines.slug_of(session, version),
            "version": version.number,
            "resolution": resolution.number,
            "effective_on": ballot.terms["effective_on"],
            "adopted_at": now.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        },
        now=now,
    )
    # The rule that turns review findings into a mark level is frozen with the version.
    publish_mark_rule(session, version, now)
    # Certificates assessed on criteria this version changes are asked to re-assess against it.
    request_reassessment(
        session,
        version=version,
        base_url=ballot.terms.get("base_url", ""),
        now=now,
        days=ballot.terms.get("reassessment_days", DEFAULT_RULES.reassessment_days),
    )


@dataclass(frozen=True)
class AdoptionReview:
    """What members weigh on an adoption: its changes from the text in force, its consultation."""

    version: GuidelineVersion
    slug: str
    in_force: str | None
    diff: VersionDiff | None
    consulted: bool
    consultation_closed: bool
    skipped_reason: str
    replaces: list[str]


def adoption_review(session: Session, ballot: Ballot, now: dt.datetime) -> AdoptionReview | None:
    """The adoption a ballot is about, compared with the version in force now."""
    version = _version(session, ballot)
    if version is None:
        return None
    guideline = guidelines.get_guideline(session, guidelines.slug_of(session, version))
    in_force = guidelines.version_in_force(guideline, now)
    slug = guideline.slug
    diff = None
    if in_force is not None and in_force.id != version.id:
        old = version_document(load_version_tree(session, in_force.id))
        diff = diff_versions(old, version_document(load_version_tree(session, version.id)))
    version = load_version_tree(session, version.id)
    return AdoptionReview(
        version=version,
        slug=slug,
        in_force=in_force.number if in_force else None,
        diff=diff,
        consulted=version.consultation_opened_at is not None,
        consultation_closed=guidelines.consultation_closed(version, now),
        skipped_reason=ballot.terms.get("consultation_skipped_reason", ""),
        replaces=list(ballot.terms.get("replaces", [])),
    )


GUIDELINE_ADOPTION = register_subject_kind(
    BallotSubjectKind(
        name=SUBJECT_GUIDELINE_VERSION,
        describe=_describe,
        changed_since_opened=_changed_since_opened,
        parties=_no_parties,
        review=adoption_review,
        review_template="council/_review_guideline_version.html",
        carry_out_passed=_adopt,
    )
)
