"""Quality-mark applications: the checklist, answers, evidence, submission and screening."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.audit import record_event
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound
from core.i18n import local_date
from core.mail import queue_mail
from core.storage import FileStore, FileTooLarge, StoredFile
from guidelines.documents import load_version_tree
from guidelines.models import Criterion, Guideline, GuidelineVersion, Principle
from guidelines.service import get_guideline, slug_of, standings
from quality_marks.models import (
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
    OrgRole,
    OrgVerification,
)
from quality_marks.organizations import (
    EDITING_ROLES,
    members_of,
    membership,
    require_member,
    require_verified,
)
from quality_marks.products import get_product
from quality_marks.schemas import AnswerInput

S = ApplicationStatus
# The life cycle of an application, one place to read what can happen next.
TRANSITIONS: dict[ApplicationStatus, frozenset[ApplicationStatus]] = {
    S.draft: frozenset({S.submitted, S.withdrawn}),
    S.submitted: frozenset({S.screening, S.withdrawn}),
    S.screening: frozenset({S.under_review, S.draft, S.withdrawn}),
    S.under_review: frozenset({S.information_requested, S.decided, S.withdrawn}),
    S.information_requested: frozenset({S.under_review, S.withdrawn}),
    S.decided: frozenset(),
    S.withdrawn: frozenset(),
}
# The organisation may change its self-assessment only in these states.
EDITABLE = frozenset({S.draft, S.information_requested})
STATUS_LABELS = {
    S.draft: N_("Draft"),
    S.submitted: N_("Submitted"),
    S.screening: N_("Screening"),
    S.under_review: N_("Under review"),
    S.information_requested: N_("Information requested"),
    S.decided: N_("Decided"),
    S.withdrawn: N_("Withdrawn"),
}
ANSWER_LABELS = {
    AnswerValue.meets: N_("Meets"),
    AnswerValue.partly_meets: N_("Partly meets"),
    AnswerValue.does_not_meet: N_("Does not meet"),
    AnswerValue.not_applicable: N_("Not applicable"),
}
DECISION_LABELS = {Decision.granted: N_("Granted"), Decision.refused: N_("Refused")}
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


def get_application(session: Session, user: User, application_id: int) -> Application:
    """An application its organisation's people or the secretariat may read."""
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound()
    require_member(session, user, application.organization_id)
    return application


def _require_editor(session: Session, user: User, application: Application) -> None:
    require_member(session, user, application.organization_id, *EDITING_ROLES)


def _require_secretariat(user: User) -> None:
    if not user.has_role(Role.secretariat):
        raise Forbidden()


def list_applications(
    session: Session, *, organization_id: int | None = None, status: S | None = None
) -> list[Application]:
    """Applications, newest first, of one organisation or all."""
    query = select(Application).order_by(Application.updated_at.desc())
    if organization_id is not None:
        query = query.where(Application.organization_id == organization_id)
    if status is not None:
        query = query.where(Application.status == status)
    return list(session.scalars(query))


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


def next_actions(session: Session, application: Application, user: User) -> list[str]:
    """What the person may do next with the application (drives the page's buttons)."""
    member = membership(session, user, application.organization_id)
    editor = member is not None and member.role in EDITING_ROLES
    staff = user.has_role(Role.secretariat)
    status = application.status
    actions: list[str] = []
    if editor and status in EDITABLE:
        actions.append("edit")
    if editor and status == S.draft and _verified(session, application):
        actions.append("submit")
    if editor and status == S.information_requested:
        actions.append("answer_request")
    if staff and status == S.submitted:
        actions.append("start_screening")
    if staff and status == S.screening:
        actions += ["accept", "return"]
    if staff and status == S.under_review:
        actions.append("request_information")
    if editor and TRANSITIONS[status] and S.withdrawn in TRANSITIONS[status]:
        actions.append("withdraw")
    return actions


def _organization_of(session: Session, application: Application) -> Organization:
    organization = session.get(Organization, application.organization_id)
    assert organization is not None
    return organization


def _verified(session: Session, application: Application) -> bool:
    """Whether the secretariat has verified the applying organisation's identity."""
    return _organization_of(session, application).verification == OrgVerification.verified


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


def _transition(application: Application, target: ApplicationStatus) -> None:
    if target not in TRANSITIONS[application.status]:
        raise Conflict(
            N_("The application is %(status)s; it cannot become %(target)s."),
            status=STATUS_LABELS[application.status],
            target=STATUS_LABELS[target],
        )
    application.status = target


def _ensure_editable(application: Application) -> None:
    if application.status not in EDITABLE:
        raise Conflict(
            N_(
                "The application is %(status)s and its self-assessment is frozen; "
                "it can change only when the secretariat returns it or asks for information."
            ),
            status=STATUS_LABELS[application.status],
        )


def _log(
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
    _log(session, actor, "start", application, now, product=product.identifier)
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
    _log(session, actor, "answer", application, now, criteria=sorted(answers))


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
    store: FileStore,
    stream: BinaryIO,
    filename: str,
    *,
    room: int,
    max_file_bytes: int,
    max_total_bytes: int,
) -> StoredFile:
    """Store a file no larger than the single-file limit nor the room left in the total."""
    try:
        return store.save(stream, original_name=filename, max_bytes=min(max_file_bytes, room))
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
    _log(
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
    _log(session, actor, "add_evidence", application, now, criterion=criterion_code, url=url)
    return evidence


def remove_evidence(
    session: Session, *, actor: User, application: Application, evidence_id: int, now: dt.datetime
) -> None:
    """Remove a piece of evidence added in the current round (submitted ones stay)."""
    _require_editor(session, actor, application)
    _ensure_editable(application)
    evidence = session.get(Evidence, evidence_id)
    if evidence is None or evidence.application_id != application.id:
        raise NotFound()
    if evidence.revision != application.revision:
        raise Conflict(N_("Evidence already submitted stays on record; add new evidence instead."))
    session.delete(evidence)
    session.flush()
    _log(session, actor, "remove_evidence", application, now, criterion=evidence.criterion_code)


def evidence_for_download(
    session: Session, *, user: User, evidence_id: int
) -> tuple[Evidence, Application]:
    """A stored file the person may download: the organisation's people and the secretariat."""
    evidence = session.get(Evidence, evidence_id)
    if evidence is None or evidence.stored_key is None:
        raise NotFound()
    application = get_application(session, user, evidence.application_id)
    return evidence, application


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
    if application.status != S.draft:
        _transition(application, S.submitted)
    require_verified(_organization_of(session, application))
    items = _complete_checklist(session, application)
    _transition(application, S.submitted)
    application.submitted_at = now
    application.return_reason = None
    snapshot = _snapshot(session, application, items, actor, now)
    _log(session, actor, "submit", application, now)
    _notify_secretariat(session, application, "mail/application_submitted.txt", base_url, now)
    return snapshot


def withdraw_application(
    session: Session, *, actor: User, application: Application, reason: str, now: dt.datetime
) -> None:
    """The organisation withdraws its application before a decision."""
    _require_editor(session, actor, application)
    _transition(application, S.withdrawn)
    application.withdrawn_at = now
    _log(session, actor, "withdraw", application, now, reason=reason.strip())


# Changes by the secretariat ----------------------------------------------------------------


def start_screening(
    session: Session, *, actor: User, application: Application, now: dt.datetime
) -> None:
    """The secretariat starts checking that the application is complete."""
    _require_secretariat(actor)
    _transition(application, S.screening)
    _log(session, actor, "start_screening", application, now)


def accept_application(
    session: Session, *, actor: User, application: Application, base_url: str, now: dt.datetime
) -> None:
    """Screening passed: the application goes to review."""
    _require_secretariat(actor)
    _transition(application, S.under_review)
    _log(session, actor, "accept", application, now)
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
    _transition(application, S.draft)
    application.revision += 1
    application.return_reason = reason.strip()
    message = _add_message(session, application, actor, reason, is_request=True, now=now)
    _log(session, actor, "return", application, now, reason=reason.strip())
    _notify_organization(session, application, "mail/application_status.txt", base_url, now)
    return message


def request_information(
    session: Session,
    *,
    actor: User,
    application: Application,
    body: str,
    base_url: str,
    now: dt.datetime,
) -> Message:
    """The reviewers need more: the organisation may revise and must answer."""
    _require_secretariat(actor)
    if not body.strip():
        raise Invalid(fields={"body": N_("Write the request.")})
    _transition(application, S.information_requested)
    application.revision += 1
    message = _add_message(session, application, actor, body, is_request=True, now=now)
    _log(session, actor, "request_information", application, now)
    _notify_organization(session, application, "mail/application_status.txt", base_url, now)
    return message


def answer_request(
    session: Session,
    *,
    actor: User,
    application: Application,
    body: str,
    base_url: str,
    now: dt.datetime,
) -> ApplicationSnapshot:
    """The organisation answers a request; the revised self-assessment is frozen again."""
    _require_editor(session, actor, application)
    if application.status != S.information_requested:
        _transition(application, S.under_review)
    if not body.strip():
        raise Invalid(fields={"body": N_("Write your answer.")})
    items = _complete_checklist(session, application)
    _add_message(session, application, actor, body, is_request=False, now=now)
    _transition(application, S.under_review)
    snapshot = _snapshot(session, application, items, actor, now)
    _log(session, actor, "answer_request", application, now)
    _notify_secretariat(session, application, "mail/application_message.txt", base_url, now)
    return snapshot


def record_decision(
    session: Session,
    *,
    application: Application,
    decision: Decision,
    resolution: str,
    actor: User | None,
    base_url: str,
    now: dt.datetime,
) -> None:
    """Record the council's decision, taken by the resolution named (the council calls this)."""
    if not resolution.strip():
        raise Invalid(fields={"resolution": N_("A decision needs the resolution that took it.")})
    _transition(application, S.decided)
    application.decision = decision
    application.decision_resolution = resolution.strip()
    application.decided_at = now
    _log(session, actor, "decide", application, now, decision=decision.value, resolution=resolution)
    _notify_organization(session, application, "mail/application_status.txt", base_url, now)


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
    staff = actor.has_role(Role.secretariat) and member is None
    if not staff and (member is None or member.role not in EDITING_ROLES):
        raise NotFound() if member is None else Forbidden()
    if not body.strip():
        raise Invalid(fields={"body": N_("Write a message.")})
    if len(attachments) > max_files:
        raise Invalid(
            fields={"attachments": N_("A message may carry at most %(count)s files.")},
            count=max_files,
        )
    message = _add_message(session, application, actor, body, is_request=False, now=now)
    stored_keys: list[str] = []
    room = max_total_bytes - _used_bytes(session, application)
    try:
        for stream, filename in attachments:
            stored = _save_within(
                store,
                stream,
                filename,
                room=room,
                max_file_bytes=max_file_bytes,
                max_total_bytes=max_total_bytes,
            )
            room -= stored.size
            stored_keys.append(stored.key)
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
    except Invalid:
        for key in stored_keys:
            store.delete(key)
        raise
    session.flush()
    _log(session, actor, "message", application, now, attachments=len(attachments))
    if staff:
        _notify_organization(session, application, "mail/application_message.txt", base_url, now)
    else:
        _notify_secretariat(session, application, "mail/application_message.txt", base_url, now)
    return message


def thread(
    session: Session, application: Application
) -> list[tuple[Message, User, list[MessageAttachment]]]:
    """The messages of an application with their authors and attachments, oldest first."""
    rows = session.execute(
        select(Message, User)
        .join(User, User.id == Message.author_id)
        .where(Message.application_id == application.id)
        .order_by(Message.id)
    ).all()
    attachments: dict[int, list[MessageAttachment]] = {}
    ids = [m.id for m, _u in rows]
    if ids:
        for att in session.scalars(
            select(MessageAttachment).where(MessageAttachment.message_id.in_(ids))
        ):
            attachments.setdefault(att.message_id, []).append(att)
    return [(m, u, attachments.get(m.id, [])) for m, u in rows]


def attachment_for_download(
    session: Session, *, user: User, attachment_id: int
) -> tuple[MessageAttachment, Application]:
    """A message attachment the person may download."""
    attachment = session.get(MessageAttachment, attachment_id)
    if attachment is None:
        raise NotFound()
    message = session.get(Message, attachment.message_id)
    assert message is not None
    return attachment, get_application(session, user, message.application_id)


def _notify_organization(
    session: Session, application: Application, template: str, base_url: str, now: dt.datetime
) -> None:
    for person, role in members_of(session, application.organization_id):
        if role in (OrgRole.owner, OrgRole.editor):
            _mail(session, person, application, template, base_url, now)


def _notify_secretariat(
    session: Session, application: Application, template: str, base_url: str, now: dt.datetime
) -> None:
    for person in session.scalars(
        select(User).where(User.role == Role.secretariat, User.is_active.is_(True))
    ):
        _mail(session, person, application, template, base_url, now)


def _mail(
    session: Session,
    person: User,
    application: Application,
    template: str,
    base_url: str,
    now: dt.datetime,
) -> None:
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
        },
        now=now,
    )
