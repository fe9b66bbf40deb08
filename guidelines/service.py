"""The verbs of guideline authoring and the version life cycle (draft, consultation, adoption)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from core.accounts import Role, User
from core.audit import record_event
from core.documents import republish_documents
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound
from core.i18n import DISPLAY_ZONE, local_date
from core.workflow import Step, Workflow
from guidelines.diff import VersionDiff, changed_codes, diff_versions, merge_versions
from guidelines.documents import (
    CriterionDoc,
    VersionDoc,
    criterion_from_doc,
    fill_version,
    load_version_tree,
    version_document,
)
from guidelines.models import (
    ConsultationComment,
    Criterion,
    Guideline,
    GuidelineVersion,
    Principle,
    RiskLevel,
    VersionRevision,
    VersionStatus,
)
from guidelines.schemas import CriterionInput, GuidelineInput, PrincipleInput, SummaryInput

STATUS_LABELS = {
    VersionStatus.draft: N_("Draft"),
    VersionStatus.consultation: N_("In public consultation"),
    VersionStatus.adopted: N_("Adopted"),
    VersionStatus.superseded: N_("Superseded"),
    VersionStatus.withdrawn: N_("Withdrawn"),
}

# Badges name a status, or a state between two: adopted but not yet in force, consultation over.
BADGE_LABELS: dict[str, str] = {
    **{status.value: label for status, label in STATUS_LABELS.items()},
    "pending": N_("Adopted, not yet in force"),
    "consultation_closed": N_("Consultation closed"),
}

RISK_LABELS = {
    RiskLevel.minimal: N_("Minimal risk"),
    RiskLevel.limited: N_("Limited risk"),
    RiskLevel.high: N_("High risk"),
}

PUBLIC_STATUSES = frozenset(
    {VersionStatus.consultation, VersionStatus.adopted, VersionStatus.superseded}
)
# Stored statuses of a version the council adopted, in force or not.
ADOPTED_STATUSES = frozenset({VersionStatus.adopted, VersionStatus.superseded})
Direction = Literal["up", "down"]
CONSULTATION_STILL_OPEN = N_("The consultation is still open; wait until it closes.")


@dataclass(frozen=True)
class VersionViewer:
    """Who looks at a version and when: what the rules of the life cycle read."""

    version: GuidelineVersion
    viewer: User | None
    now: dt.datetime


def _by_staff(subject: VersionViewer) -> bool:
    return is_staff(subject.viewer)


def _by_staff_or_council(subject: VersionViewer) -> bool:
    # Council members reach the ballot too; the council checks who may open one.
    return is_staff(subject.viewer) or _is_council(subject.viewer)


def _consultation_over(subject: VersionViewer) -> bool:
    return consultation_closed(subject.version, subject.now)


# The life cycle of a version, one place to read what can happen next and who may do it; the
# pages' buttons are its actions in this order. Supersession is not a step anyone takes: an
# adopted version is superseded on the day its successor takes effect, which `standings` works
# out from the dates (older rows may still store "superseded"). Adoption is the council's
# ballot (`put_to_vote` leads to `adopt_version`).
LIFE_CYCLE: Workflow[VersionStatus, VersionViewer] = Workflow(
    [
        *(Step("revisions", status, may=_by_staff) for status in VersionStatus),
        Step("edit", VersionStatus.draft, may=_by_staff),
        Step("open_consultation", VersionStatus.draft, VersionStatus.consultation, may=_by_staff),
        Step("withdraw", VersionStatus.draft, VersionStatus.withdrawn, may=_by_staff),
        Step(
            "return_to_draft",
            VersionStatus.consultation,
            VersionStatus.draft,
            may=_by_staff,
            guard=_consultation_over,
            refusal=CONSULTATION_STILL_OPEN,
        ),
        Step("new_draft", VersionStatus.adopted, may=_by_staff),
        Step("new_draft", VersionStatus.superseded, may=_by_staff),
        Step("put_to_vote", VersionStatus.draft, VersionStatus.adopted, may=_by_staff_or_council),
        Step(
            "put_to_vote",
            VersionStatus.consultation,
            VersionStatus.adopted,
            may=_by_staff_or_council,
            guard=_consultation_over,
            refusal=CONSULTATION_STILL_OPEN,
        ),
    ]
)
# The table as status -> reachable statuses (documentation and tests).
TRANSITIONS: dict[VersionStatus, frozenset[VersionStatus]] = LIFE_CYCLE.transitions(VersionStatus)


@dataclass(frozen=True)
class Standing:
    """Where a version stands at a moment, worked out from its dates rather than stored."""

    status: VersionStatus
    in_force: bool = False
    # Adopted, in force from this later day.
    in_force_from: dt.date | None = None
    superseded_on: dt.date | None = None
    consultation_closed: bool = False

    @property
    def badge(self) -> str:
        """The key of the badge pages show for the version (see BADGE_LABELS)."""
        if self.in_force_from is not None:
            return "pending"
        if self.consultation_closed:
            return "consultation_closed"
        return self.status.value


def _effective_day(version: GuidelineVersion) -> dt.date:
    if version.effective_on is not None:
        return version.effective_on
    return local_date(version.adopted_at) if version.adopted_at else dt.date.min


def _adoption_order(version: GuidelineVersion) -> tuple[dt.datetime, tuple[int, int]]:
    adopted_at = version.adopted_at or dt.datetime.min.replace(tzinfo=dt.UTC)
    return adopted_at, version_key(version.number)


def standings(versions: Sequence[GuidelineVersion], now: dt.datetime) -> dict[int, Standing]:
    """The standing of each of a guideline's versions at `now`, by version id.

    In force is the latest adopted of the versions whose effective day has come; one adopted
    before it is superseded from the day a later one took effect; one adopted after it waits.
    """
    today = local_date(now)
    adopted = sorted((v for v in versions if v.status in ADOPTED_STATUSES), key=_adoption_order)
    effective = [v for v in adopted if _effective_day(v) <= today]
    in_force = effective[-1] if effective else None
    result: dict[int, Standing] = {}
    for version in versions:
        if version.status not in ADOPTED_STATUSES:
            closed = version.status == VersionStatus.consultation and consultation_closed(
                version, now
            )
            result[version.id] = Standing(status=version.status, consultation_closed=closed)
        elif version is in_force:
            result[version.id] = Standing(status=VersionStatus.adopted, in_force=True)
        elif in_force is not None and _adoption_order(version) < _adoption_order(in_force):
            later = [
                _effective_day(v)
                for v in effective
                if _adoption_order(v) > _adoption_order(version)
            ]
            result[version.id] = Standing(status=VersionStatus.superseded, superseded_on=min(later))
        else:
            result[version.id] = Standing(
                status=VersionStatus.adopted, in_force_from=_effective_day(version)
            )
    return result


def guideline_versions(session: Session, guideline_id: int) -> list[GuidelineVersion]:
    """Every version of a guideline, without their text."""
    return list(
        session.scalars(
            select(GuidelineVersion)
            .where(GuidelineVersion.guideline_id == guideline_id)
            .order_by(GuidelineVersion.id)
        )
    )


def standing_of(session: Session, version: GuidelineVersion, now: dt.datetime) -> Standing:
    """Where one version stands at `now` (reads its sibling versions' dates)."""
    return standings(guideline_versions(session, version.guideline_id), now)[version.id]


def version_key(number: str) -> tuple[int, int]:
    """Sort key of a version number (1.10 comes after 1.9)."""
    major, _, minor = number.partition(".")
    return int(major), int(minor or 0)


def is_staff(user: User | None) -> bool:
    """Whether the person may author guidelines."""
    return user is not None and user.has_role(Role.secretariat)


def _require_staff(actor: User | None) -> User:
    if actor is None or not is_staff(actor):
        raise Forbidden()
    return actor


def visible_statuses(viewer: User | None) -> frozenset[VersionStatus]:
    """Drafts are read by the secretariat and the council that adopts them; the rest is public."""
    if is_staff(viewer):
        return frozenset(VersionStatus)
    if _is_council(viewer):
        return PUBLIC_STATUSES | {VersionStatus.draft}
    return PUBLIC_STATUSES


def can_view(version: GuidelineVersion, viewer: User | None) -> bool:
    """Whether the viewer may read a version (see `visible_statuses`)."""
    return version.status in visible_statuses(viewer)


def may_read_revisions(viewer: User | None) -> bool:
    """Earlier saved states of a text are the secretariat's working record."""
    return is_staff(viewer)


def _is_council(user: User | None) -> bool:
    return user is not None and user.has_role(Role.council_member)


def _check_transition(version: GuidelineVersion, target: VersionStatus) -> None:
    if not LIFE_CYCLE.allows(version.status, target):
        raise Conflict(
            N_("Version %(number)s is %(status)s; it cannot become %(target)s."),
            number=version.number,
            status=STATUS_LABELS[version.status],
            target=STATUS_LABELS[target],
        )


def _transition(version: GuidelineVersion, target: VersionStatus) -> None:
    _check_transition(version, target)
    version.status = target


def _take_step(action: str, version: GuidelineVersion, actor: User, now: dt.datetime) -> None:
    """Move a version by one step of the life cycle, if the table lets this person take it now."""
    target = next(step.target for step in LIFE_CYCLE.steps if step.action == action)
    assert target is not None, "a verb's step changes the status"
    _check_transition(version, target)
    LIFE_CYCLE.require(action, version.status, VersionViewer(version, actor, now))
    version.status = target


def ensure_draft(version: GuidelineVersion) -> None:
    """Only drafts are edited; adopted text changes through a new draft."""
    if version.status != VersionStatus.draft:
        raise Conflict(
            N_(
                "Version %(number)s is %(status)s and cannot be edited. "
                "Start a new draft to propose changes."
            ),
            number=version.number,
            status=STATUS_LABELS[version.status],
        )


def _latest_revision(session: Session, version: GuidelineVersion) -> VersionRevision | None:
    return session.scalar(
        select(VersionRevision)
        .where(VersionRevision.version_id == version.id)
        .order_by(VersionRevision.number.desc())
        .limit(1)
    )


def _check_fresh(session: Session, version: GuidelineVersion, expected: int | None) -> None:
    """Refuse an edit made on a stale copy, saying who changed what since."""
    if expected is None or expected == version.revision_number:
        return
    latest = _latest_revision(session, version)
    raise Conflict(
        N_(
            "This draft changed after you opened it: revision %(revision)s by %(author)s "
            "(%(note)s). Reload the page and apply your change again."
        ),
        revision=version.revision_number,
        author=latest.author_label if latest else "?",
        note=latest.note if latest else "",
    )


def _open_draft(
    session: Session, actor: User, version: GuidelineVersion, expected_revision: int | None
) -> None:
    """The checks every edit of a draft passes: the secretariat, a draft, a fresh copy."""
    _require_staff(actor)
    ensure_draft(version)
    _check_fresh(session, version, expected_revision)


def record_revision(
    session: Session, *, version: GuidelineVersion, actor: User | None, note: str, now: dt.datetime
) -> VersionRevision:
    """Save the version's current text as a new revision and log it."""
    session.flush()
    tree = load_version_tree(session, version.id)
    tree.revision_number += 1
    tree.updated_at = now
    revision = VersionRevision(
        version_id=tree.id,
        number=tree.revision_number,
        author_id=actor.id if actor else None,
        author_label=actor.full_name if actor else "system",
        note=note[:300],
        created_at=now,
        document=version_document(tree).model_dump(mode="json", by_alias=True),
    )
    session.add(revision)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="guideline_version.revise",
        object_type="guideline_version",
        object_id=tree.id,
        summary={"number": tree.number, "revision": revision.number, "note": revision.note},
        now=now,
    )
    return revision


# Queries -----------------------------------------------------------------------------------

# Versions with their guideline back-reference, which the identity map fills without a query.
_VERSIONS = selectinload(Guideline.versions).selectinload(GuidelineVersion.guideline)


def list_guidelines(session: Session) -> list[Guideline]:
    """Every guideline with its versions."""
    return list(session.scalars(select(Guideline).options(_VERSIONS).order_by(Guideline.slug)))


def _visible_guidelines(viewer: User | None) -> Select[Guideline]:
    shown = GuidelineVersion.status.in_(visible_statuses(viewer))
    return select(Guideline).where(Guideline.versions.any(shown))


def list_visible_guidelines(session: Session, *, viewer: User | None) -> list[Guideline]:
    """The guidelines with a version the viewer may read, with their versions, by slug."""
    stmt = _visible_guidelines(viewer).options(_VERSIONS).order_by(Guideline.slug)
    return list(session.scalars(stmt))


def page_of_visible_guidelines(
    session: Session, *, viewer: User | None, page: int, page_size: int
) -> tuple[list[Guideline], int]:
    """One page of the guidelines the viewer may read, and how many there are in all."""
    stmt = _visible_guidelines(viewer)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.options(_VERSIONS)
        .order_by(Guideline.slug)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return list(rows), total


def get_guideline(session: Session, slug: str) -> Guideline:
    """A guideline by slug, with its versions."""
    guideline = session.scalar(select(Guideline).where(Guideline.slug == slug).options(_VERSIONS))
    if guideline is None:
        raise NotFound()
    return guideline


def get_visible_guideline(session: Session, slug: str, *, viewer: User | None) -> Guideline:
    """A guideline by slug, if the viewer may read one of its versions."""
    guideline = get_guideline(session, slug)
    if not visible_versions(guideline, viewer):
        raise NotFound()
    return guideline


def version_in_force(guideline: Guideline, now: dt.datetime) -> GuidelineVersion | None:
    """The version of a guideline in force at `now` (at most one)."""
    standing = standings(guideline.versions, now)
    return next((v for v in guideline.versions if standing[v.id].in_force), None)


def latest_adopted(versions: Sequence[GuidelineVersion]) -> GuidelineVersion | None:
    """The version the council adopted last, whether or not it is in force yet."""
    adopted = [v for v in versions if v.status in ADOPTED_STATUSES]
    return max(adopted, key=_adoption_order) if adopted else None


def newer_adopted(session: Session, version: GuidelineVersion) -> list[GuidelineVersion]:
    """Versions adopted after the one a draft builds on: adopting the draft as is undoes them."""
    siblings = guideline_versions(session, version.guideline_id)
    adopted = sorted(
        (v for v in siblings if v.status in ADOPTED_STATUSES and v.id != version.id),
        key=_adoption_order,
    )
    base = next((v for v in adopted if v.id == version.base_version_id), None)
    if base is not None:
        return [v for v in adopted if _adoption_order(v) > _adoption_order(base)]
    # Without an adopted base, every adoption since the draft began is news to it.
    return [v for v in adopted if v.adopted_at is not None and v.adopted_at > version.created_at]


def visible_versions(guideline: Guideline, viewer: User | None) -> list[GuidelineVersion]:
    """The versions the viewer may see, newest number first."""
    return sorted(
        (v for v in guideline.versions if can_view(v, viewer)),
        key=lambda v: version_key(v.number),
        reverse=True,
    )


def previous_number(version: GuidelineVersion, versions: Sequence[GuidelineVersion]) -> str | None:
    """The highest number below the version's among the given ones (what it is compared with)."""
    older = [v.number for v in versions if version_key(v.number) < version_key(version.number)]
    return max(older, key=version_key) if older else None


def slug_of(session: Session, version: GuidelineVersion) -> str:
    """The public slug of a version's guideline."""
    slug = session.scalar(select(Guideline.slug).where(Guideline.id == version.guideline_id))
    if slug is None:
        raise NotFound()
    return slug


def find_version(session: Session, *, slug: str, number: str) -> GuidelineVersion:
    """A version's whole tree, whoever asks; callers decide who may see it."""
    version_id = session.scalar(
        select(GuidelineVersion.id)
        .join(Guideline)
        .where(Guideline.slug == slug, GuidelineVersion.number == number)
    )
    if version_id is None:
        raise NotFound()
    return load_version_tree(session, version_id)


def get_version(
    session: Session, *, slug: str, number: str, viewer: User | None
) -> GuidelineVersion:
    """A version's whole tree, if the viewer may see it."""
    version = find_version(session, slug=slug, number=number)
    if not can_view(version, viewer):
        raise NotFound()
    return version


def get_editable_draft(
    session: Session, *, slug: str, number: str, editor: User | None
) -> GuidelineVersion:
    """A draft's whole tree for its editor's forms; Conflict once it is no longer a draft."""
    version = get_version(session, slug=slug, number=number, viewer=editor)
    ensure_draft(version)
    return version


def document_at(
    session: Session, *, slug: str, number: str, revision: int | None, viewer: User | None
) -> VersionDoc:
    """The text of a version, or of one of its saved revisions, as the viewer may read it."""
    version = get_version(session, slug=slug, number=number, viewer=viewer)
    if revision is None:
        return version_document(version)
    if not may_read_revisions(viewer):
        raise NotFound()
    return VersionDoc.model_validate(get_revision(session, version, revision).document)


def list_revisions(session: Session, version: GuidelineVersion) -> list[VersionRevision]:
    """A version's revisions, newest first."""
    return list(
        session.scalars(
            select(VersionRevision)
            .where(VersionRevision.version_id == version.id)
            .order_by(VersionRevision.number.desc())
        )
    )


def get_revision(session: Session, version: GuidelineVersion, number: int) -> VersionRevision:
    """One revision of a version."""
    revision = session.scalar(
        select(VersionRevision).where(
            VersionRevision.version_id == version.id, VersionRevision.number == number
        )
    )
    if revision is None:
        raise NotFound()
    return revision


def count_undisposed_comments(session: Session, version: GuidelineVersion) -> int:
    """Published, visible consultation comments still waiting for a disposition."""
    return (
        session.scalar(
            select(func.count(ConsultationComment.id)).where(
                ConsultationComment.version_id == version.id,
                ConsultationComment.confirmed_at.is_not(None),
                ConsultationComment.hidden_at.is_(None),
                ConsultationComment.disposition.is_(None),
            )
        )
        or 0
    )


def available_actions(
    version: GuidelineVersion, viewer: User | None, *, now: dt.datetime
) -> list[str]:
    """What the viewer may do next with a version (drives the page's buttons)."""
    return LIFE_CYCLE.actions(version.status, VersionViewer(version, viewer, now))


def is_proposal(version: GuidelineVersion) -> bool:
    """A text not adopted yet: a draft, or one in consultation (its PDF is marked as such)."""
    return version.status in (VersionStatus.draft, VersionStatus.consultation)


def closes_on(version: GuidelineVersion) -> dt.date | None:
    """The last day of the consultation, in Mexico City."""
    return version.closes_on


def days_left(version: GuidelineVersion, now: dt.datetime) -> int:
    """Whole days, rounded up, until the consultation closes (0 once closed or never opened)."""
    if version.consultation_closes_at is None or version.consultation_closes_at <= now:
        return 0
    return math.ceil((version.consultation_closes_at - now) / dt.timedelta(days=1))


def consultation_closed(version: GuidelineVersion, now: dt.datetime) -> bool:
    """Whether the version's consultation took place and has ended."""
    return version.consultation_closes_at is not None and version.consultation_closes_at <= now


# Authoring ---------------------------------------------------------------------------------


def create_guideline(
    session: Session, *, actor: User, data: GuidelineInput, now: dt.datetime
) -> Guideline:
    """Start a guideline with an empty draft 1.0."""
    _require_staff(actor)
    if session.scalar(select(Guideline.id).where(Guideline.slug == data.slug)):
        raise Invalid(fields={"slug": N_("Another guideline already uses this address.")})
    guideline = Guideline(
        slug=data.slug,
        title_es=data.title_es,
        title_en=data.title_en or data.title_es,
        created_at=now,
    )
    session.add(guideline)
    session.flush()
    version = GuidelineVersion(
        guideline_id=guideline.id,
        number="1.0",
        status=VersionStatus.draft,
        created_at=now,
        updated_at=now,
        revision_number=0,
    )
    session.add(version)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="guideline.create",
        object_type="guideline",
        object_id=guideline.id,
        summary={"slug": guideline.slug},
        now=now,
    )
    record_revision(session, version=version, actor=actor, note="1.0", now=now)
    return guideline


def _check_new_number(guideline: Guideline, number: str) -> None:
    existing = [v.number for v in guideline.versions]
    if number in existing:
        raise Invalid(fields={"number": N_("Version %(number)s already exists.")}, number=number)
    if existing and version_key(number) <= max(version_key(n) for n in existing):
        raise Invalid(
            fields={"number": N_("The new number must be higher than %(number)s.")},
            number=max(existing, key=version_key),
        )


def start_new_draft(
    session: Session,
    *,
    actor: User,
    guideline: Guideline,
    number: str,
    source_number: str | None = None,
    now: dt.datetime,
) -> GuidelineVersion:
    """Open a new draft copied from any version; by default the one adopted last."""
    _require_staff(actor)
    _check_new_number(guideline, number)
    if source_number:
        source = next((v for v in guideline.versions if v.number == source_number), None)
        if source is None:
            raise Invalid(fields={"source": N_("Choose one of the options.")})
    else:
        source = latest_adopted(guideline.versions) or max(
            guideline.versions, key=lambda v: version_key(v.number)
        )
    document = version_document(load_version_tree(session, source.id))
    version = GuidelineVersion(
        guideline_id=guideline.id,
        number=number,
        status=VersionStatus.draft,
        based_on_id=source.id,
        # A copy of a draft builds on what that draft built on (no adopted text at all when it
        # had no base: then every adoption is news to it).
        base_version_id=source.id if source.status in ADOPTED_STATUSES else source.base_version_id,
        created_at=now,
        updated_at=now,
        revision_number=0,
    )
    session.add(version)
    session.flush()
    fill_version(session, load_version_tree(session, version.id), document)
    record_event(
        session,
        actor=actor,
        action="guideline_version.draft",
        object_type="guideline_version",
        object_id=version.id,
        summary={"number": number, "based_on": source.number},
        now=now,
    )
    record_revision(
        session, version=version, actor=actor, note=f"{source.number} → {number}", now=now
    )
    return version


def import_version(
    session: Session, *, actor: User, guideline: Guideline, document: VersionDoc, now: dt.datetime
) -> GuidelineVersion:
    """Load a version document authored elsewhere as a new draft of the guideline."""
    _require_staff(actor)
    if document.guideline.slug != guideline.slug:
        raise Invalid(fields={"guideline.slug": N_("The document belongs to another guideline.")})
    _check_new_number(guideline, document.number)
    # Written elsewhere, it is taken to build on the text the council adopted last.
    base = latest_adopted(guideline.versions)
    version = GuidelineVersion(
        guideline_id=guideline.id,
        number=document.number,
        status=VersionStatus.draft,
        base_version_id=base.id if base else None,
        created_at=now,
        updated_at=now,
        revision_number=0,
    )
    session.add(version)
    session.flush()
    fill_version(session, load_version_tree(session, version.id), document)
    record_event(
        session,
        actor=actor,
        action="guideline_version.import",
        object_type="guideline_version",
        object_id=version.id,
        summary={"number": document.number},
        now=now,
    )
    record_revision(session, version=version, actor=actor, note="import", now=now)
    return version


def replace_draft(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    document: VersionDoc,
    expected_revision: int | None,
    now: dt.datetime,
) -> VersionRevision:
    """Replace a draft's whole text with a document (the API's PUT)."""
    _open_draft(session, actor, version, expected_revision)
    if document.number != version.number:
        raise Invalid(fields={"number": N_("The document is for another version number.")})
    fill_version(session, load_version_tree(session, version.id), document)
    return record_revision(session, version=version, actor=actor, note="document", now=now)


def update_summary(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    data: SummaryInput,
    expected_revision: int | None,
    now: dt.datetime,
) -> VersionRevision:
    """Change a draft's summary."""
    _open_draft(session, actor, version, expected_revision)
    version.summary_es = data.summary_es
    version.summary_en = data.summary_en
    return record_revision(session, version=version, actor=actor, note="summary", now=now)


def principle_of(version: GuidelineVersion, principle_id: int) -> Principle | None:
    """A principle of the version by id, if it has that one."""
    return next((p for p in version.principles if p.id == principle_id), None)


def find_principle(version: GuidelineVersion, principle_id: int) -> Principle:
    """A principle of the version by id; NotFound when it has no such principle."""
    found = principle_of(version, principle_id)
    if found is None:
        raise NotFound()
    return found


def find_criterion(version: GuidelineVersion, criterion_id: int) -> Criterion:
    """A criterion of the version by id; NotFound when it has no such criterion."""
    for principle in version.principles:
        for criterion in principle.criteria:
            if criterion.id == criterion_id:
                return criterion
    raise NotFound()


def _codes_in_use(version: GuidelineVersion, *, except_id: int | None = None) -> set[str]:
    codes = {p.code for p in version.principles}
    codes |= {c.code for p in version.principles for c in p.criteria if c.id != except_id}
    return codes


def _renumber(items: Sequence[Principle | Criterion]) -> None:
    for index, item in enumerate(items, start=1):
        item.position = index


def add_principle(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    data: PrincipleInput,
    expected_revision: int | None,
    now: dt.datetime,
) -> Principle:
    """Append a principle to a draft."""
    _open_draft(session, actor, version, expected_revision)
    if data.code in _codes_in_use(version):
        raise Invalid(fields={"code": N_("This code is already used in this version.")})
    principle = Principle(
        position=len(version.principles) + 1,
        code=data.code,
        title_es=data.title_es,
        title_en=data.title_en,
        description_es=data.description_es,
        description_en=data.description_en,
    )
    version.principles.append(principle)
    session.flush()
    record_revision(session, version=version, actor=actor, note=f"+ {data.code}", now=now)
    return principle


def update_principle(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    principle_id: int,
    data: PrincipleInput,
    expected_revision: int | None,
    now: dt.datetime,
) -> Principle:
    """Change a principle's code, title or description."""
    _open_draft(session, actor, version, expected_revision)
    principle = find_principle(version, principle_id)
    if data.code != principle.code and data.code in _codes_in_use(version):
        raise Invalid(fields={"code": N_("This code is already used in this version.")})
    principle.code = data.code
    principle.title_es = data.title_es
    principle.title_en = data.title_en
    principle.description_es = data.description_es
    principle.description_en = data.description_en
    record_revision(session, version=version, actor=actor, note=f"~ {data.code}", now=now)
    return principle


def delete_principle(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    principle_id: int,
    expected_revision: int | None,
    now: dt.datetime,
) -> None:
    """Remove a principle and its criteria from a draft."""
    _open_draft(session, actor, version, expected_revision)
    principle = find_principle(version, principle_id)
    version.principles.remove(principle)
    _renumber(version.principles)
    record_revision(session, version=version, actor=actor, note=f"- {principle.code}", now=now)


def _move(items: Sequence[Principle | Criterion], index: int, direction: Direction) -> bool:
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(items):
        return False
    items[index].position, items[target].position = items[target].position, items[index].position
    return True


def move_principle(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    principle_id: int,
    direction: Direction,
    expected_revision: int | None,
    now: dt.datetime,
) -> None:
    """Move a principle one place up or down."""
    _open_draft(session, actor, version, expected_revision)
    principle = find_principle(version, principle_id)
    if _move(version.principles, version.principles.index(principle), direction):
        record_revision(session, version=version, actor=actor, note=f"↕ {principle.code}", now=now)


def _criterion_doc_fields(data: CriterionInput) -> dict[str, object]:
    return {
        "code": data.code,
        "title": {"es": data.title_es, "en": data.title_en},
        "requirement": {"es": data.requirement_es, "en": data.requirement_en},
        "guidance": {"es": data.guidance_es, "en": data.guidance_en},
        "evidence": {"es": data.evidence_es, "en": data.evidence_en},
        "risk_levels": data.risk_levels,
    }


def _principle_by_code(version: GuidelineVersion, code: str) -> Principle:
    found = next((p for p in version.principles if p.code == code), None)
    if found is None:
        raise Invalid(fields={"principle_code": N_("Choose one of the options.")})
    return found


def add_criterion(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    data: CriterionInput,
    expected_revision: int | None,
    now: dt.datetime,
) -> Criterion:
    """Append a criterion to one of a draft's principles."""
    _open_draft(session, actor, version, expected_revision)
    principle = _principle_by_code(version, data.principle_code)
    if data.code in _codes_in_use(version):
        raise Invalid(fields={"code": N_("This code is already used in this version.")})
    criterion = criterion_from_doc(
        CriterionDoc.model_validate(_criterion_doc_fields(data)),
        version_id=version.id,
        position=len(principle.criteria) + 1,
    )
    principle.criteria.append(criterion)
    session.flush()
    record_revision(session, version=version, actor=actor, note=f"+ {data.code}", now=now)
    return criterion


def update_criterion(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    criterion_id: int,
    data: CriterionInput,
    expected_revision: int | None,
    now: dt.datetime,
) -> Criterion:
    """Change a criterion's text, risk levels or principle."""
    _open_draft(session, actor, version, expected_revision)
    criterion = find_criterion(version, criterion_id)
    if data.code in _codes_in_use(version, except_id=criterion.id):
        raise Invalid(fields={"code": N_("This code is already used in this version.")})
    target = _principle_by_code(version, data.principle_code)
    if target.id != criterion.principle_id:
        source = find_principle(version, criterion.principle_id)
        source.criteria.remove(criterion)
        _renumber(source.criteria)
        session.flush()
        # A fresh row under the new principle; codes keep the identity across versions.
        criterion = Criterion(version_id=version.id, position=len(target.criteria) + 1)
        target.criteria.append(criterion)
    criterion.code = data.code
    criterion.title_es = data.title_es
    criterion.title_en = data.title_en
    criterion.requirement_es = data.requirement_es
    criterion.requirement_en = data.requirement_en
    criterion.guidance_es = data.guidance_es
    criterion.guidance_en = data.guidance_en
    criterion.evidence_es = data.evidence_es
    criterion.evidence_en = data.evidence_en
    criterion.risk_levels = [level.value for level in data.risk_levels]
    session.flush()
    record_revision(session, version=version, actor=actor, note=f"~ {data.code}", now=now)
    return criterion


def delete_criterion(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    criterion_id: int,
    expected_revision: int | None,
    now: dt.datetime,
) -> None:
    """Remove a criterion from a draft."""
    _open_draft(session, actor, version, expected_revision)
    criterion = find_criterion(version, criterion_id)
    principle = find_principle(version, criterion.principle_id)
    principle.criteria.remove(criterion)
    _renumber(principle.criteria)
    record_revision(session, version=version, actor=actor, note=f"- {criterion.code}", now=now)


def move_criterion(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    criterion_id: int,
    direction: Direction,
    expected_revision: int | None,
    now: dt.datetime,
) -> None:
    """Move a criterion one place up or down within its principle."""
    _open_draft(session, actor, version, expected_revision)
    criterion = find_criterion(version, criterion_id)
    principle = find_principle(version, criterion.principle_id)
    if _move(principle.criteria, principle.criteria.index(criterion), direction):
        record_revision(session, version=version, actor=actor, note=f"↕ {criterion.code}", now=now)


# Life cycle --------------------------------------------------------------------------------


def closing_moment(closes_on: dt.date) -> dt.datetime:
    """A consultation closing on a date ends at midnight after it, Mexico City time."""
    end = dt.datetime.combine(closes_on + dt.timedelta(days=1), dt.time(0, 0), DISPLAY_ZONE)
    return end.astimezone(dt.UTC)


def earliest_closing_day(opened_at: dt.datetime, min_days: int) -> dt.date:
    """The first day a consultation opened at `opened_at` may close on and last `min_days`."""
    return local_date(opened_at + dt.timedelta(days=min_days))


def open_consultation(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    closes_on: dt.date,
    min_days: int,
    now: dt.datetime,
) -> None:
    """Put a draft to public consultation until the end of `closes_on`, at least `min_days`."""
    _require_staff(actor)
    closes_at = closing_moment(closes_on)
    if closes_at - now < dt.timedelta(days=min_days):
        raise Invalid(
            fields={
                "closes_on": N_(
                    "A public consultation lasts at least %(days)s days: choose %(date)s "
                    "or a later day."
                )
            },
            days=min_days,
            date=earliest_closing_day(now, min_days).isoformat(),
        )
    if not any(p.criteria for p in version.principles):
        raise Conflict(N_("A version without criteria cannot go to consultation."))
    _take_step("open_consultation", version, actor, now)
    version.consultation_opened_at = now
    version.consultation_closes_at = closes_at
    version.updated_at = now
    record_event(
        session,
        actor=actor,
        action="guideline_version.open_consultation",
        object_type="guideline_version",
        object_id=version.id,
        summary={"number": version.number, "closes_at": closes_at.isoformat()},
        now=now,
    )
    republish_documents(session, now=now)  # the consultation's page changes


def return_to_draft(
    session: Session, *, actor: User, version: GuidelineVersion, now: dt.datetime
) -> None:
    """After the consultation closes, reopen the text for changes prompted by the comments."""
    _require_staff(actor)
    _take_step("return_to_draft", version, actor, now)
    version.updated_at = now
    record_event(
        session,
        actor=actor,
        action="guideline_version.return_to_draft",
        object_type="guideline_version",
        object_id=version.id,
        summary={"number": version.number},
        now=now,
    )
    republish_documents(session, now=now)  # the consultation's page changes


def withdraw_version(
    session: Session, *, actor: User, version: GuidelineVersion, reason: str, now: dt.datetime
) -> None:
    """Abandon a draft; it stays on record as withdrawn."""
    _require_staff(actor)
    if not reason.strip():
        raise Invalid(fields={"reason": N_("Say why the draft is withdrawn.")})
    _take_step("withdraw", version, actor, now)
    version.withdrawn_at = now
    version.updated_at = now
    republish_documents(session, now=now)
    record_event(
        session,
        actor=actor,
        action="guideline_version.withdraw",
        object_type="guideline_version",
        object_id=version.id,
        summary={"number": version.number, "reason": reason.strip()},
        now=now,
    )


def check_adoptable(
    session: Session,
    version: GuidelineVersion,
    *,
    replaces: Sequence[str] = (),
    consultation_skipped_reason: str = "",
    now: dt.datetime,
) -> None:
    """Refuse a version that may not become adopted now, whether put to a ballot or adopted.

    A version adopted after the draft's base must be rebased in, or named in `replaces`; a
    version that skipped public consultation needs the reason the resolution gives.
    """
    # A version that may not become adopted is told so first, before what else it lacks.
    _check_transition(version, VersionStatus.adopted)
    if version.status == VersionStatus.consultation and not consultation_closed(version, now):
        raise Conflict(N_("The consultation is still open; wait until it closes."))
    pending = count_undisposed_comments(session, version)
    if pending:
        raise Conflict(
            N_("%(count)s consultation comments still have no disposition."), count=pending
        )
    if not any(p.criteria for p in load_version_tree(session, version.id).principles):
        raise Conflict(N_("A version without criteria cannot be adopted."))
    ensure_builds_on_latest(session, version, replaces=replaces)
    if version.consultation_opened_at is None and not consultation_skipped_reason.strip():
        raise Conflict(NO_CONSULTATION_REASON)


def adopt_version(
    session: Session,
    *,
    version: GuidelineVersion,
    resolution: str,
    effective_on: dt.date,
    replaces: Sequence[str] = (),
    consultation_skipped_reason: str = "",
    actor: User | None,
    now: dt.datetime,
) -> None:
    """Adopt a version by the council resolution that authorises it, in force from `effective_on`.

    This is the only way a version becomes adopted; the council's ballots call it. The version
    in force stays in force until `effective_on` (see `standings`). What else it needs is
    `check_adoptable`'s.
    """
    if not resolution.strip():
        raise Invalid(
            fields={"resolution": N_("Adoption needs the resolution that authorises it.")}
        )
    check_adoptable(
        session,
        version,
        replaces=replaces,
        consultation_skipped_reason=consultation_skipped_reason,
        now=now,
    )
    previous = latest_adopted(guideline_versions(session, version.guideline_id))
    _transition(version, VersionStatus.adopted)
    version.adopted_at = now
    version.adoption_resolution = resolution.strip()
    version.effective_on = effective_on
    version.updated_at = now
    republish_documents(session, now=now)
    record_event(
        session,
        actor=actor,
        action="guideline_version.adopt",
        object_type="guideline_version",
        object_id=version.id,
        summary={
            "number": version.number,
            "resolution": version.adoption_resolution,
            "effective_on": effective_on.isoformat(),
            "succeeds": previous.number if previous else None,
            "replaces": list(replaces),
            "consultation_skipped_reason": consultation_skipped_reason.strip() or None,
        },
        now=now,
    )


NO_CONSULTATION_REASON = N_(
    "This version did not go through public consultation; give the reason for adopting it "
    "without one."
)


def ensure_builds_on_latest(
    session: Session, version: GuidelineVersion, *, replaces: Sequence[str] = ()
) -> None:
    """Refuse a draft that would silently undo versions adopted after its base."""
    unheeded = [v.number for v in newer_adopted(session, version) if v.number not in replaces]
    if unheeded:
        raise Conflict(
            N_(
                "Version %(numbers)s was adopted after the text this draft builds on. Rebase "
                "the draft onto it, or state that this version replaces its changes."
            ),
            numbers=", ".join(unheeded),
        )


@dataclass(frozen=True)
class RebaseView:
    """A three-way view: what a newer adopted version and a draft each changed from their base."""

    version: GuidelineVersion
    base_number: str | None
    onto: GuidelineVersion | None
    theirs: VersionDiff | None
    ours: VersionDiff | None
    both: list[str]


def _base_document(session: Session, version: GuidelineVersion, draft: VersionDoc) -> VersionDoc:
    if version.base_version_id is None:
        return VersionDoc(guideline=draft.guideline, number=draft.number)
    return version_document(load_version_tree(session, version.base_version_id))


def rebase_view(session: Session, version: GuidelineVersion) -> RebaseView:
    """What rebasing a draft would bring in, beside what the draft itself changed."""
    newer = newer_adopted(session, version)
    base_number = (
        session.scalar(
            select(GuidelineVersion.number).where(GuidelineVersion.id == version.base_version_id)
        )
        if version.base_version_id is not None
        else None
    )
    if not newer:
        return RebaseView(version, base_number, None, None, None, [])
    onto = newer[-1]
    draft = version_document(load_version_tree(session, version.id))
    base = _base_document(session, version, draft)
    theirs = diff_versions(base, version_document(load_version_tree(session, onto.id)))
    ours = diff_versions(base, draft)
    both = [code for code in changed_codes(theirs) if code in set(changed_codes(ours))]
    # The reloads above expire the tree the page shows; load it once more.
    return RebaseView(load_version_tree(session, version.id), base_number, onto, theirs, ours, both)


def rebase_draft(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    expected_revision: int | None,
    now: dt.datetime,
) -> list[str]:
    """Bring the changes of the versions adopted since a draft's base into it.

    A three-way merge by code: what only the newer version changed is taken, what only the
    draft changed is kept, and where both changed the draft's text is kept and the code is
    returned for the secretariat to review.
    """
    _open_draft(session, actor, version, expected_revision)
    newer = newer_adopted(session, version)
    if not newer:
        raise Conflict(N_("No version was adopted after the text this draft builds on."))
    onto = newer[-1]
    draft = version_document(load_version_tree(session, version.id))
    base = _base_document(session, version, draft)
    theirs = version_document(load_version_tree(session, onto.id))
    tree = load_version_tree(session, version.id)
    merged, conflicts = merge_versions(base, draft, theirs)
    fill_version(session, tree, merged)
    tree.base_version_id = onto.id
    record_revision(session, version=tree, actor=actor, note=f"rebase → {onto.number}", now=now)
    record_event(
        session,
        actor=actor,
        action="guideline_version.rebase",
        object_type="guideline_version",
        object_id=tree.id,
        summary={"number": tree.number, "onto": onto.number, "conflicts": conflicts},
        now=now,
    )
    return conflicts
