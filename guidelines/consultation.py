"""Public consultation on a draft: comments, their confirmation, moderation and dispositions."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.accounts import User, hash_token, normalize_email
from core.audit import record_event
from core.documents import republish_documents
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound
from core.i18n import local_date, translator
from core.mail import queue_mail
from core.pdf import render_pdf
from core.ratelimit import check_limit, record_hit
from core.templating import render_text
from guidelines.documents import load_version_tree
from guidelines.models import (
    CommenterType,
    ConsultationComment,
    ConsultationPeriodChange,
    ConsultationTally,
    Disposition,
    GuidelineVersion,
    PeriodChange,
    VersionStatus,
)
from guidelines.service import (
    Standing,
    can_view,
    closing_moment,
    consultation_closed,
    days_left,
    earliest_closing_day,
    find_version,
    is_staff,
    standing_of,
)
from guidelines.service import closes_on as last_day

BODY_MIN_CHARS = 10
BODY_MAX_CHARS = 5000
NAME_MAX_CHARS = 200
RESPONSE_MAX_CHARS = 10000
COMMENT_LIMIT = 5
COMMENT_WINDOW = dt.timedelta(hours=1)
IP_BUCKET = "comment-ip"
EMAIL_BUCKET = "comment-email"
REPORT_PDF_TEMPLATE = "guidelines/consultation_report.pdf.html"
# Comments shown per page of the consultation page (the report shows them all).
COMMENTS_PER_PAGE = 50
# Beyond any real consultation; keeps an absurd `page` from reaching the database.
MAX_PAGE = 1_000_000

COMMENTER_TYPE_LABELS = {
    CommenterType.individual: N_("Individual"),
    CommenterType.company: N_("Company"),
    CommenterType.academia: N_("Academia"),
    CommenterType.civil_society: N_("Civil society organisation"),
    CommenterType.government: N_("Government"),
}

DISPOSITION_LABELS = {
    Disposition.accepted: N_("Accepted"),
    Disposition.partly_accepted: N_("Partly accepted"),
    Disposition.not_accepted: N_("Not accepted"),
    Disposition.noted: N_("Noted"),
}

# Once a version is adopted (or abandoned) its consultation record is history.
DISPOSABLE_STATUSES = frozenset({VersionStatus.consultation, VersionStatus.draft})


@dataclass(frozen=True)
class Target:
    """What a comment can be about: the whole draft (empty code), a principle or a criterion."""

    code: str
    kind: str
    title_es: str = ""
    title_en: str = ""


@dataclass
class CommentGroup:
    """The published comments about one target, in the order they arrived."""

    target: Target
    comments: list[ConsultationComment] = field(default_factory=list)


@dataclass(frozen=True)
class CommentCounts:
    """How many comments a consultation received and where they stand."""

    published: int
    hidden: int
    awaiting_disposition: int
    unconfirmed: int
    by_type: dict[CommenterType, int]
    by_disposition: dict[Disposition, int]


@dataclass(frozen=True)
class ReportEntry:
    """One numbered comment of the consultation report."""

    number: int
    comment: ConsultationComment
    target: Target


@dataclass(frozen=True)
class ConsultationReport:
    """The public account of a consultation: every comment, its disposition and the totals."""

    version: GuidelineVersion
    entries: list[ReportEntry]
    counts: CommentCounts


WHOLE_DRAFT = Target(code="", kind="draft")


# Rules -------------------------------------------------------------------------------------


def comment_targets(version: GuidelineVersion) -> list[Target]:
    """The whole draft, then each principle followed by its criteria, in document order."""
    targets = [WHOLE_DRAFT]
    for principle in version.principles:
        targets.append(Target(principle.code, "principle", principle.title_es, principle.title_en))
        targets.extend(
            Target(c.code, "criterion", c.title_es, c.title_en) for c in principle.criteria
        )
    return targets


def _target_for(targets: dict[str, Target], code: str) -> Target:
    # A code removed from the text after the comment was made is still shown, by its code.
    return targets.get(code) or Target(code=code, kind="removed")


def is_open(version: GuidelineVersion, now: dt.datetime) -> bool:
    """Whether the public may comment on the version right now."""
    return (
        version.status == VersionStatus.consultation
        and version.consultation_closes_at is not None
        and now < version.consultation_closes_at
    )


def can_read_consultation(version: GuidelineVersion, viewer: User | None, now: dt.datetime) -> bool:
    """A consultation is read with its version; once closed it is public, whatever came after."""
    return version.consultation_opened_at is not None and (
        can_view(version, viewer) or consultation_closed(version, now)
    )


def get_consulted_version(
    session: Session, *, slug: str, number: str, viewer: User | None, now: dt.datetime
) -> GuidelineVersion:
    """A version put to public consultation whose record the viewer may read."""
    version = find_version(session, slug=slug, number=number)
    if not can_read_consultation(version, viewer, now):
        raise NotFound()
    return version


def can_see_report(version: GuidelineVersion, viewer: User | None, now: dt.datetime) -> bool:
    """The report is public once the consultation closed; the secretariat sees it any time."""
    return consultation_closed(version, now) or is_staff(viewer)


def can_record_dispositions(
    version: GuidelineVersion, viewer: User | None, now: dt.datetime
) -> bool:
    """Whether the viewer may answer comments: the secretariat, after closing, before adoption."""
    return (
        is_staff(viewer)
        and consultation_closed(version, now)
        and version.status in DISPOSABLE_STATUSES
    )


def can_hide_comments(version: GuidelineVersion, viewer: User | None) -> bool:
    """Whether the viewer may hide comments: the secretariat, until the record is closed."""
    return is_staff(viewer) and version.status in DISPOSABLE_STATUSES


def can_manage_period(version: GuidelineVersion, viewer: User | None, now: dt.datetime) -> bool:
    """Whether the viewer may extend or close the consultation: the secretariat, while open."""
    return is_staff(viewer) and is_open(version, now)


def ensure_report_visible(version: GuidelineVersion, viewer: User | None, now: dt.datetime) -> None:
    """Refuse the report of a consultation still open to anyone but the secretariat."""
    if not can_see_report(version, viewer, now):
        raise NotFound(N_("The consultation report is published once the consultation closes."))


def _require_staff(actor: User | None) -> User:
    if not is_staff(actor):
        raise Forbidden()
    assert actor is not None
    return actor


def _comment_field_errors(
    version: GuidelineVersion,
    *,
    target_code: str,
    email: str,
    commenter_type: str,
    author_name: str,
    organisation: str,
    body: str,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if target_code not in {t.code for t in comment_targets(version)}:
        errors["target_code"] = N_("Choose what your comment is about from the list.")
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        errors["email"] = N_("Enter a valid e-mail address.")
    if commenter_type not in {t.value for t in CommenterType}:
        errors["commenter_type"] = N_("Choose one of the options.")
    for name, value in (("author_name", author_name), ("organisation", organisation)):
        if len(value) > NAME_MAX_CHARS:
            errors[name] = N_("This text is too long.")
    if len(body) < BODY_MIN_CHARS:
        errors["body"] = N_("Write at least %(min)s characters.")
    elif len(body) > BODY_MAX_CHARS:
        errors["body"] = N_("Write at most %(max)s characters.")
    return errors


def _check_rate(session: Session, *, client_ip: str, email: str, now: dt.datetime) -> None:
    for bucket, key in ((IP_BUCKET, client_ip), (EMAIL_BUCKET, email)):
        check_limit(
            session, bucket=bucket, key=key, limit=COMMENT_LIMIT, window=COMMENT_WINDOW, now=now
        )


# Verbs -------------------------------------------------------------------------------------


def submit_comment(
    session: Session,
    *,
    version: GuidelineVersion,
    target_code: str,
    author_name: str,
    email: str,
    commenter_type: CommenterType | str,
    organisation: str,
    body: str,
    locale: str,
    client_ip: str,
    honeypot: str,
    base_url: str,
    now: dt.datetime,
) -> ConsultationComment:
    """Receive a public comment; it is published once its author confirms the e-mailed link."""
    if honeypot.strip():
        # A field people never see was filled in: a robot. Say little and keep nothing.
        raise Invalid(N_("Your comment could not be accepted."))
    if not is_open(version, now):
        raise Conflict(N_("The public consultation on this version is not open."))
    target_code, author_name, organisation = (
        target_code.strip(),
        author_name.strip(),
        organisation.strip(),
    )
    email, body = normalize_email(email), body.strip()
    errors = _comment_field_errors(
        version,
        target_code=target_code,
        email=email,
        commenter_type=str(commenter_type),
        author_name=author_name,
        organisation=organisation,
        body=body,
    )
    if errors:
        raise Invalid(fields=errors, min=BODY_MIN_CHARS, max=BODY_MAX_CHARS)
    _check_rate(session, client_ip=client_ip, email=email, now=now)
    token = secrets.token_urlsafe(32)
    comment = ConsultationComment(
        version_id=version.id,
        target_code=target_code,
        author_name=author_name,
        email=email,
        commenter_type=CommenterType(str(commenter_type)),
        organisation=organisation,
        body=body,
        locale=locale,
        created_at=now,
        confirm_token_hash=hash_token(token),
        changed_codes=[],
    )
    session.add(comment)
    session.flush()
    _add_to_tally(session, comment, tally_standing(comment), 1)
    for bucket, key in ((IP_BUCKET, client_ip), (EMAIL_BUCKET, email)):
        record_hit(session, bucket=bucket, key=key, now=now)
    queue_mail(
        session,
        to=email,
        template="mail/comment_confirmation.txt",
        locale=locale,
        context={
            "author_name": author_name,
            "title_es": version.guideline.title_es,
            "title_en": version.guideline.title_en,
            "number": version.number,
            "link": f"{base_url.rstrip('/')}/consultation/confirm/{token}",
        },
        now=now,
    )
    record_event(
        session,
        actor=None,
        action="consultation_comment.submit",
        object_type="consultation_comment",
        object_id=comment.id,
        summary={
            "version_id": version.id,
            "number": version.number,
            "target_code": target_code,
            "commenter_type": comment.commenter_type.value,
        },
        now=now,
    )
    return comment


def confirm_comment(session: Session, *, token: str, now: dt.datetime) -> ConsultationComment:
    """Publish a comment when its author opens the e-mailed link (a second click is harmless)."""
    comment = session.scalar(
        select(ConsultationComment).where(
            ConsultationComment.confirm_token_hash == hash_token(token)
        )
    )
    if comment is None:
        raise Invalid(N_("This confirmation link is not valid."))
    if comment.confirmed_at is not None:
        return comment
    version = session.get(GuidelineVersion, comment.version_id)
    if version is None or version.status not in DISPOSABLE_STATUSES:
        raise Conflict(
            N_("The consultation on this version has ended; the comment was not published.")
        )
    comment.confirmed_at = now
    _move_in_tally(session, comment, UNCONFIRMED)
    session.flush()
    record_event(
        session,
        actor=None,
        action="consultation_comment.confirm",
        object_type="consultation_comment",
        object_id=comment.id,
        summary={"version_id": comment.version_id},
        now=now,
    )
    # What anonymous readers of the consultation see has changed.
    republish_documents(session, now=now)
    return comment


def _get(session: Session, comment_id: int) -> ConsultationComment:
    comment = session.get(ConsultationComment, comment_id)
    if comment is None:
        raise NotFound()
    return comment


def get_comment(
    session: Session, *, version: GuidelineVersion, comment_id: int
) -> ConsultationComment:
    """A comment on this version (any other id is unknown here)."""
    comment = _get(session, comment_id)
    if comment.version_id != version.id:
        raise NotFound()
    return comment


def hide_comment(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    comment_id: int,
    reason: str,
    now: dt.datetime,
) -> ConsultationComment:
    """Withdraw a comment's text from the public pages; it stays counted, with the reason shown."""
    _require_staff(actor)
    comment = get_comment(session, version=version, comment_id=comment_id)
    if version.status not in DISPOSABLE_STATUSES:
        raise Conflict(N_("This version's consultation record is closed."))
    if comment.confirmed_at is None:
        raise Conflict(N_("This comment was never confirmed by its author."))
    if comment.hidden_at is not None:
        raise Conflict(N_("This comment is already hidden."))
    reason = reason.strip()
    if not reason:
        raise Invalid(fields={"reason": N_("Say why the comment is hidden.")})
    if len(reason) > RESPONSE_MAX_CHARS:
        raise Invalid(fields={"reason": N_("This text is too long.")})
    before = tally_standing(comment)
    comment.hidden_at = now
    comment.hidden_reason = reason
    comment.hidden_by_id = actor.id
    _move_in_tally(session, comment, before)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="consultation_comment.hide",
        object_type="consultation_comment",
        object_id=comment.id,
        summary={"version_id": comment.version_id, "reason": reason},
        now=now,
    )
    # What anonymous readers of the consultation see has changed.
    republish_documents(session, now=now)
    return comment


def _disposition_errors(
    version: GuidelineVersion, disposition: str, response: str, changed_codes: Sequence[str]
) -> tuple[dict[str, str], list[str]]:
    errors: dict[str, str] = {}
    if disposition not in {d.value for d in Disposition}:
        errors["disposition"] = N_("Choose one of the options.")
    if not response:
        errors["response"] = N_("Write the secretariat's response to the comment.")
    elif len(response) > RESPONSE_MAX_CHARS:
        errors["response"] = N_("This text is too long.")
    known = {t.code for t in comment_targets(version)} - {""}
    unknown = [code for code in changed_codes if code not in known]
    if unknown:
        errors["changed_codes"] = N_("These codes are not in the text of the version: %(codes)s.")
    return errors, unknown


def record_disposition(
    session: Session,
    *,
    actor: User,
    comment_id: int,
    disposition: Disposition | str,
    response: str,
    changed_codes: Sequence[str],
    now: dt.datetime,
    base_url: str = "",
) -> ConsultationComment:
    """Answer a published comment after the consultation closed; a later answer revises it.

    Its author is mailed the answer, in the language they commented in.
    """
    _require_staff(actor)
    comment = _get(session, comment_id)
    version = load_version_tree(session, comment.version_id)
    if not consultation_closed(version, now):
        raise Conflict(N_("Dispositions are recorded once the consultation has closed."))
    if version.status not in DISPOSABLE_STATUSES:
        raise Conflict(N_("This version's consultation record is closed."))
    if comment.confirmed_at is None:
        raise Conflict(N_("This comment was never confirmed by its author."))
    if comment.hidden_at is not None:
        raise Conflict(N_("A hidden comment needs no disposition."))
    codes = list(dict.fromkeys(code.strip() for code in changed_codes if code.strip()))
    response = response.strip()
    errors, unknown = _disposition_errors(version, str(disposition), response, codes)
    if errors:
        raise Invalid(fields=errors, codes=", ".join(unknown))
    revised = comment.disposition is not None
    before = tally_standing(comment)
    comment.disposition = Disposition(str(disposition))
    _move_in_tally(session, comment, before)
    comment.response = response
    comment.changed_codes = codes
    comment.disposed_at = now
    comment.disposed_by_id = actor.id
    session.flush()
    record_event(
        session,
        actor=actor,
        action="consultation_comment.record_disposition",
        object_type="consultation_comment",
        object_id=comment.id,
        summary={
            "version_id": comment.version_id,
            "disposition": comment.disposition.value,
            "changed_codes": codes,
            "revised": revised,
        },
        now=now,
    )
    queue_mail(
        session,
        to=comment.email,
        template="mail/comment_disposition.txt",
        locale=comment.locale,
        context={
            "author_name": comment.author_name,
            "title_es": version.guideline.title_es,
            "title_en": version.guideline.title_en,
            "number": version.number,
            "disposition": DISPOSITION_LABELS[comment.disposition],
            "response": response,
            "changed_codes": codes,
            "revised": revised,
            "link": f"{_version_link(base_url, version)}/consultation",
        },
        now=now,
    )
    # What anonymous readers of the consultation see has changed.
    republish_documents(session, now=now)
    return comment


def _version_link(base_url: str, version: GuidelineVersion) -> str:
    return f"{base_url.rstrip('/')}/guidelines/{version.guideline.slug}/{version.number}"


def _period_reason_errors(reason: str) -> dict[str, str]:
    reason = reason.strip()
    if not reason:
        return {"reason": N_("Give the public reason for the change.")}
    if len(reason) > RESPONSE_MAX_CHARS:
        return {"reason": N_("This text is too long.")}
    return {}


def _change_period(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    kind: PeriodChange,
    closes_at: dt.datetime,
    reason: str,
    now: dt.datetime,
) -> ConsultationPeriodChange:
    assert version.consultation_closes_at is not None
    change = ConsultationPeriodChange(
        version_id=version.id,
        kind=kind,
        old_closes_at=version.consultation_closes_at,
        new_closes_at=closes_at,
        reason=reason,
        actor_id=actor.id,
        created_at=now,
    )
    session.add(change)
    version.consultation_closes_at = closes_at
    version.updated_at = now
    session.flush()
    record_event(
        session,
        actor=actor,
        action=f"guideline_version.consultation_{kind.value}",
        object_type="guideline_version",
        object_id=version.id,
        summary={
            "number": version.number,
            "old_closes_at": change.old_closes_at.isoformat(),
            "closes_at": closes_at.isoformat(),
            "reason": reason,
        },
        now=now,
    )
    # What anonymous readers of the consultation see has changed.
    republish_documents(session, now=now)
    return change


def last_day_of(closes_at: dt.datetime) -> dt.date:
    """The last day, in Mexico City, of a period that ends at `closes_at`."""
    return local_date(closes_at - dt.timedelta(microseconds=1))


def commenter_addresses(session: Session, version: GuidelineVersion) -> dict[str, str]:
    """Every address that confirmed a comment on the version, with the language it last used."""
    rows = session.execute(
        select(ConsultationComment.email, ConsultationComment.locale)
        .where(
            ConsultationComment.version_id == version.id,
            ConsultationComment.confirmed_at.is_not(None),
        )
        .order_by(ConsultationComment.created_at, ConsultationComment.id)
    )
    return {email: locale for email, locale in rows}  # noqa: C416 (rows of two columns)


def extend_consultation(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    closes_on: dt.date,
    reason: str,
    base_url: str,
    now: dt.datetime,
) -> ConsultationPeriodChange:
    """Move an open consultation's closing day later, with a public reason mailed to commenters."""
    _require_staff(actor)
    if not is_open(version, now):
        raise Conflict(N_("Only an open consultation can be extended."))
    assert version.consultation_closes_at is not None
    closes_at = closing_moment(closes_on)
    errors = _period_reason_errors(reason)
    if closes_at <= version.consultation_closes_at:
        errors["closes_on"] = N_("Choose a day after the current closing day, %(date)s.")
    if errors:
        current = last_day(version)
        raise Invalid(fields=errors, date=current.isoformat() if current else "")
    reason = reason.strip()
    change = _change_period(
        session,
        actor=actor,
        version=version,
        kind=PeriodChange.extended,
        closes_at=closes_at,
        reason=reason,
        now=now,
    )
    link = f"{base_url.rstrip('/')}/guidelines/{version.guideline.slug}/{version.number}"
    for email, locale in commenter_addresses(session, version).items():
        queue_mail(
            session,
            to=email,
            template="mail/consultation_extended.txt",
            locale=locale,
            context={
                "title_es": version.guideline.title_es,
                "title_en": version.guideline.title_en,
                "number": version.number,
                "closes_on": closes_on,
                "reason": reason,
                "link": f"{link}/consultation",
            },
            now=now,
        )
    return change


def close_consultation(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    reason: str,
    min_days: int,
    now: dt.datetime,
    base_url: str = "",
) -> ConsultationPeriodChange:
    """End an open consultation now, before its closing day, with a public reason mailed to
    commenters."""
    _require_staff(actor)
    if not is_open(version, now):
        raise Conflict(N_("Only an open consultation can be closed early."))
    assert version.consultation_opened_at is not None
    errors = _period_reason_errors(reason)
    if errors:
        raise Invalid(fields=errors)
    if now - version.consultation_opened_at < dt.timedelta(days=min_days):
        raise Conflict(
            N_(
                "A public consultation lasts at least %(days)s days: this one can close "
                "from %(date)s."
            ),
            days=min_days,
            date=earliest_closing_day(version.consultation_opened_at, min_days).isoformat(),
        )
    change = _change_period(
        session,
        actor=actor,
        version=version,
        kind=PeriodChange.closed_early,
        closes_at=now,
        reason=reason.strip(),
        now=now,
    )
    for email, locale in commenter_addresses(session, version).items():
        queue_mail(
            session,
            to=email,
            template="mail/consultation_closed.txt",
            locale=locale,
            context={
                "title_es": version.guideline.title_es,
                "title_en": version.guideline.title_en,
                "number": version.number,
                "closed_at": now,
                "reason": change.reason,
                "link": f"{_version_link(base_url, version)}/consultation",
            },
            now=now,
        )
    return change


# Queries -----------------------------------------------------------------------------------


def period_changes(session: Session, version: GuidelineVersion) -> list[ConsultationPeriodChange]:
    """The extensions and early close of a consultation, oldest first (they are public)."""
    return list(
        session.scalars(
            select(ConsultationPeriodChange)
            .where(ConsultationPeriodChange.version_id == version.id)
            .order_by(ConsultationPeriodChange.id)
        )
    )


def _published_on(version: GuidelineVersion) -> tuple[ColumnElement[bool], ...]:
    """The conditions of a version's published (confirmed) comments."""
    return (
        ConsultationComment.version_id == version.id,
        ConsultationComment.confirmed_at.is_not(None),
    )


def public_comments_query(version: GuidelineVersion) -> Select[ConsultationComment]:
    """Confirmed comments on a version, oldest first (hidden ones included, flagged)."""
    return (
        select(ConsultationComment)
        .where(*_published_on(version))
        .order_by(ConsultationComment.created_at, ConsultationComment.id)
    )


def public_comments(session: Session, version: GuidelineVersion) -> list[ConsultationComment]:
    """Confirmed comments on a version, oldest first (hidden ones included, flagged)."""
    return list(session.scalars(public_comments_query(version)))


@dataclass(frozen=True)
class TargetCount:
    """A part of the draft that received comments, and how many (hidden ones included)."""

    target: Target
    count: int


@dataclass(frozen=True)
class CommentPage:
    """One page of a consultation's published comments, of one target or of all of them."""

    # None: every target; "" the whole draft; else a principle or criterion code.
    target_code: str | None
    page: int
    page_size: int
    total: int
    groups: list[CommentGroup]
    # The public number of each comment shown (by id): its place in the order of arrival.
    numbers: dict[int, int]

    @property
    def pages(self) -> int:
        """How many pages the comments fill (at least one)."""
        return max(1, -(-self.total // self.page_size))

    @property
    def has_previous(self) -> bool:
        """Whether a page comes before this one."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Whether a page comes after this one."""
        return self.page < self.pages


@dataclass(frozen=True)
class ConsultationView:
    """A consultation as its page shows it: the record, the counts, what the viewer may do."""

    version: GuidelineVersion
    standing: Standing
    text_visible: bool
    period_changes: list[ConsultationPeriodChange]
    comments: CommentPage
    targets: list[TargetCount]
    counts: CommentCounts
    is_open: bool
    days_left: int
    can_manage_period: bool
    can_moderate: bool
    can_hide: bool
    can_dispose: bool
    can_see_report: bool


def consultation_view(
    session: Session,
    version: GuidelineVersion,
    *,
    viewer: User | None,
    now: dt.datetime,
    target_code: str | None = None,
    page: int = 1,
) -> ConsultationView:
    """Everything the page of a version's consultation reads: one page of one target's comments."""
    counts = comment_counts(session, version)
    targets = target_counts(session, version)
    return ConsultationView(
        version=version,
        standing=standing_of(session, version, now),
        text_visible=can_view(version, viewer),
        period_changes=period_changes(session, version),
        comments=comment_page(
            session, version, target_code=target_code, page=page, targets=targets, counts=counts
        ),
        targets=targets,
        counts=counts,
        is_open=is_open(version, now),
        days_left=days_left(version, now),
        can_manage_period=can_manage_period(version, viewer, now),
        can_moderate=is_staff(viewer),
        can_hide=can_hide_comments(version, viewer),
        can_dispose=can_record_dispositions(version, viewer, now),
        can_see_report=can_see_report(version, viewer, now),
    )


# A comment's standing in the tallies, besides the disposition it was given.
UNCONFIRMED, HIDDEN, AWAITING = "unconfirmed", "hidden", "awaiting"


def tally_standing(comment: ConsultationComment) -> str:
    """Where a comment is counted: unconfirmed, hidden, awaiting a disposition, or its answer."""
    if comment.confirmed_at is None:
        return UNCONFIRMED
    if comment.hidden_at is not None:
        return HIDDEN
    if comment.disposition is None:
        return AWAITING
    return Disposition(comment.disposition).value


def _add_to_tally(
    session: Session, comment: ConsultationComment, standing: str, change: int
) -> None:
    """Count a comment in (or, with -1, out of) its tally row, making the row if it is new."""
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    row = make_insert(ConsultationTally).values(
        version_id=comment.version_id,
        target_code=comment.target_code,
        commenter_type=comment.commenter_type,
        standing=standing,
        count=change,
    )
    # An upsert: two first comments of a kind confirmed at once both count, neither fails.
    session.execute(
        row.on_conflict_do_update(
            index_elements=["version_id", "target_code", "commenter_type", "standing"],
            set_={"count": ConsultationTally.count + change},
        )
    )


def _move_in_tally(session: Session, comment: ConsultationComment, before: str) -> None:
    """Count a comment under its standing now instead of the one it had `before`."""
    after = tally_standing(comment)
    if after != before:
        _add_to_tally(session, comment, before, -1)
        _add_to_tally(session, comment, after, 1)


def recount_tallies(session: Session, version_id: int) -> None:
    """Count a version's comments again from scratch (after rows were written in bulk)."""
    comment = ConsultationComment
    standing = case(
        (comment.confirmed_at.is_(None), literal(UNCONFIRMED)),
        (comment.hidden_at.is_not(None), literal(HIDDEN)),
        (comment.disposition.is_(None), literal(AWAITING)),
        else_=comment.disposition,
    )
    session.execute(delete(ConsultationTally).where(ConsultationTally.version_id == version_id))
    grouped = (
        select(
            comment.version_id, comment.target_code, comment.commenter_type, standing, func.count()
        )
        .where(comment.version_id == version_id)
        .group_by(comment.version_id, comment.target_code, comment.commenter_type, standing)
    )
    session.execute(
        insert(ConsultationTally).from_select(
            ["version_id", "target_code", "commenter_type", "standing", "count"], grouped
        )
    )


def comment_counts(session: Session, version: GuidelineVersion) -> CommentCounts:
    """Published, hidden and undisposed comments, and the published ones by type and disposition."""
    # Read from the tallies the verbs keep: a few rows, whatever the number of comments.
    rows = session.execute(
        select(
            ConsultationTally.commenter_type,
            ConsultationTally.standing,
            func.sum(ConsultationTally.count),
        )
        .where(ConsultationTally.version_id == version.id, ConsultationTally.count > 0)
        .group_by(ConsultationTally.commenter_type, ConsultationTally.standing)
    ).all()
    by_type = dict.fromkeys(CommenterType, 0)
    by_disposition = dict.fromkeys(Disposition, 0)
    published = hidden_count = awaiting = unconfirmed = 0
    for row_kind, standing, count in rows:
        if standing == UNCONFIRMED:
            unconfirmed += count
            continue
        published += count
        by_type[CommenterType(row_kind)] += count
        if standing == HIDDEN:
            hidden_count += count
        elif standing == AWAITING:
            awaiting += count
        else:
            by_disposition[Disposition(standing)] += count
    return CommentCounts(
        published=published,
        hidden=hidden_count,
        awaiting_disposition=awaiting,
        unconfirmed=unconfirmed,
        by_type=by_type,
        by_disposition=by_disposition,
    )


def target_counts(session: Session, version: GuidelineVersion) -> list[TargetCount]:
    """The parts of the draft that received published comments, in document order, with counts."""
    rows = session.execute(
        select(ConsultationTally.target_code, func.sum(ConsultationTally.count))
        .where(
            ConsultationTally.version_id == version.id,
            ConsultationTally.standing != UNCONFIRMED,
            ConsultationTally.count > 0,
        )
        .group_by(ConsultationTally.target_code)
    ).all()
    counts: dict[str, int] = {code: count for code, count in rows}  # noqa: C416 (two columns)
    known = comment_targets(version)
    listed = [TargetCount(t, counts.pop(t.code)) for t in known if t.code in counts]
    # Codes removed from the text after they were commented on come last, by code.
    return listed + [TargetCount(Target(code, "removed"), counts[code]) for code in sorted(counts)]


def comment_page(
    session: Session,
    version: GuidelineVersion,
    *,
    target_code: str | None,
    page: int,
    targets: Sequence[TargetCount],
    counts: CommentCounts,
    page_size: int = COMMENTS_PER_PAGE,
) -> CommentPage:
    """One page of the published comments, of every target or of one, oldest first, numbered."""
    page = min(max(page, 1), MAX_PAGE)
    offset = (page - 1) * page_size
    if target_code is None:
        rows = list(session.scalars(public_comments_query(version).limit(page_size).offset(offset)))
        numbered = [(comment, offset + index) for index, comment in enumerate(rows, start=1)]
        total = counts.published
    else:
        numbered = _numbered_comments_of(session, version, target_code, page_size, offset)
        total = next((t.count for t in targets if t.target.code == target_code), 0)
    comments = [comment for comment, _number in numbered]
    return CommentPage(
        target_code=target_code,
        page=page,
        page_size=page_size,
        total=total,
        groups=group_by_target(version, comments),
        numbers={comment.id: number for comment, number in numbered},
    )


def _arrived_before(comment: ConsultationComment) -> ColumnElement[bool]:
    """Comments that arrived before this one (ties broken by id, as the public numbers are)."""
    return or_(
        ConsultationComment.created_at < comment.created_at,
        and_(
            ConsultationComment.created_at == comment.created_at,
            ConsultationComment.id < comment.id,
        ),
    )


def _numbered_comments_of(
    session: Session, version: GuidelineVersion, target_code: str, limit: int, offset: int
) -> list[tuple[ConsultationComment, int]]:
    """One target's comments with their public numbers, counted over every target's comments."""
    comments = list(
        session.scalars(
            public_comments_query(version)
            .where(ConsultationComment.target_code == target_code)
            .limit(limit)
            .offset(offset)
        )
    )
    if not comments:
        return []
    first, last = comments[0], comments[-1]
    # Numbers from the index of arrival: those before the page, then the page's stretch of it.
    before = session.scalar(
        select(func.count())
        .select_from(ConsultationComment)
        .where(*_published_on(version), _arrived_before(first))
    )
    # Places within the page's stretch of arrivals, counted by the database from the index.
    stretch = (
        select(
            ConsultationComment.id,
            func.row_number()
            .over(order_by=(ConsultationComment.created_at, ConsultationComment.id))
            .label("place"),
        )
        .where(
            *_published_on(version),
            ~_arrived_before(first),
            or_(ConsultationComment.id == last.id, _arrived_before(last)),
        )
        .subquery()
    )
    rows = session.execute(
        select(stretch.c.id, stretch.c.place).where(stretch.c.id.in_([c.id for c in comments]))
    )
    place: dict[int, int] = {comment_id: number for comment_id, number in rows}  # noqa: C416
    return [(comment, (before or 0) + place[comment.id]) for comment in comments]


def place_of_comment(
    session: Session,
    *,
    version: GuidelineVersion,
    comment_id: int,
    page_size: int = COMMENTS_PER_PAGE,
) -> tuple[str | None, int]:
    """The target and the page of its comments where a comment is shown (all, page 1: unknown)."""
    comment = session.get(ConsultationComment, comment_id)
    if comment is None or comment.version_id != version.id or comment.confirmed_at is None:
        return None, 1
    before = session.scalar(
        select(func.count()).where(
            ConsultationComment.version_id == comment.version_id,
            ConsultationComment.confirmed_at.is_not(None),
            ConsultationComment.target_code == comment.target_code,
            _arrived_before(comment),
        )
    )
    return comment.target_code, (before or 0) // page_size + 1


def group_by_target(
    version: GuidelineVersion, comments: Sequence[ConsultationComment]
) -> list[CommentGroup]:
    """Comments under the part of the draft they are about, in document order."""
    targets = comment_targets(version)
    groups = {t.code: CommentGroup(t) for t in targets}
    for comment in comments:
        if comment.target_code not in groups:
            groups[comment.target_code] = CommentGroup(Target(comment.target_code, "removed"))
        groups[comment.target_code].comments.append(comment)
    return [group for group in groups.values() if group.comments]


def consultation_report(session: Session, version: GuidelineVersion) -> ConsultationReport:
    """Every published comment numbered in arrival order, with its target, and the totals."""
    targets = {t.code: t for t in comment_targets(version)}
    entries = [
        ReportEntry(number, comment, _target_for(targets, comment.target_code))
        for number, comment in enumerate(public_comments(session, version), start=1)
    ]
    return ConsultationReport(
        version=version, entries=entries, counts=comment_counts(session, version)
    )


def visible_report(
    session: Session, version: GuidelineVersion, *, viewer: User | None, now: dt.datetime
) -> ConsultationReport:
    """The consultation report of a version, if the viewer may read it yet."""
    ensure_report_visible(version, viewer, now)
    return consultation_report(session, version)


def render_report_pdf(
    report: ConsultationReport, *, locale: str, version_link: str, generated_on: dt.date
) -> bytes:
    """The consultation report as an A4 PDF in the reader's language."""
    tr = translator(locale)
    html = render_text(
        REPORT_PDF_TEMPLATE,
        tr,
        report=report,
        version=report.version,
        html_lang=tr.html_lang,
        version_link=version_link,
        generated_on=generated_on,
        commenter_type_labels=COMMENTER_TYPE_LABELS,
        disposition_labels=DISPOSITION_LABELS,
    )
    return render_pdf(html)
