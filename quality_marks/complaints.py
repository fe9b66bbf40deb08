"""Complaints about certified products: received from anyone, confirmed by e-mail, triaged.

The secretariat dismisses a complaint, asks the holder to answer, or opens a surveillance review
that may lead to a suspension ballot; what became of it enters the certificate's public history,
told without anything of the complainant's.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import User, hash_token, normalize_email
from core.audit import record_event
from core.errors import N_, Conflict, Invalid, NotFound
from core.i18n import local_date
from core.mail import queue_mail
from core.ratelimit import check_limit, record_hit
from quality_marks.certificate_history import reason_in_both, record_registry_event
from quality_marks.certificate_models import Certificate, RegistryEventKind
from quality_marks.complaint_models import Complaint, ComplaintOutcome, ComplaintStatus
from quality_marks.models import OrganizationMember, OrgRole
from quality_marks.verification import issued_certificate

BODY_MIN_CHARS = 20
BODY_MAX_CHARS = 5000
NAME_MAX_CHARS = 200
NOTE_MAX_CHARS = 5000
# Complaints one address or one e-mail may send within the window.
COMPLAINT_LIMIT = 3
COMPLAINT_WINDOW = dt.timedelta(hours=1)
IP_BUCKET = "complaint-ip"
EMAIL_BUCKET = "complaint-email"
# The shortest and longest time a holder is given to answer.
MIN_REPLY_DAYS = 5
MAX_REPLY_DAYS = 90
COMPLAINTS_PER_PAGE = 50

STATUS_LABELS = {
    ComplaintStatus.received: N_("Received (not confirmed)"),
    ComplaintStatus.confirmed: N_("Confirmed, to triage"),
    ComplaintStatus.dismissed: N_("Dismissed"),
    ComplaintStatus.holder_asked: N_("Holder asked to answer"),
    ComplaintStatus.surveillance: N_("Surveillance review open"),
    ComplaintStatus.closed: N_("Closed"),
}
OUTCOME_LABELS = {
    ComplaintOutcome.unfounded: N_("The review found the product conforms"),
    ComplaintOutcome.corrected: N_("The holder corrected the problem"),
    ComplaintOutcome.suspension: N_("The council was asked to suspend the certificate"),
}

# What the secretariat may do next from each status: the triage's one table (the page's buttons).
TRANSITIONS: dict[ComplaintStatus, frozenset[str]] = {
    ComplaintStatus.received: frozenset(),
    ComplaintStatus.confirmed: frozenset({"dismiss", "ask_holder", "open_surveillance"}),
    ComplaintStatus.holder_asked: frozenset({"dismiss", "open_surveillance", "close"}),
    ComplaintStatus.surveillance: frozenset({"close"}),
    ComplaintStatus.dismissed: frozenset(),
    ComplaintStatus.closed: frozenset(),
}

# The public words of each triage step: never anything the complainant wrote or is.
DISMISSED_REASON = N_("A complaint about this product was examined and dismissed.")
SURVEILLANCE_REASON = N_("A complaint led the council to open a surveillance review.")
CLOSED_REASONS = {
    ComplaintOutcome.unfounded: N_(
        "A complaint about this product was closed: the review found the product conforms."
    ),
    ComplaintOutcome.corrected: N_(
        "A complaint about this product was closed: the holder corrected the problem."
    ),
    ComplaintOutcome.suspension: N_(
        "A complaint about this product was closed: the council was asked to suspend the "
        "certificate."
    ),
}


def _allow(complaint: Complaint, verb: str) -> None:
    if verb not in TRANSITIONS[complaint.status]:
        raise Conflict(N_("This complaint cannot take that step from where it stands."))


def _field_errors(*, email: str, author_name: str, body: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        errors["email"] = N_("Enter a valid e-mail address.")
    if len(author_name) > NAME_MAX_CHARS:
        errors["author_name"] = N_("This text is too long.")
    if len(body) < BODY_MIN_CHARS:
        errors["body"] = N_("Write at least %(min)s characters.")
    elif len(body) > BODY_MAX_CHARS:
        errors["body"] = N_("Write at most %(max)s characters.")
    return errors


def submit_complaint(
    session: Session,
    *,
    number: str,
    author_name: str,
    email: str,
    body: str,
    locale: str,
    client_ip: str,
    honeypot: str,
    base_url: str,
    now: dt.datetime,
) -> Complaint:
    """Receive a complaint about a certified product; it counts once its author confirms it."""
    certificate = issued_certificate(session, number)
    if honeypot.strip():
        # A field people never see was filled in: a robot. Say little and keep nothing.
        raise Invalid(N_("Your complaint could not be accepted."))
    author_name, email, body = author_name.strip(), normalize_email(email), body.strip()
    errors = _field_errors(email=email, author_name=author_name, body=body)
    if errors:
        raise Invalid(fields=errors, min=BODY_MIN_CHARS, max=BODY_MAX_CHARS)
    for bucket, key in ((IP_BUCKET, client_ip), (EMAIL_BUCKET, email)):
        check_limit(
            session,
            bucket=bucket,
            key=key,
            limit=COMPLAINT_LIMIT,
            window=COMPLAINT_WINDOW,
            now=now,
        )
    token = secrets.token_urlsafe(32)
    complaint = Complaint(
        certificate_id=certificate.id,
        status=ComplaintStatus.received,
        author_name=author_name,
        email=email,
        body=body,
        locale=locale,
        created_at=now,
        confirm_token_hash=hash_token(token),
        status_changed_at=now,
        dismissal_reason="",
        holder_message="",
        outcome_note="",
    )
    session.add(complaint)
    session.flush()
    for bucket, key in ((IP_BUCKET, client_ip), (EMAIL_BUCKET, email)):
        record_hit(session, bucket=bucket, key=key, now=now)
    queue_mail(
        session,
        to=email,
        template="mail/complaint_confirmation.txt",
        locale=locale,
        context={
            "author_name": author_name,
            "number": certificate.number,
            "product_name": certificate.payload.get("product_name", ""),
            "link": f"{base_url.rstrip('/')}/complaints/confirm/{token}",
        },
        now=now,
    )
    record_event(
        session,
        actor=None,
        action="complaint.submit",
        object_type="complaint",
        object_id=complaint.id,
        summary={"certificate": certificate.number},
        now=now,
    )
    return complaint


def confirm_complaint(session: Session, *, token: str, now: dt.datetime) -> Complaint:
    """Count a complaint when its author opens the e-mailed link (a second click is harmless)."""
    complaint = session.scalar(
        select(Complaint).where(Complaint.confirm_token_hash == hash_token(token))
    )
    if complaint is None:
        raise Invalid(N_("This confirmation link is not valid."))
    if complaint.status != ComplaintStatus.received:
        return complaint
    complaint.status = ComplaintStatus.confirmed
    complaint.confirmed_at = complaint.status_changed_at = now
    session.flush()
    record_event(
        session,
        actor=None,
        action="complaint.confirm",
        object_type="complaint",
        object_id=complaint.id,
        now=now,
    )
    return complaint


def get_complaint(session: Session, complaint_id: int) -> Complaint:
    """A complaint, for the secretariat."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound()
    return complaint


def certificate_of(session: Session, complaint: Complaint) -> Certificate:
    """The certificate a complaint is about."""
    certificate = session.get(Certificate, complaint.certificate_id)
    assert certificate is not None  # a foreign key
    return certificate


def list_complaints(
    session: Session, *, status: ComplaintStatus | None, page: int = 1
) -> tuple[list[tuple[Complaint, str]], int]:
    """The triage list, newest first, with each complaint's certificate number; and the total.

    Unconfirmed complaints are shown only when asked for: they do not count yet.
    """
    wanted = (
        Complaint.status == status
        if status is not None
        else Complaint.status != ComplaintStatus.received
    )
    total = session.scalar(select(func.count(Complaint.id)).where(wanted)) or 0
    rows = session.execute(
        select(Complaint, Certificate.number)
        .join(Certificate, Certificate.id == Complaint.certificate_id)
        .where(wanted)
        .order_by(Complaint.created_at.desc(), Complaint.id.desc())
        .limit(COMPLAINTS_PER_PAGE)
        .offset((max(page, 1) - 1) * COMPLAINTS_PER_PAGE)
    ).all()
    return [(complaint, number) for complaint, number in rows], total


def _note(text: str, field: str, *, required: bool = True) -> str:
    text = text.strip()
    if required and not text:
        raise Invalid(fields={field: N_("This field is required.")})
    if len(text) > NOTE_MAX_CHARS:
        raise Invalid(fields={field: N_("This text is too long.")})
    return text


def _moved(
    session: Session,
    complaint: Complaint,
    *,
    status: ComplaintStatus,
    actor: User,
    action: str,
    summary: dict[str, object],
    now: dt.datetime,
) -> None:
    complaint.status = status
    complaint.status_changed_at = now
    session.flush()
    record_event(
        session,
        actor=actor,
        action=action,
        object_type="complaint",
        object_id=complaint.id,
        summary=summary,
        now=now,
    )


def dismiss_complaint(
    session: Session, *, complaint: Complaint, reason: str, actor: User, now: dt.datetime
) -> None:
    """Dismiss a complaint, saying why (kept internal: the public reads only that it was)."""
    _allow(complaint, "dismiss")
    complaint.dismissal_reason = _note(reason, "reason")
    _moved(
        session,
        complaint,
        status=ComplaintStatus.dismissed,
        actor=actor,
        action="complaint.dismiss",
        summary={},
        now=now,
    )
    record_registry_event(
        session,
        kind=RegistryEventKind.complaint_dismissed,
        certificate=certificate_of(session, complaint),
        public_reason=reason_in_both(DISMISSED_REASON),
        now=now,
    )


def holder_owners(session: Session, organization_id: int) -> Sequence[User]:
    """The people who answer for an organisation: its owners."""
    return session.scalars(
        select(User)
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(
            OrganizationMember.organization_id == organization_id,
            OrganizationMember.role == OrgRole.owner,
        )
        .order_by(User.id)
    ).all()


def ask_holder(
    session: Session,
    *,
    complaint: Complaint,
    message: str,
    reply_by: dt.date | None,
    actor: User,
    base_url: str,
    now: dt.datetime,
) -> None:
    """Ask the holder's owners to answer the complaint by a day (mailed in each one's language).

    The complainant's name and e-mail are not passed on: the secretariat writes what to answer.
    """
    _allow(complaint, "ask_holder")
    message = _note(message, "message")
    today = local_date(now)
    if reply_by is None:
        raise Invalid(fields={"reply_by": N_("This field is required.")})
    if (
        not today + dt.timedelta(days=MIN_REPLY_DAYS)
        <= reply_by
        <= today + dt.timedelta(days=MAX_REPLY_DAYS)
    ):
        raise Invalid(
            fields={"reply_by": N_("Give between %(min)s and %(max)s days to answer.")},
            min=MIN_REPLY_DAYS,
            max=MAX_REPLY_DAYS,
        )
    certificate = certificate_of(session, complaint)
    complaint.holder_message, complaint.reply_by = message, reply_by
    for owner in holder_owners(session, certificate.organization_id):
        queue_mail(
            session,
            to=owner.email,
            template="mail/complaint_holder.txt",
            locale=owner.locale,
            context={
                "number": certificate.number,
                "product_name": certificate.payload.get("product_name", ""),
                "message": message,
                "reply_by": reply_by,
                "link": f"{base_url.rstrip('/')}/verify/{certificate.number}",
            },
            now=now,
        )
    _moved(
        session,
        complaint,
        status=ComplaintStatus.holder_asked,
        actor=actor,
        action="complaint.ask_holder",
        summary={"reply_by": reply_by.isoformat()},
        now=now,
    )


def open_surveillance(
    session: Session, *, complaint: Complaint, actor: User, now: dt.datetime
) -> None:
    """Open a surveillance review of the certificate the complaint is about.

    The review may lead the council to a suspension ballot, opened from the certificate's page.
    """
    _allow(complaint, "open_surveillance")
    _moved(
        session,
        complaint,
        status=ComplaintStatus.surveillance,
        actor=actor,
        action="complaint.open_surveillance",
        summary={},
        now=now,
    )
    record_registry_event(
        session,
        kind=RegistryEventKind.complaint_surveillance_opened,
        certificate=certificate_of(session, complaint),
        public_reason=reason_in_both(SURVEILLANCE_REASON),
        now=now,
    )


def close_complaint(
    session: Session,
    *,
    complaint: Complaint,
    outcome: str,
    note: str,
    actor: User,
    now: dt.datetime,
) -> None:
    """Close a complaint with its outcome, which the certificate's public history then tells."""
    _allow(complaint, "close")
    if outcome not in {item.value for item in ComplaintOutcome}:
        raise Invalid(fields={"outcome": N_("Choose one of the options.")})
    chosen = ComplaintOutcome(outcome)
    complaint.outcome = chosen
    complaint.outcome_note = _note(note, "note", required=False)
    _moved(
        session,
        complaint,
        status=ComplaintStatus.closed,
        actor=actor,
        action="complaint.close",
        summary={"outcome": chosen.value},
        now=now,
    )
    record_registry_event(
        session,
        kind=RegistryEventKind.complaint_closed,
        certificate=certificate_of(session, complaint),
        public_reason=reason_in_both(CLOSED_REASONS[chosen]),
        reason_code=chosen.value,
        now=now,
    )
