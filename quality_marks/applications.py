"""Quality-mark applications: the checklist, answers, evidence, submission and screening."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from core.accounts import Role, User
from core.api import PageParams, paginate
from core.audit import record_event
from core.deadlines import information_due
from core.errors import N_, Conflict, DomainError, Forbidden, Invalid, NotFound
from core.forms import parse_input
from core.i18n import local_date
from core.mail import queue_mail
from core.pagination import DASHBOARD_PAGE_SIZE, PageOf, page_of
from core.settings import Settings
from core.storage import FileStore, FileTooLarge, StoredFile, clean_filename
from core.workflow import Step, Workflow
from guidelines.documents import load_version_tree
from guidelines.models import Criterion, Guideline, GuidelineVersion, Principle
from guidelines.service import get_guideline, get_version, slug_of, standings
from quality_marks.models import (
    ACTIVE_REVIEWS,
    OPEN_REVIEWS,
    Answer,
    AnswerValue,
    Application,
    ApplicationSnapshot,
    ApplicationStatus,
    Decision,
    Evidence,
    Message,
    MessageAttachment,
    Organization,
    OrganizationMember,
    OrgRole,
    OrgVerification,
    Product,
    Review,
    ReviewStatus,
)
from quality_marks.organizations import (
    EDITING_ROLES,
    NOT_VERIFIED,
    members_of,
    membership,
    owners_of,
    require_member,
)
from quality_marks.products import get_product
from quality_marks.schemas import AnswerInput, LinkInput

S = ApplicationStatus


@dataclass(frozen=True)
class Standing:
    """What the life cycle's rules read: who the person is to the application, and its applicant."""

    editor: bool  # an owner or editor of the applying organisation
    staff: bool  # the secretariat
    verified: bool  # the secretariat has verified the applying organisation's identity
    council: bool = False  # the council itself, deciding by a ballot's resolution
    # A refusal not yet appealed, within its appeal period (file_appeal reads it with the clock).
    appeal_open: bool = False


def _by_editor(standing: Standing) -> bool:
    return standing.editor


def _by_staff(standing: Standing) -> bool:
    return standing.staff


def _by_council(standing: Standing) -> bool:
    return standing.council


def _verified_applicant(standing: Standing) -> bool:
    return standing.verified


def _appeal_open(standing: Standing) -> bool:
    return standing.appeal_open


APPEAL_CLOSED = N_(
    "Only a refusal can be appealed, once, within the appeal period after the decision."
)


# The life cycle of an application, one place to read what can happen next. The order of the
# steps is the order of the buttons on the page and of `next_actions` in the API.
LIFE_CYCLE: Workflow[ApplicationStatus, Standing] = Workflow(
    [
        Step("edit", S.draft, may=_by_editor),
        Step("edit", S.information_requested, may=_by_editor),
        Step(
            "submit",
            S.draft,
            S.submitted,
            may=_by_editor,
            guard=_verified_applicant,
            refusal=NOT_VERIFIED,
        ),
        Step("answer_request", S.information_requested, S.under_review, may=_by_editor),
        Step("start_screening", S.submitted, S.screening, may=_by_staff),
        Step("accept", S.screening, S.under_review, may=_by_staff),
        Step("return", S.screening, S.draft, may=_by_staff),
        Step("request_information", S.under_review, S.information_requested, may=_by_staff),
        # The council's decision (quality_marks.decisions.record_decision), by a ballot.
        Step("decide", S.under_review, S.decided, may=_by_council),
        Step(
            "appeal",
            S.decided,
            S.appealed,
            may=_by_editor,
            guard=_appeal_open,
            refusal=APPEAL_CLOSED,
        ),
        # The appeal ballot's outcome: the refusal set aside (a new round of review) or standing.
        Step("uphold_appeal", S.appealed, S.under_review, may=_by_council),
        Step("dismiss_appeal", S.appealed, S.decided, may=_by_council),
        *(
            Step("withdraw", source, S.withdrawn, may=_by_editor)
            for source in (
                S.draft,
                S.submitted,
                S.screening,
                S.under_review,
                S.information_requested,
            )
        ),
    ]
)
# The council acting through a ballot's resolution: no person, only the `decide` step.
COUNCIL = Standing(editor=False, staff=False, verified=False, council=True)
# The organisation may change its self-assessment only in these states.
EDITABLE = frozenset(step.source for step in LIFE_CYCLE.steps if step.action == "edit")
STATUS_LABELS = {
    S.draft: N_("Draft"),
    S.submitted: N_("Submitted"),
    S.screening: N_("Screening"),
    S.under_review: N_("Under review"),
    S.information_requested: N_("Information requested"),
    S.decided: N_("Decided"),
    S.appealed: N_("Appealed"),
    S.withdrawn: N_("Withdrawn"),
}
ANSWER_LABELS = {
    AnswerValue.meets: N_("Meets"),
    AnswerValue.partly_meets: N_("Partly meets"),
    AnswerValue.does_not_meet: N_("Does not meet"),
    AnswerValue.not_applicable: N_("Not applicable"),
}
DECISION_LABELS = {Decision.granted: N_("Granted"), Decision.refused: N_("Refused")}
REVIEW_DAYS: int = Settings.model_fields["review_days"].default
INFORMATION_DUE_DAYS: int = Settings.model_fields["information_due_days"].default
DUE_IN_THE_FUTURE = N_("Choose a day after today.")
# After a new version is adopted, applications may still start on the one it superseded.
TRANSITION_PERIOD = dt.timedelta(days=90)
MISSING_ANSWER = N_("Choose an answer.")
MISSING_JUSTIFICATION = N_("Give a justification for this answer.")
NOT_ON_CHECKLIST = N_("These criteria are not on the checklist: %(codes)s.")


@dataclass
class ChecklistItem:
    """One criterion that applies to the product, with the applicant's answer and evidence."""

    principle: Principle
    criterion: Criterion
    answer: Answer | None
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        """What still has to be given before submission (catalog msgids)."""
        if self.answer is None or self.answer.value is None:
            return [MISSING_ANSWER]
        if self.answer.value != AnswerValue.meets and not self.answer.justification.strip():
            return [MISSING_JUSTIFICATION]
        return []


# Reading -----------------------------------------------------------------------------------


def may_review(session: Session, user: User, application: Application) -> bool:
    """Whether the person reviews the application (a review of theirs not declined nor released)."""
    found = session.scalar(
        select(Review.id)
        .where(
            Review.application_id == application.id,
            Review.reviewer_id == user.id,
            Review.status.in_(ACTIVE_REVIEWS),
        )
        .limit(1)
    )
    return found is not None


def get_application(session: Session, user: User, application_id: int) -> Application:
    """An application its organisation's people, its reviewers or the secretariat may read.

    Loaded with what its pages name: the product, the organisation and the guideline version.
    """
    application = session.scalar(
        select(Application)
        .where(Application.id == application_id)
        .options(
            joinedload(Application.product),
            joinedload(Application.organization),
            joinedload(Application.guideline_version).joinedload(GuidelineVersion.guideline),
        )
    )
    if application is None:
        raise NotFound()
    try:
        require_member(session, user, application.organization_id)
    except NotFound:
        if not may_review(session, user, application):
            raise
    return application


def _require_editor(session: Session, user: User, application: Application) -> None:
    require_member(session, user, application.organization_id, *EDITING_ROLES)


def _require_secretariat(user: User) -> None:
    if not user.has_role(Role.secretariat):
        raise Forbidden()


# What an organisation still has to do: drafts (returned or not) and requests for information.
AWAITING_ORGANIZATION = (S.draft, S.information_requested)


def organization_applications(
    session: Session, organization_id: int, *, page: int = 1, awaiting: bool = False, param: str
) -> PageOf[Application]:
    """One page of an organisation's applications (or those awaiting it), newest change first."""
    query = (
        select(Application)
        .where(Application.organization_id == organization_id)
        .options(joinedload(Application.product))
        .order_by(Application.updated_at.desc(), Application.id.desc())
    )
    if awaiting:
        query = query.where(Application.status.in_(AWAITING_ORGANIZATION))
    return page_of(session, query, page=page, param=param, page_size=DASHBOARD_PAGE_SIZE)


def progress_of(
    session: Session, items: Sequence[Application]
) -> dict[int, dict[str, dict[str, int]]]:
    """Per application and principle code (in document order): criteria that apply, complete ones.

    The same counts as `completeness` of each checklist, in two queries for any number of
    applications: the criteria of their versions, and their answers that have a value.
    """
    if not items:
        return {}
    criteria = session.execute(
        select(Criterion.version_id, Principle.code, Criterion.code, Criterion.risk_levels)
        .join(Principle, Criterion.principle_id == Principle.id)
        .where(Criterion.version_id.in_({a.guideline_version_id for a in items}))
        .order_by(Principle.position, Criterion.position)
    ).all()
    complete = {
        (application_id, code)
        for application_id, code, value, justification in session.execute(
            select(
                Answer.application_id, Answer.criterion_code, Answer.value, Answer.justification
            ).where(Answer.application_id.in_([a.id for a in items]), Answer.value.is_not(None))
        )
        if value == AnswerValue.meets or justification.strip()
    }
    result: dict[int, dict[str, dict[str, int]]] = {}
    for application in items:
        counts: dict[str, dict[str, int]] = result.setdefault(application.id, {})
        for version_id, principle_code, code, levels in criteria:
            if version_id != application.guideline_version_id:
                continue
            if application.risk_level.value not in levels:
                continue
            count = counts.setdefault(principle_code, {"total": 0, "complete": 0})
            count["total"] += 1
            count["complete"] += 1 if (application.id, code) in complete else 0
    return result


def checklist(session: Session, application: Application) -> list[ChecklistItem]:
    """The version's criteria that apply to the application's risk level, in document order."""
    return checklists(session, [application])[application.id]


def checklists(session: Session, items: Sequence[Application]) -> dict[int, list[ChecklistItem]]:
    """The checklists of several applications (by id): each version tree is loaded once."""
    if not items:
        return {}
    ids = [application.id for application in items]
    versions = {
        version_id: load_version_tree(session, version_id)
        for version_id in {application.guideline_version_id for application in items}
    }
    answers: dict[tuple[int, str], Answer] = {
        (a.application_id, a.criterion_code): a
        for a in session.scalars(select(Answer).where(Answer.application_id.in_(ids)))
    }
    evidence: dict[tuple[int, str], list[Evidence]] = {}
    for item in session.scalars(
        select(Evidence).where(Evidence.application_id.in_(ids)).order_by(Evidence.id)
    ):
        evidence.setdefault((item.application_id, item.criterion_code), []).append(item)
    return {
        application.id: [
            ChecklistItem(
                p,
                c,
                answers.get((application.id, c.code)),
                evidence.get((application.id, c.code), []),
            )
            for p in versions[application.guideline_version_id].principles
            for c in p.criteria
            if application.risk_level.value in c.risk_levels
        ]
        for application in items
    }


@dataclass
class ChecklistPart:
    """One principle's criteria of an application's checklist, within the whole checklist."""

    everything: list[ChecklistItem]
    items: list[ChecklistItem]

    @property
    def principle_codes(self) -> list[str]:
        """The principles of the whole checklist, in document order."""
        return list(dict.fromkeys(item.principle.code for item in self.everything))


def checklist_part(
    session: Session, application: Application, principle_code: str
) -> ChecklistPart:
    """The checklist of one principle; NotFound when no criterion of it applies."""
    everything = checklist(session, application)
    items = [item for item in everything if item.principle.code == principle_code]
    if not items:
        raise NotFound()
    return ChecklistPart(everything, items)


def checklist_item(
    session: Session, application: Application, criterion_code: str
) -> ChecklistItem:
    """One criterion of the application's checklist with its answer and evidence."""
    for item in checklist(session, application):
        if item.criterion.code == criterion_code:
            return item
    raise NotFound()


def principle_of(session: Session, application: Application, criterion_code: str) -> str | None:
    """The principle a criterion of the application's checklist belongs to."""
    for item in checklist(session, application):
        if item.criterion.code == criterion_code:
            return item.principle.code
    return None


def applicable_codes(session: Session, application: Application) -> set[str]:
    """The codes of the criteria that apply to the application's risk level (one query)."""
    rows = session.execute(
        select(Criterion.code, Criterion.risk_levels).where(
            Criterion.version_id == application.guideline_version_id
        )
    )
    # risk_levels is a JSON list: filtering here keeps the query the same on both databases.
    return {code for code, levels in rows if application.risk_level.value in levels}


def completeness(items: list[ChecklistItem]) -> dict[str, dict[str, int]]:
    """Per principle code: how many criteria apply and how many are complete."""
    result: dict[str, dict[str, int]] = {}
    for item in items:
        counts = result.setdefault(item.principle.code, {"total": 0, "complete": 0})
        counts["total"] += 1
        counts["complete"] += 0 if item.missing else 1
    return result


def standing_of(session: Session, user: User, application: Application) -> Standing:
    member = membership(session, user, application.organization_id)
    return Standing(
        editor=member is not None and member.role in EDITING_ROLES,
        staff=user.has_role(Role.secretariat),
        verified=_organization_of(session, application).verification == OrgVerification.verified,
    )


def next_actions(session: Session, application: Application, user: User) -> list[str]:
    """What the person may do next with the application (drives the page's buttons)."""
    return LIFE_CYCLE.actions(application.status, standing_of(session, user, application))


def _organization_of(session: Session, application: Application) -> Organization:
    organization = session.get(Organization, application.organization_id)
    assert organization is not None
    return organization


def accepted_versions(guideline: Guideline, now: dt.datetime) -> list[GuidelineVersion]:
    """Versions an application may start on: the one in force, and one superseded recently."""
    # Reads guideline.versions, which guidelines.service.get_guideline and list_guidelines load.
    # A version adopted with a later effective day is not applied against until that day.
    standing = standings(guideline.versions, now)
    today = local_date(now)
    accepted = [v for v in guideline.versions if standing[v.id].in_force]
    accepted += [
        v
        for v in guideline.versions
        if (superseded_on := standing[v.id].superseded_on) is not None
        and today - superseded_on <= TRANSITION_PERIOD
    ]
    return accepted


# Changes by the organisation ---------------------------------------------------------------


def _step(application: Application, action: str, standing: Standing) -> ApplicationStatus:
    """Where an action takes the application now; Conflict when the life cycle forbids it.

    The table decides which moves a status allows; a verb leading to an allowed status may take
    it from there, as the life cycle always has (the secretariat may accept an application back
    into review while it waits for information), though the buttons offer only the steps written.
    """
    status = application.status
    target = next(s.target for s in LIFE_CYCLE.steps if s.action == action and s.target)
    refused = Conflict(
        N_("The application is %(status)s; it cannot become %(target)s."),
        status=STATUS_LABELS[status],
        target=STATUS_LABELS[target],
    )
    if not LIFE_CYCLE.allows(status, target):
        raise refused
    written = [s for s in LIFE_CYCLE.steps if s.source == status and s.target == target]
    if not standing.council and all(s.may is _by_council for s in written):
        # What only a ballot's resolution may do (an appeal's outcome), no person's verb does.
        raise refused
    if any(s.action == action and s.source == status for s in LIFE_CYCLE.steps):
        LIFE_CYCLE.require(action, status, standing)  # who may take it, and when
    elif not any(s.may(standing) for s in LIFE_CYCLE.steps if s.action == action):
        raise Forbidden()
    return target


def _transition(application: Application, target: ApplicationStatus) -> None:
    application.status = target


def take_step(application: Application, action: str, standing: Standing) -> ApplicationStatus:
    """Move the application by one step of the life cycle; Conflict or Forbidden when it may not."""
    target = _step(application, action, standing)
    _transition(application, target)
    return target


def _ensure_editable(application: Application) -> None:
    if application.status not in EDITABLE:
        raise Conflict(
            N_(
                "The application is %(status)s and its self-assessment is frozen; "
                "it can change only when the secretariat returns it or asks for information."
            ),
            status=STATUS_LABELS[application.status],
        )


def log_change(
    session: Session,
    actor: User | None,
    action: str,
    application: Application,
    now: dt.datetime,
    **summary: Any,
) -> None:
    application.updated_at = now
    record_event(
        session,
        actor=actor,
        action=f"application.{action}",
        object_type="application",
        object_id=application.id,
        summary={"status": application.status.value, "revision": application.revision, **summary},
        now=now,
    )


def version_to_apply_on(
    session: Session, *, user: User, product_id: int, guideline: str, number: str
) -> GuidelineVersion:
    """The guideline version named to start an application for a product on.

    A version the person cannot see is not a valid choice; an unknown product is not found first.
    """
    get_product(session, user, product_id)
    try:
        return get_version(session, slug=guideline, number=number, viewer=user)
    except NotFound:
        raise Invalid(
            fields={"version": N_("Applications start on the version in force of the guideline.")}
        ) from None


def start_application(
    session: Session,
    *,
    actor: User,
    product_id: int,
    guideline_version: GuidelineVersion,
    now: dt.datetime,
) -> Application:
    """Start an application for a product against an accepted guideline version."""
    product = get_product(session, actor, product_id)
    require_member(session, actor, product.organization_id, *EDITING_ROLES)
    guideline = get_guideline(session, slug_of(session, guideline_version))
    if guideline_version.id not in {v.id for v in accepted_versions(guideline, now)}:
        raise Invalid(
            fields={"version": N_("Applications start on the version in force of the guideline.")}
        )
    open_one = session.scalar(
        select(Application.id).where(
            Application.product_id == product.id,
            Application.status.not_in([S.decided, S.withdrawn]),
        )
    )
    if open_one is not None:
        raise Conflict(N_("This product already has an application in progress."))
    application = Application(
        organization_id=product.organization_id,
        product_id=product.id,
        guideline_version_id=guideline_version.id,
        risk_level=product.risk_level,
        status=S.draft,
        revision=1,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(application)
    session.flush()
    log_change(session, actor, "start", application, now, product=product.identifier)
    return application


def save_answers(
    session: Session,
    *,
    actor: User,
    application: Application,
    answers: dict[str, AnswerInput],
    now: dt.datetime,
) -> None:
    """Save answers to some criteria (a draft may stay incomplete)."""
    _require_editor(session, actor, application)
    _ensure_editable(application)
    unknown = sorted(set(answers) - applicable_codes(session, application))
    if unknown:
        raise Invalid(NOT_ON_CHECKLIST, codes=", ".join(unknown))
    existing = {
        a.criterion_code: a
        for a in session.scalars(select(Answer).where(Answer.application_id == application.id))
    }
    for code, data in answers.items():
        answer = existing.get(code) or Answer(application_id=application.id, criterion_code=code)
        answer.value = data.value
        answer.justification = data.justification.strip()
        answer.answer_public = data.answer_public
        answer.justification_public = data.justification_public
        answer.updated_at = now
        session.add(answer)
    session.flush()
    log_change(session, actor, "answer", application, now, criteria=sorted(answers))


def _used_bytes(session: Session, application: Application) -> int:
    """The bytes of every file the application holds: evidence and message attachments."""
    evidence = session.scalar(
        select(func.coalesce(func.sum(Evidence.size), 0)).where(
            Evidence.application_id == application.id
        )
    )
    attachments = session.scalar(
        select(func.coalesce(func.sum(MessageAttachment.size), 0))
        .join(Message, Message.id == MessageAttachment.message_id)
        .where(Message.application_id == application.id)
    )
    return int(evidence or 0) + int(attachments or 0)


def _save_within(
    session: Session,
    store: FileStore,
    stream: BinaryIO,
    filename: str,
    *,
    room: int,
    max_file_bytes: int,
    max_total_bytes: int,
) -> StoredFile:
    """Store a file no larger than the single-file limit nor the room left in the total.

    The file follows the session's transaction: a rollback removes it again.
    """
    try:
        return store.save(
            stream, original_name=filename, max_bytes=min(max_file_bytes, room), session=session
        )
    except FileTooLarge:
        if room < max_file_bytes:
            raise FileTooLarge(
                N_("The application's files may not exceed %(limit)s MB in total."),
                limit=f"{max_total_bytes / 1024 / 1024:g}",
            ) from None
        raise


def add_evidence_file(
    session: Session,
    *,
    actor: User,
    application: Application,
    criterion_code: str,
    stream: BinaryIO,
    filename: str,
    public: bool,
    store: FileStore,
    max_file_bytes: int,
    max_total_bytes: int,
    now: dt.datetime,
) -> Evidence:
    """Attach an uploaded file to a criterion; refused uploads say why and store nothing."""
    _require_editor(session, actor, application)
    _ensure_editable(application)
    if criterion_code not in applicable_codes(session, application):
        raise Invalid(NOT_ON_CHECKLIST, codes=criterion_code)
    stored = _save_within(
        session,
        store,
        stream,
        filename,
        room=max_total_bytes - _used_bytes(session, application),
        max_file_bytes=max_file_bytes,
        max_total_bytes=max_total_bytes,
    )
    evidence = Evidence(
        application_id=application.id,
        criterion_code=criterion_code,
        stored_key=stored.key,
        original_name=stored.original_name,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        public=public,
        revision=application.revision,
        uploaded_by_id=actor.id,
        uploaded_at=now,
    )
    session.add(evidence)
    session.flush()
    log_change(
        session,
        actor,
        "add_evidence",
        application,
        now,
        criterion=criterion_code,
        name=stored.original_name,
        sha256=stored.sha256,
    )
    return evidence


def add_evidence_link(
    session: Session,
    *,
    actor: User,
    application: Application,
    criterion_code: str,
    url: str,
    label: str,
    public: bool,
    now: dt.datetime,
) -> Evidence:
    """Attach a link (a public policy, a model card) to a criterion."""
    _require_editor(session, actor, application)
    _ensure_editable(application)
    if criterion_code not in applicable_codes(session, application):
        raise Invalid(NOT_ON_CHECKLIST, codes=criterion_code)
    if not url.startswith(("https://", "http://")):
        raise Invalid(fields={"url": N_("Give a web address starting with https://.")})
    evidence = Evidence(
        application_id=application.id,
        criterion_code=criterion_code,
        url=url.strip(),
        label=label.strip() or url.strip(),
        public=public,
        revision=application.revision,
        uploaded_by_id=actor.id,
        uploaded_at=now,
    )
    session.add(evidence)
    session.flush()
    log_change(session, actor, "add_evidence", application, now, criterion=criterion_code, url=url)
    return evidence


def remove_evidence(
    session: Session,
    *,
    actor: User,
    application: Application,
    evidence_id: int,
    store: FileStore,
    now: dt.datetime,
) -> Evidence:
    """Remove a piece of evidence added in the current round (submitted ones stay).

    Its file leaves the store once the removal is committed.
    """
    _require_editor(session, actor, application)
    _ensure_editable(application)
    evidence = session.get(Evidence, evidence_id)
    if evidence is None or evidence.application_id != application.id:
        raise NotFound()
    if evidence.revision != application.revision:
        raise Conflict(N_("Evidence already submitted stays on record; add new evidence instead."))
    session.delete(evidence)
    session.flush()
    if evidence.stored_key:
        store.discard(session, evidence.stored_key)
    log_change(
        session, actor, "remove_evidence", application, now, criterion=evidence.criterion_code
    )
    return evidence


# The checklist form ------------------------------------------------------------------------


@dataclass
class CriterionSent:
    """What one checklist form sent for one criterion: the answer, files and a link."""

    answer: dict[str, Any]  # AnswerInput's fields as typed
    files: list[tuple[BinaryIO, str]] = field(default_factory=list)
    files_public: bool = False
    link_url: str = ""
    link_label: str = ""
    link_public: bool = False


@dataclass(frozen=True)
class Refusal:
    """Why one thing sent with a form was refused: the error and which of its messages applies."""

    error: DomainError
    field: str = ""  # the error's message for this field; its main message when empty
    name: str = ""  # the file the refusal is about


@dataclass
class SavedChecklist:
    """What a checklist form left unsaved, by form field: nothing when everything was saved."""

    answers_refused: bool = False
    refusals: dict[str, list[Refusal]] = field(default_factory=dict)

    def refuse(self, form_field: str, refusal: Refusal) -> None:
        """Note a refusal next to the form field it concerns."""
        self.refusals.setdefault(form_field, []).append(refusal)


def _parse_answers(sent: dict[str, CriterionSent], saved: SavedChecklist) -> dict[str, AnswerInput]:
    answers: dict[str, AnswerInput] = {}
    for code, criterion in sent.items():
        try:
            answers[code] = parse_input(AnswerInput, criterion.answer)
        except Invalid as error:
            for name in error.fields:
                target = "answer" if name == "value" else name
                saved.refuse(f"{target}-{code}", Refusal(error, name))
    saved.answers_refused = bool(saved.refusals)
    return answers


@dataclass
class _EvidenceBatch:
    """The files and links of one checklist form, added together or not at all."""

    session: Session
    actor: User
    application: Application
    store: FileStore
    max_file_bytes: int
    max_total_bytes: int
    now: dt.datetime
    saved: SavedChecklist
    stored_keys: list[str] = field(default_factory=list)

    def add_files(self, code: str, criterion: CriterionSent) -> None:
        for stream, filename in criterion.files:
            try:
                evidence = add_evidence_file(
                    self.session,
                    actor=self.actor,
                    application=self.application,
                    criterion_code=code,
                    stream=stream,
                    filename=filename,
                    public=criterion.files_public,
                    store=self.store,
                    max_file_bytes=self.max_file_bytes,
                    max_total_bytes=self.max_total_bytes,
                    now=self.now,
                )
            except Invalid as error:
                self.saved.refuse(f"files-{code}", Refusal(error, name=clean_filename(filename)))
                continue
            if evidence.stored_key:
                self.stored_keys.append(evidence.stored_key)

    def add_link(self, code: str, criterion: CriterionSent) -> None:
        url, label = criterion.link_url.strip(), criterion.link_label
        if not url and not label.strip():
            return
        try:
            link = parse_input(LinkInput, {"criterion_code": code, "url": url, "label": label})
            add_evidence_link(
                self.session,
                actor=self.actor,
                application=self.application,
                criterion_code=code,
                url=link.url,
                label=link.label,
                public=criterion.link_public,
                now=self.now,
            )
        except Invalid as error:
            if "label" in error.fields:
                self.saved.refuse(f"link_label-{code}", Refusal(error, "label"))
            if "url" in error.fields:
                self.saved.refuse(f"link_url-{code}", Refusal(error, "url"))
            elif "label" not in error.fields:
                self.saved.refuse(f"link_url-{code}", Refusal(error))


def save_checklist(
    session: Session,
    *,
    actor: User,
    application: Application,
    sent: dict[str, CriterionSent],
    store: FileStore,
    max_file_bytes: int,
    max_total_bytes: int,
    now: dt.datetime,
) -> SavedChecklist:
    """Save one principle's answers with the files and links sent with them.

    The valid answers are kept whatever else is refused, so nothing typed is lost; the files and
    links are added only when every answer, file and link is accepted, all of them or none.
    """
    saved = SavedChecklist()
    answers = _parse_answers(sent, saved)
    save_answers(session, actor=actor, application=application, answers=answers, now=now)
    if saved.answers_refused:
        return saved
    batch = _EvidenceBatch(
        session, actor, application, store, max_file_bytes, max_total_bytes, now, saved
    )
    savepoint = session.begin_nested()
    try:
        for code, criterion in sent.items():
            batch.add_files(code, criterion)
            batch.add_link(code, criterion)
    except BaseException:
        savepoint.rollback()
        raise
    if not saved.refusals:
        savepoint.commit()
        return saved
    savepoint.rollback()
    # Stored within the savepoint only: no row points at them once it is rolled back.
    for key in batch.stored_keys:
        store.discard(session, key)
    return saved


@dataclass(frozen=True)
class StoredDownload:
    """A stored file someone may download: its key, the name it was sent under, its type."""

    key: str
    name: str
    content_type: str


def evidence_file(
    session: Session, *, user: User, application_id: int, evidence_id: int
) -> StoredDownload:
    """An evidence file of the application, for the organisation's people and the secretariat."""
    evidence = session.get(Evidence, evidence_id)
    if evidence is None or evidence.stored_key is None:
        raise NotFound()
    application = get_application(session, user, evidence.application_id)
    if application.id != application_id:
        raise NotFound()
    return StoredDownload(evidence.stored_key, evidence.original_name, evidence.content_type)


def _snapshot(
    session: Session,
    application: Application,
    items: list[ChecklistItem],
    actor: User,
    now: dt.datetime,
) -> ApplicationSnapshot:
    document = {
        "revision": application.revision,
        "guideline_version_id": application.guideline_version_id,
        "risk_level": application.risk_level.value,
        "answers": [
            {
                "code": item.criterion.code,
                "value": item.answer.value.value if item.answer and item.answer.value else None,
                "justification": item.answer.justification if item.answer else "",
                "answer_public": item.answer.answer_public if item.answer else True,
                "justification_public": item.answer.justification_public if item.answer else False,
                "evidence": [
                    {
                        "id": e.id,
                        "name": e.original_name,
                        "sha256": e.sha256,
                        "size": e.size,
                        "url": e.url,
                        "label": e.label,
                        "public": e.public,
                    }
                    for e in item.evidence
                ],
            }
            for item in items
        ],
    }
    snapshot = ApplicationSnapshot(
        application_id=application.id,
        revision=application.revision,
        submitted_at=now,
        submitted_by_id=actor.id,
        document=document,
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def missing_items(session: Session, application: Application) -> list[ChecklistItem]:
    """Checklist items that block submission."""
    return [item for item in checklist(session, application) if item.missing]


def _complete_checklist(session: Session, application: Application) -> list[ChecklistItem]:
    """The checklist, if nothing in it blocks submission."""
    items = checklist(session, application)
    if missing := [item for item in items if item.missing]:
        raise Invalid(
            N_("The application is not complete: %(count)s criteria still need attention."),
            fields={item.criterion.code: item.missing[0] for item in missing},
            count=len(missing),
        )
    return items


def submit_application(
    session: Session, *, actor: User, application: Application, base_url: str, now: dt.datetime
) -> ApplicationSnapshot:
    """Submit a complete self-assessment; from now on it is frozen."""
    _require_editor(session, actor, application)
    target = _step(application, "submit", standing_of(session, actor, application))
    items = _complete_checklist(session, application)
    _transition(application, target)
    application.submitted_at = now
    application.return_reason = None
    snapshot = _snapshot(session, application, items, actor, now)
    log_change(session, actor, "submit", application, now)
    _notify_secretariat(session, application, "mail/application_submitted.txt", base_url, now)
    _send_receipt(session, application, actor, base_url, now)
    return snapshot


def withdraw_application(
    session: Session,
    *,
    actor: User,
    application: Application,
    reason: str,
    now: dt.datetime,
    base_url: str = "",
) -> None:
    """The organisation withdraws its application before a decision."""
    _require_editor(session, actor, application)
    was_submitted = application.status != ApplicationStatus.draft
    _transition(
        application, _step(application, "withdraw", standing_of(session, actor, application))
    )
    application.withdrawn_at = now
    ended = _end_open_reviews(session, application, now)
    log_change(
        session, actor, "withdraw", application, now, reason=reason.strip(), reviews_ended=ended
    )
    change = {"reason": reason.strip(), "withdrawn_by": actor.full_name}
    _notify_organization(
        session, application, "mail/application_status.txt", base_url, now, **change
    )
    if was_submitted:  # a draft never reached the secretariat's queue
        _notify_secretariat(
            session, application, "mail/application_status.txt", base_url, now, **change
        )


def _end_open_reviews(session: Session, application: Application, now: dt.datetime) -> int:
    """End (release) the reviews still open on an application that leaves review."""
    # No more work on them, no reminders, no load counted against their reviewers.
    open_reviews = session.scalars(
        select(Review).where(
            Review.application_id == application.id,
            Review.status.in_(OPEN_REVIEWS),
        )
    ).all()
    for review in open_reviews:
        review.status = ReviewStatus.released
        review.ended_at = now
        review.updated_at = now
    return len(open_reviews)


# Changes by the secretariat ----------------------------------------------------------------


def start_screening(
    session: Session,
    *,
    actor: User,
    application: Application,
    now: dt.datetime,
    base_url: str = "",
) -> None:
    """The secretariat starts checking that the application is complete."""
    _require_secretariat(actor)
    _transition(
        application, _step(application, "start_screening", standing_of(session, actor, application))
    )
    log_change(session, actor, "start_screening", application, now)
    _notify_organization(session, application, "mail/application_status.txt", base_url, now)


def accept_application(
    session: Session, *, actor: User, application: Application, base_url: str, now: dt.datetime
) -> None:
    """Screening passed: the application goes to review."""
    _require_secretariat(actor)
    _transition(application, _step(application, "accept", standing_of(session, actor, application)))
    log_change(session, actor, "accept", application, now)
    _notify_organization(session, application, "mail/application_status.txt", base_url, now)


def return_application(
    session: Session,
    *,
    actor: User,
    application: Application,
    reason: str,
    base_url: str,
    now: dt.datetime,
) -> Message:
    """Screening found gaps: back to the organisation as a new revision, with the reason."""
    _require_secretariat(actor)
    if not reason.strip():
        raise Invalid(fields={"reason": N_("Say what the organisation must complete or correct.")})
    _transition(application, _step(application, "return", standing_of(session, actor, application)))
    application.revision += 1
    application.return_reason = reason.strip()
    message = _add_message(session, application, actor, reason, is_request=True, now=now)
    log_change(session, actor, "return", application, now, reason=reason.strip())
    _notify_organization(
        session, application, "mail/application_status.txt", base_url, now, reason=reason.strip()
    )
    return message


def request_information(
    session: Session,
    *,
    actor: User,
    application: Application,
    body: str,
    base_url: str,
    now: dt.datetime,
    due_on: dt.date | None = None,
    information_due_days: int = INFORMATION_DUE_DAYS,
) -> Message:
    """The reviewers need more: the organisation may revise and must answer by a due date.

    Without a date chosen, the answer is due `information_due_days` after today.
    """
    _require_secretariat(actor)
    errors: dict[str, str] = {}
    if not body.strip():
        errors["body"] = N_("Write the request.")
    today = local_date(now)
    if due_on is not None and due_on <= today:
        errors["due_on"] = DUE_IN_THE_FUTURE
    if errors:
        raise Invalid(fields=errors)
    target = _step(application, "request_information", standing_of(session, actor, application))
    _transition(application, target)
    application.revision += 1
    message = _add_message(session, application, actor, body, is_request=True, now=now)
    message.due_on = due_on or information_due(today, information_due_days)
    log_change(
        session, actor, "request_information", application, now, due_on=message.due_on.isoformat()
    )
    _notify_organization(
        session,
        application,
        "mail/application_status.txt",
        base_url,
        now,
        request=body.strip(),
        due_on=message.due_on,
    )
    return message


def answer_request(
    session: Session,
    *,
    actor: User,
    application: Application,
    body: str,
    base_url: str,
    now: dt.datetime,
    review_days: int = REVIEW_DAYS,
) -> ApplicationSnapshot:
    """The organisation answers a request; the revised self-assessment is frozen again.

    The next round of reviews starts on it: the last round's reviewers review it again.
    """
    # The reviews module reads the checklist from this one: imported here, not at the top.
    from quality_marks.reviews import start_next_round

    _require_editor(session, actor, application)
    target = _step(application, "answer_request", standing_of(session, actor, application))
    if not body.strip():
        raise Invalid(fields={"body": N_("Write your answer.")})
    items = _complete_checklist(session, application)
    _add_message(session, application, actor, body, is_request=False, now=now)
    _transition(application, target)
    snapshot = _snapshot(session, application, items, actor, now)
    log_change(session, actor, "answer_request", application, now)
    _notify_secretariat(session, application, "mail/application_message.txt", base_url, now)
    start_next_round(
        session, application=application, review_days=review_days, base_url=base_url, now=now
    )
    return snapshot


# Messages ----------------------------------------------------------------------------------


def _add_message(
    session: Session,
    application: Application,
    actor: User,
    body: str,
    *,
    is_request: bool,
    now: dt.datetime,
) -> Message:
    message = Message(
        application_id=application.id,
        author_id=actor.id,
        from_secretariat=actor.has_role(Role.secretariat)
        and membership(session, actor, application.organization_id) is None,
        is_request=is_request,
        body=body.strip(),
        created_at=now,
    )
    session.add(message)
    session.flush()
    return message


def _may_write(user: User, member: OrganizationMember | None) -> bool:
    if member is None:
        return user.has_role(Role.secretariat)
    return member.role in EDITING_ROLES


def may_post_message(session: Session, user: User, application: Application) -> bool:
    """Whether the person may write in the application's thread: its editors and the secretariat."""
    return _may_write(user, membership(session, user, application.organization_id))


def post_message(
    session: Session,
    *,
    actor: User,
    application: Application,
    body: str,
    attachments: list[tuple[BinaryIO, str]],
    store: FileStore,
    max_file_bytes: int,
    max_total_bytes: int,
    max_files: int,
    base_url: str,
    now: dt.datetime,
) -> Message:
    """Write in the application's thread; the other side is told by e-mail.

    Attachments count toward the application's total of files, like evidence.
    """
    member = membership(session, actor, application.organization_id)
    if not _may_write(actor, member):
        raise NotFound() if member is None else Forbidden()
    staff = member is None  # only the secretariat writes without being a member
    if not body.strip():
        raise Invalid(fields={"body": N_("Write a message.")})
    if len(attachments) > max_files:
        raise Invalid(
            fields={"attachments": N_("A message may carry at most %(count)s files.")},
            count=max_files,
        )
    message = _add_message(session, application, actor, body, is_request=False, now=now)
    room = max_total_bytes - _used_bytes(session, application)
    # Stored for the session: a refused attachment's rollback removes the ones stored before it.
    for stream, filename in attachments:
        stored = _save_within(
            session,
            store,
            stream,
            filename,
            room=room,
            max_file_bytes=max_file_bytes,
            max_total_bytes=max_total_bytes,
        )
        room -= stored.size
        session.add(
            MessageAttachment(
                message_id=message.id,
                stored_key=stored.key,
                original_name=stored.original_name,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
            )
        )
    session.flush()
    log_change(session, actor, "message", application, now, attachments=len(attachments))
    if staff:
        _notify_organization(session, application, "mail/application_message.txt", base_url, now)
    else:
        _notify_secretariat(session, application, "mail/application_message.txt", base_url, now)
    return message


def thread_page(
    session: Session, application: Application, *, params: PageParams
) -> tuple[list[Message], int]:
    """One page of the application's thread, oldest first, with authors and attachments."""
    query = (
        select(Message)
        .where(Message.application_id == application.id)
        .options(joinedload(Message.author), selectinload(Message.attachments))
        .order_by(Message.id)
    )
    return paginate(session, query, params)


def sent_message(session: Session, message_id: int) -> Message:
    """A message just written, with its author and attachments."""
    message = session.scalar(
        select(Message)
        .where(Message.id == message_id)
        .options(joinedload(Message.author), selectinload(Message.attachments))
    )
    assert message is not None
    return message


def thread(
    session: Session, application: Application
) -> list[tuple[Message, User, list[MessageAttachment]]]:
    """The messages of an application with their authors and attachments, oldest first."""
    messages = session.scalars(
        select(Message)
        .where(Message.application_id == application.id)
        .options(joinedload(Message.author), selectinload(Message.attachments))
        .order_by(Message.id)
    )
    return [(m, m.author, list(m.attachments)) for m in messages]


def attachment_file(
    session: Session, *, user: User, application_id: int, attachment_id: int
) -> StoredDownload:
    """A file sent with a message of the application's thread, for those who may read it."""
    attachment = session.get(MessageAttachment, attachment_id)
    if attachment is None:
        raise NotFound()
    message = session.get(Message, attachment.message_id)
    assert message is not None
    if get_application(session, user, message.application_id).id != application_id:
        raise NotFound()
    return StoredDownload(attachment.stored_key, attachment.original_name, attachment.content_type)


def _notify_organization(
    session: Session,
    application: Application,
    template: str,
    base_url: str,
    now: dt.datetime,
    **change: object,
) -> None:
    for person, role in members_of(session, application.organization_id):
        if role in (OrgRole.owner, OrgRole.editor):
            _mail(session, person, application, template, base_url, now, **change)


def _notify_secretariat(
    session: Session,
    application: Application,
    template: str,
    base_url: str,
    now: dt.datetime,
    **change: object,
) -> None:
    for person in session.scalars(
        select(User).where(User.role == Role.secretariat, User.is_active.is_(True))
    ):
        _mail(session, person, application, template, base_url, now, **change)


def _send_receipt(
    session: Session, application: Application, submitter: User, base_url: str, now: dt.datetime
) -> None:
    """Tell the organisation's owners, and whoever submitted, that the application arrived."""
    people = {owner.id: owner for owner in owners_of(session, application.organization_id)}
    people.setdefault(submitter.id, submitter)
    product = session.get(Product, application.product_id)
    for person in people.values():
        _mail(
            session,
            person,
            application,
            "mail/application_receipt.txt",
            base_url,
            now,
            product=product.name if product else "",
            revision=application.revision,
            submitted_by=submitter.full_name,
            submitted_at=now,
        )


def _mail(
    session: Session,
    person: User,
    application: Application,
    template: str,
    base_url: str,
    now: dt.datetime,
    **change: object,
) -> None:
    """One mail about an application, in the person's own language; `change` says what happened."""
    queue_mail(
        session,
        to=person.email,
        template=template,
        locale=person.locale,
        context={
            "user_name": person.full_name,
            "application_id": application.id,
            "status": STATUS_LABELS[application.status],
            "link": f"{base_url.rstrip('/')}/applications/{application.id}",
            "reason": "",
            "request": "",
            "due_on": None,
            "withdrawn_by": "",
            **change,
        },
        now=now,
    )
