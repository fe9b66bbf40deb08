"""Organisations that apply for quality marks, and the people who act for them."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from core.accounts import (
    Role,
    User,
    check_password_rules,
    create_user,
    find_user_by_email,
    hash_password,
    hash_token,
    normalize_email,
    open_invited_account,
)
from core.audit import record_event
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound, RateLimited
from core.forms import parse_input
from core.identifiers import is_valid_rfc, normalize_rfc
from core.mail import queue_mail
from core.pagination import PageOf, page_of
from core.ratelimit import check_limit, record_hit
from core.storage import FileStore
from guidelines.models import Guideline, GuidelineVersion
from quality_marks.geography import MEXICAN_STATES, SECTORS
from quality_marks.models import (
    Application,
    ApplicationStatus,
    DisputeStatus,
    InvitationStatus,
    Organization,
    OrganizationInvitation,
    OrganizationMember,
    OrgRole,
    OrgSize,
    OrgVerification,
    RfcDispute,
    SignUpRequest,
    VerificationMethod,
)
from quality_marks.schemas import OrganizationInput, SignUpInput

ROLE_LABELS = {
    OrgRole.owner: N_("Owner"),
    OrgRole.editor: N_("Editor"),
    OrgRole.viewer: N_("Viewer"),
}
EDITING_ROLES = frozenset({OrgRole.owner, OrgRole.editor})
INVITING_ROLES = frozenset({OrgRole.owner})
# One answer for every refused addition: a distinct one would tell owners which addresses
# belong to council staff.
CANNOT_ADD = N_("This person cannot be added to the organisation.")
RFC_TAKEN = N_(
    "An organisation with this RFC is already registered. If the RFC is yours, file a dispute "
    "with proof and the secretariat will decide."
)
NOT_VERIFIED = N_(
    "The secretariat has not yet verified your organisation's identity. Upload proof such as "
    "the constancia de situación fiscal on the organisation's page; until it is verified the "
    "organisation cannot submit applications or invite anyone."
)
VERIFICATION_LABELS = {
    OrgVerification.unverified: N_("Awaiting verification"),
    OrgVerification.verified: N_("Verified"),
    OrgVerification.rejected: N_("Verification refused"),
}
METHOD_LABELS = {
    VerificationMethod.proof: N_("Uploaded proof"),
    VerificationMethod.domain: N_("E-mail domain"),
}
DISPUTE_LABELS = {
    DisputeStatus.open: N_("Awaiting the secretariat's decision"),
    DisputeStatus.awarded: N_("Awarded to you"),
    DisputeStatus.dismissed: N_("Dismissed"),
}
SIZE_LABELS = {
    OrgSize.micro: N_("Micro (up to 10 people)"),
    OrgSize.small: N_("Small (11 to 50 people)"),
    OrgSize.medium: N_("Medium (51 to 250 people)"),
    OrgSize.large: N_("Large (more than 250 people)"),
}
SECTOR_LABELS = {
    "salud": N_("Health"),
    "finanzas": N_("Finance"),
    "seguros": N_("Insurance"),
    "educación": N_("Education"),
    "empleo": N_("Employment"),
    "gobierno": N_("Government"),
    "justicia": N_("Justice"),
    "comercio": N_("Commerce"),
    "telecomunicaciones": N_("Telecommunications"),
    "transporte": N_("Transport"),
    "energía": N_("Energy"),
    "agricultura": N_("Agriculture"),
    "medios": N_("Media"),
    "otro": N_("Other"),
}
# Sign-ups from one network address: every attempt counts, refused ones too.
SIGNUP_BUCKET = "signup"
SIGNUP_LIMIT = 10
SIGNUP_WINDOW = dt.timedelta(hours=1)
SIGNUP_TOKEN_LIFETIME = dt.timedelta(hours=24)
SIGNUP_EMAIL_BUCKET = "signup-email"
SIGNUP_EMAIL_LIMIT = 3
SIGNUP_EMAIL_WINDOW = dt.timedelta(hours=1)
# Invitations send mail to any address: bounded per organisation and per inviting account.
INVITE_ORG_BUCKET = "invite-org"
INVITE_ORG_LIMIT = 20
INVITE_ACCOUNT_BUCKET = "invite-account"
INVITE_ACCOUNT_LIMIT = 10
INVITE_WINDOW = dt.timedelta(days=1)


def membership(session: Session, user: User, organization_id: int) -> OrganizationMember | None:
    """A person's role in an organisation, if any."""
    return session.scalar(
        select(OrganizationMember).where(
            OrganizationMember.organization_id == organization_id,
            OrganizationMember.user_id == user.id,
        )
    )


def require_member(
    session: Session, user: User, organization_id: int, *roles: OrgRole
) -> OrganizationMember | None:
    """Admit the organisation's people (with one of `roles` when given) and the secretariat.

    Others learn nothing: for them the organisation does not exist.
    """
    member = membership(session, user, organization_id)
    if member is None:
        if user.has_role(Role.secretariat) and not roles:
            return None
        raise NotFound()
    if roles and member.role not in roles:
        raise Forbidden()
    return member


def may_edit(member: OrganizationMember | None) -> bool:
    """Whether a person's role lets them change the organisation's products and applications."""
    return member is not None and member.role in EDITING_ROLES


def may_invite(member: OrganizationMember | None) -> bool:
    """Whether a person's role lets them bring colleagues into the organisation."""
    return member is not None and member.role in INVITING_ROLES


def get_organization(session: Session, user: User, organization_id: int) -> Organization:
    """An organisation its people or the secretariat may read."""
    require_member(session, user, organization_id)
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFound()
    return organization


def my_organizations(session: Session, user: User) -> list[tuple[Organization, OrgRole]]:
    """The organisations a person acts for, with their role."""
    rows = session.execute(
        select(Organization, OrganizationMember.role)
        .join(OrganizationMember, OrganizationMember.organization_id == Organization.id)
        .where(OrganizationMember.user_id == user.id)
        .order_by(Organization.legal_name)
    )
    return [(org, role) for org, role in rows]


def members_of(session: Session, organization_id: int) -> list[tuple[User, OrgRole]]:
    """The people of an organisation."""
    rows = session.execute(
        select(User, OrganizationMember.role)
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(OrganizationMember.organization_id == organization_id)
        .order_by(User.full_name)
    )
    return [(user, role) for user, role in rows]


def _format_problems(data: OrganizationInput) -> dict[str, str]:
    fields: dict[str, str] = {}
    if not is_valid_rfc(normalize_rfc(data.rfc)):
        fields["rfc"] = N_("The RFC does not have a valid format (e.g. DSA180523KL9).")
    if data.state not in MEXICAN_STATES:
        fields["state"] = N_("Choose one of the options.")
    if data.sector not in SECTORS:
        fields["sector"] = N_("Choose one of the options.")
    return fields


def _check_format(data: OrganizationInput) -> str:
    """The normalised RFC of registration details whose formats are right."""
    if fields := _format_problems(data):
        raise Invalid(fields=fields)
    return normalize_rfc(data.rfc)


def _check_organization(session: Session, data: OrganizationInput) -> str:
    fields = _format_problems(data)
    rfc = normalize_rfc(data.rfc)
    if "rfc" not in fields and session.scalar(
        select(Organization.id).where(Organization.rfc == rfc)
    ):
        fields["rfc"] = RFC_TAKEN
    if fields:
        raise Invalid(fields=fields)
    return rfc


def register_organization(
    session: Session, *, actor: User, data: OrganizationInput, now: dt.datetime
) -> Organization:
    """An applicant registers their organisation and becomes its owner."""
    if actor.role != Role.applicant:
        raise Forbidden(N_("Only applicant accounts register organisations."))
    rfc = _check_organization(session, data)
    organization = Organization(
        legal_name=data.legal_name.strip(),
        rfc=rfc,
        address=data.address.strip(),
        state=data.state,
        sector=data.sector,
        size=data.size,
        contact_name=data.contact_name.strip(),
        contact_email=data.contact_email,
        contact_phone=data.contact_phone.strip(),
        website=data.website.strip(),
        created_at=now,
        verification=OrgVerification.unverified,
    )
    session.add(organization)
    session.flush()
    session.add(
        OrganizationMember(
            organization_id=organization.id, user_id=actor.id, role=OrgRole.owner, created_at=now
        )
    )
    session.flush()
    record_event(
        session,
        actor=actor,
        action="organization.register",
        object_type="organization",
        object_id=organization.id,
        summary={"legal_name": organization.legal_name, "rfc": rfc},
        now=now,
    )
    return organization


def _base(base_url: str) -> str:
    return base_url.rstrip("/")


def request_sign_up(
    session: Session,
    *,
    details: Mapping[str, Any],
    client_ip: str,
    locale: str,
    base_url: str,
    now: dt.datetime,
) -> None:
    """Mail a link that confirms the address; nothing is opened before it is followed.

    Every address gets the same answer and the same work: a new one a confirmation link, one
    with an account a notice to its owner, so the form never tells who has an account. The
    attempt is counted against the network address first, refused ones too: a refusal leaves
    only that count written, for the caller to keep.
    """
    # Counted under the key's lock before anything else, so parallel attempts cannot all slip
    # under the limit.
    check_limit(
        session,
        bucket=SIGNUP_BUCKET,
        key=client_ip,
        limit=SIGNUP_LIMIT,
        window=SIGNUP_WINDOW,
        now=now,
    )
    record_hit(session, bucket=SIGNUP_BUCKET, key=client_ip, now=now)
    data = parse_input(SignUpInput, dict(details))
    fields: dict[str, str] = {}
    if not data.full_name.strip():
        fields["full_name"] = N_("Enter the person's name.")
    email = normalize_email(data.email)
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        fields["email"] = N_("Enter a valid e-mail address.")
    params: dict[str, Any] = {}
    try:
        check_password_rules(data.password, user_inputs=(email, data.full_name, data.legal_name))
    except Invalid as error:
        fields.update(error.fields)
        params = error.params
    try:
        _check_format(data)
    except Invalid as error:
        fields.update(error.fields)
    if fields:
        raise Invalid(fields=fields, **params)
    password_hash = hash_password(data.password)  # for every address, so timing tells nothing
    # Unconfirmed sign-ups hold password hashes: none is kept past its link's life.
    session.execute(delete(SignUpRequest).where(SignUpRequest.expires_at <= now))
    try:
        check_limit(
            session,
            bucket=SIGNUP_EMAIL_BUCKET,
            key=email,
            limit=SIGNUP_EMAIL_LIMIT,
            window=SIGNUP_EMAIL_WINDOW,
            now=now,
        )
    except RateLimited:
        return  # the address already had several mails this hour; saying so would reveal it
    record_hit(session, bucket=SIGNUP_EMAIL_BUCKET, key=email, now=now)
    existing = find_user_by_email(session, email)
    if existing is not None:
        queue_mail(
            session,
            to=existing.email,
            template="mail/signup_existing_account.txt",
            locale=existing.locale,
            context={
                "user_name": existing.full_name,
                "signin": f"{_base(base_url)}/signin",
                "reset": f"{_base(base_url)}/account/reset",
            },
            now=now,
        )
        record_event(
            session,
            actor=None,
            action="user.signup_existing",
            object_type="user",
            object_id=existing.id,
            now=now,
        )
        return
    token = secrets.token_urlsafe(32)
    organization = OrganizationInput.model_validate(
        data.model_dump(include=set(OrganizationInput.model_fields))
        | {"rfc": normalize_rfc(data.rfc)}
    )
    request = SignUpRequest(
        email=email,
        full_name=data.full_name.strip(),
        password_hash=password_hash,
        locale=locale,
        organization=organization.model_dump(mode="json"),
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + SIGNUP_TOKEN_LIFETIME,
    )
    session.add(request)
    session.flush()
    queue_mail(
        session,
        to=email,
        template="mail/signup_confirmation.txt",
        locale=locale,
        context={
            "user_name": request.full_name,
            "organisation": organization.legal_name,
            "link": f"{_base(base_url)}/register/confirm/{token}",
            "hours": int(SIGNUP_TOKEN_LIFETIME.total_seconds() // 3600),
        },
        now=now,
    )
    record_event(
        session,
        actor=None,
        action="signup.request",
        object_type="sign_up_request",
        object_id=request.id,
        summary={"email": email, "rfc": organization.rfc},
        now=now,
    )


@dataclass(frozen=True)
class ConfirmedSignUp:
    """A confirmed sign-up: the account, and the organisation unless its RFC was taken."""

    user: User
    organization: Organization | None
    details: OrganizationInput


def confirm_sign_up(session: Session, *, token: str, now: dt.datetime) -> ConfirmedSignUp:
    """Follow the e-mailed link: open the account and register the organisation (unverified)."""
    request = session.scalar(
        select(SignUpRequest).where(SignUpRequest.token_hash == hash_token(token))
    )
    if (
        request is None
        or request.confirmed_at is not None
        or request.expires_at <= now
        or find_user_by_email(session, request.email) is not None
    ):
        raise Invalid(N_("This link is not valid: it was already used or it has expired."))
    request.confirmed_at = now
    user = create_user(
        session,
        email=request.email,
        full_name=request.full_name,
        role=Role.applicant,
        password=None,
        actor=None,
        now=now,
        locale=request.locale,
    )
    # The password was checked and hashed when the form was sent; only its hash was kept.
    user.password_hash = request.password_hash
    user.password_changed_at = now
    request.password_hash = ""
    session.flush()
    details = OrganizationInput.model_validate(request.organization)
    taken = session.scalar(select(Organization.id).where(Organization.rfc == details.rfc))
    if taken is not None:
        return ConfirmedSignUp(user, None, details)
    return ConfirmedSignUp(
        user, register_organization(session, actor=user, data=details, now=now), details
    )


def _invite_existing(
    session: Session,
    person: User,
    inviter: User,
    organization: Organization,
    role: OrgRole,
    base_url: str,
    now: dt.datetime,
) -> None:
    """Offer someone who already has an account a place; nothing changes until they accept."""
    pending = session.scalar(
        select(OrganizationInvitation.id).where(
            OrganizationInvitation.organization_id == organization.id,
            OrganizationInvitation.user_id == person.id,
            OrganizationInvitation.status == InvitationStatus.pending,
        )
    )
    if pending is not None:
        raise Conflict(CANNOT_ADD)
    invitation = OrganizationInvitation(
        organization_id=organization.id,
        user_id=person.id,
        role=role,
        invited_by_id=inviter.id,
        status=InvitationStatus.pending,
        created_at=now,
    )
    session.add(invitation)
    session.flush()
    queue_mail(
        session,
        to=person.email,
        template="mail/added_to_organization.txt",
        locale=person.locale,
        context={
            "user_name": person.full_name,
            "inviter": inviter.full_name,
            "organisation": organization.legal_name,
            "role": ROLE_LABELS[role],
            "link": f"{_base(base_url)}/organisation",
        },
        now=now,
    )


def _count_invitation(
    session: Session, actor: User, organization_id: int, now: dt.datetime
) -> None:
    """Refuse an invitation over the organisation's or the account's limit, else count it."""
    limits = (
        (INVITE_ORG_BUCKET, str(organization_id), INVITE_ORG_LIMIT),
        (INVITE_ACCOUNT_BUCKET, str(actor.id), INVITE_ACCOUNT_LIMIT),
    )
    for bucket, key, limit in limits:
        check_limit(session, bucket=bucket, key=key, limit=limit, window=INVITE_WINDOW, now=now)
    for bucket, key, _limit in limits:
        record_hit(session, bucket=bucket, key=key, now=now)


def is_verified(organization: Organization) -> bool:
    """Whether the secretariat has verified the organisation's identity."""
    return organization.verification == OrgVerification.verified


def require_verified(organization: Organization) -> None:
    """Refuse what only a verified organisation may do (apply, invite)."""
    if not is_verified(organization):
        raise Conflict(NOT_VERIFIED)


def invite_colleague(
    session: Session,
    *,
    actor: User,
    organization_id: int,
    email: str,
    full_name: str,
    role: OrgRole,
    locale: str,
    base_url: str,
    now: dt.datetime,
) -> User:
    """An owner brings a colleague in: a new account by a link, an existing one by invitation."""
    require_member(session, actor, organization_id, *INVITING_ROLES)
    organization = get_organization(session, actor, organization_id)
    require_verified(organization)
    _count_invitation(session, actor, organization_id, now)
    existing = find_user_by_email(session, email)
    if existing is not None:
        if existing.role != Role.applicant or membership(session, existing, organization_id):
            raise Conflict(CANNOT_ADD)
        _invite_existing(session, existing, actor, organization, role, base_url, now)
        record_event(
            session,
            actor=actor,
            action="organization.invite_member",
            object_type="organization",
            object_id=organization_id,
            summary={"email": existing.email, "role": role.value},
            now=now,
        )
        return existing
    colleague = open_invited_account(
        session,
        actor=actor,
        email=email,
        full_name=full_name,
        role=Role.applicant,
        locale=locale,
        base_url=base_url,
        now=now,
    )
    session.add(
        OrganizationMember(
            organization_id=organization_id, user_id=colleague.id, role=role, created_at=now
        )
    )
    session.flush()
    record_event(
        session,
        actor=actor,
        action="organization.add_member",
        object_type="organization",
        object_id=organization_id,
        summary={"email": colleague.email, "role": role.value},
        now=now,
    )
    return colleague


# Invitations to existing accounts ----------------------------------------------------------


@dataclass(frozen=True)
class PendingInvitation:
    """An invitation waiting for the invited person's answer."""

    invitation: OrganizationInvitation
    organization: Organization
    inviter: User


def my_invitations(session: Session, user: User) -> list[PendingInvitation]:
    """The invitations a person has not answered yet, newest first."""
    rows = session.execute(
        select(OrganizationInvitation, Organization, User)
        .join(Organization, Organization.id == OrganizationInvitation.organization_id)
        .join(User, User.id == OrganizationInvitation.invited_by_id)
        .where(
            OrganizationInvitation.user_id == user.id,
            OrganizationInvitation.status == InvitationStatus.pending,
        )
        .order_by(OrganizationInvitation.id.desc())
    )
    return [PendingInvitation(i, o, u) for i, o, u in rows]


def invited_people(session: Session, organization_id: int) -> list[tuple[User, OrgRole]]:
    """People invited to the organisation who have not answered yet."""
    rows = session.execute(
        select(User, OrganizationInvitation.role)
        .join(OrganizationInvitation, OrganizationInvitation.user_id == User.id)
        .where(
            OrganizationInvitation.organization_id == organization_id,
            OrganizationInvitation.status == InvitationStatus.pending,
        )
        .order_by(User.full_name)
    )
    return [(user, role) for user, role in rows]


def answer_invitation(
    session: Session, *, actor: User, invitation_id: int, accept: bool, now: dt.datetime
) -> OrganizationInvitation:
    """The invited person accepts (and joins) or declines an invitation."""
    invitation = session.get(OrganizationInvitation, invitation_id)
    if invitation is None or invitation.user_id != actor.id:
        raise NotFound()
    if invitation.status != InvitationStatus.pending:
        raise Conflict(N_("This invitation has already been answered."))
    invitation.status = InvitationStatus.accepted if accept else InvitationStatus.declined
    invitation.answered_at = now
    if accept and membership(session, actor, invitation.organization_id) is None:
        session.add(
            OrganizationMember(
                organization_id=invitation.organization_id,
                user_id=actor.id,
                role=invitation.role,
                created_at=now,
            )
        )
    session.flush()
    record_event(
        session,
        actor=actor,
        action="organization.accept_invitation" if accept else "organization.decline_invitation",
        object_type="organization",
        object_id=invitation.organization_id,
        summary={"role": invitation.role.value},
        now=now,
    )
    return invitation


# Verification of identity ------------------------------------------------------------------


def _require_secretariat(user: User) -> None:
    if not user.has_role(Role.secretariat):
        raise Forbidden()


def _domain(value: str) -> str:
    """The registrable part of a web address or an e-mail address, without a leading www."""
    host = value.rsplit("@", 1)[-1] if "@" in value and "://" not in value else ""
    if not host:
        host = urlsplit(value if "://" in value else f"https://{value}").hostname or ""
    host = host.lower().strip(".")
    return host.removeprefix("www.")


# A web address on one of these proves nothing about who owns it: anyone has an address there
# (free mail) or under it (public suffixes). A list, not a rule: extend it as cases appear.
SHARED_DOMAINS = frozenset(
    {
        "com", "net", "org", "mx", "com.mx", "org.mx", "net.mx", "edu.mx", "gob.mx", "edu",
        "gmail.com", "googlemail.com", "hotmail.com", "hotmail.es", "outlook.com", "outlook.es",
        "live.com", "live.com.mx", "msn.com", "yahoo.com", "yahoo.com.mx", "icloud.com",
        "me.com", "aol.com", "proton.me", "protonmail.com", "prodigy.net.mx", "gmx.com",
    }
)  # fmt: skip


def domain_matches(organization: Organization, people: list[User]) -> bool:
    """Whether an owner's e-mail address is on the organisation's own web domain."""
    site = _domain(organization.website) if organization.website.strip() else ""
    if not site or site in SHARED_DOMAINS:
        return False
    return any(
        (domain := _domain(person.email)) == site or domain.endswith(f".{site}")
        for person in people
    )


def owners_of(session: Session, organization_id: int) -> list[User]:
    """The organisation's owners."""
    return [user for user, role in members_of(session, organization_id) if role == OrgRole.owner]


def upload_proof(
    session: Session,
    *,
    actor: User,
    organization_id: int,
    stream: BinaryIO | None,
    filename: str,
    store: FileStore,
    max_bytes: int,
    now: dt.datetime,
) -> Organization:
    """An owner sends proof of identity; a refused organisation is reviewed again.

    The proof it replaces is removed once the new one is committed.
    """
    require_member(session, actor, organization_id, OrgRole.owner)
    if stream is None:
        raise Invalid(N_("Choose the file to upload."))
    organization = get_organization(session, actor, organization_id)
    if is_verified(organization):
        raise Conflict(N_("The organisation is already verified."))
    stored = store.save(stream, original_name=filename, max_bytes=max_bytes, session=session)
    # Only an unverified organisation sends proof, so the old file is never an awarded
    # dispute's proof (an award verifies the organisation).
    if organization.proof_key is not None:
        store.discard(session, organization.proof_key)
    organization.proof_key = stored.key
    organization.proof_name = stored.original_name
    organization.proof_content_type = stored.content_type
    organization.proof_sha256 = stored.sha256
    organization.proof_uploaded_at = now
    organization.verification = OrgVerification.unverified
    session.flush()
    record_event(
        session,
        actor=actor,
        action="organization.upload_proof",
        object_type="organization",
        object_id=organization.id,
        summary={"name": stored.original_name, "sha256": stored.sha256},
        now=now,
    )
    return organization


@dataclass(frozen=True)
class VerificationCase:
    """An organisation awaiting verification, with what the secretariat decides on."""

    organization: Organization
    owners: list[User]
    domain_matches: bool


def awaiting_verification(
    session: Session, *, actor: User, page: int = 1, disputes_page: int = 1
) -> PageOf[VerificationCase]:
    """One page of the organisations not yet verified or refused, oldest first."""
    _require_secretariat(actor)
    listed = page_of(
        session,
        select(Organization)
        .where(Organization.verification == OrgVerification.unverified)
        .order_by(Organization.created_at, Organization.id),
        page=page,
        filters={"disputes_page": str(disputes_page) if disputes_page > 1 else ""},
    )
    organizations: list[Organization] = listed.items
    owners: dict[int, list[User]] = {}
    if organizations:
        rows = session.execute(
            select(OrganizationMember.organization_id, User)
            .join(User, User.id == OrganizationMember.user_id)
            .where(
                OrganizationMember.organization_id.in_([o.id for o in organizations]),
                OrganizationMember.role == OrgRole.owner,
            )
        )
        for organization_id, user in rows:
            owners.setdefault(organization_id, []).append(user)
    return listed.map(
        lambda o: VerificationCase(o, owners.get(o.id, []), domain_matches(o, owners.get(o.id, [])))
    )


def _tell_owners(
    session: Session, organization: Organization, template: str, base_url: str, now: dt.datetime
) -> None:
    for owner in owners_of(session, organization.id):
        queue_mail(
            session,
            to=owner.email,
            template=template,
            locale=owner.locale,
            context={
                "user_name": owner.full_name,
                "organisation": organization.legal_name,
                "verified": organization.verification == OrgVerification.verified,
                "reason": organization.verification_reason,
                "link": f"{_base(base_url)}/organisations/{organization.id}",
            },
            now=now,
        )


def verify_organization(
    session: Session,
    *,
    actor: User,
    organization_id: int,
    method: VerificationMethod,
    reason: str,
    base_url: str,
    now: dt.datetime,
) -> Organization:
    """The secretariat confirms an organisation's identity by its proof or its e-mail domain."""
    _require_secretariat(actor)
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFound()
    if organization.verification == OrgVerification.verified:
        raise Conflict(N_("The organisation is already verified."))
    if method == VerificationMethod.proof and organization.proof_key is None:
        raise Invalid(fields={"method": N_("The organisation has not uploaded any proof.")})
    if method == VerificationMethod.domain and not domain_matches(
        organization, owners_of(session, organization_id)
    ):
        raise Invalid(
            fields={"method": N_("No owner's e-mail address is on the organisation's web domain.")}
        )
    organization.verification = OrgVerification.verified
    organization.verification_method = method
    organization.verification_reason = reason.strip()
    organization.verified_at = now
    session.flush()
    record_event(
        session,
        actor=actor,
        action="organization.verify",
        object_type="organization",
        object_id=organization.id,
        summary={"method": method.value, "reason": reason.strip(), "rfc": organization.rfc},
        now=now,
    )
    _tell_owners(session, organization, "mail/organization_verification.txt", base_url, now)
    return organization


def reject_organization(
    session: Session,
    *,
    actor: User,
    organization_id: int,
    reason: str,
    base_url: str,
    now: dt.datetime,
) -> Organization:
    """The secretariat refuses an organisation's claimed identity, saying why."""
    _require_secretariat(actor)
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFound()
    if not reason.strip():
        raise Invalid(fields={"reason": N_("Say why the identity is not accepted.")})
    if organization.verification != OrgVerification.unverified:
        raise Conflict(N_("Only an organisation awaiting verification can be refused."))
    organization.verification = OrgVerification.rejected
    organization.verification_method = None
    organization.verification_reason = reason.strip()
    organization.verified_at = None
    session.flush()
    record_event(
        session,
        actor=actor,
        action="organization.reject",
        object_type="organization",
        object_id=organization.id,
        summary={"reason": reason.strip(), "rfc": organization.rfc},
        now=now,
    )
    _tell_owners(session, organization, "mail/organization_verification.txt", base_url, now)
    return organization


def decide_verification(
    session: Session,
    *,
    actor: User,
    organization_id: int,
    decision: str,
    method: str,
    reason: str,
    base_url: str,
    now: dt.datetime,
) -> Organization:
    """The secretariat's answer on an identity: "verify" by a method, anything else refuses."""
    if decision != "verify":
        return reject_organization(
            session,
            actor=actor,
            organization_id=organization_id,
            reason=reason,
            base_url=base_url,
            now=now,
        )
    if method not in set(VerificationMethod):
        raise Invalid(fields={"method": N_("Choose one of the options.")})
    return verify_organization(
        session,
        actor=actor,
        organization_id=organization_id,
        method=VerificationMethod(method),
        reason=reason,
        base_url=base_url,
        now=now,
    )


# Disputes over an RFC ----------------------------------------------------------------------


def file_dispute(
    session: Session,
    *,
    actor: User,
    data: OrganizationInput,
    statement: str,
    stream: BinaryIO | None,
    filename: str,
    store: FileStore,
    max_bytes: int,
    now: dt.datetime,
) -> RfcDispute:
    """A second claimant of a registered RFC asks the secretariat for it, with proof."""
    if actor.role != Role.applicant:
        raise Forbidden(N_("Only applicant accounts register organisations."))
    fields = _format_problems(data)
    rfc = normalize_rfc(data.rfc)
    holder = session.scalar(select(Organization).where(Organization.rfc == rfc))
    if "rfc" not in fields and holder is None:
        fields["rfc"] = N_("No organisation is registered with this RFC: register yours instead.")
    if not statement.strip():
        fields["statement"] = N_("Say why the RFC is yours.")
    if stream is None:
        fields["proof"] = N_("Attach proof, such as the constancia de situación fiscal.")
    if fields or holder is None or stream is None:
        raise Invalid(fields=fields)
    if membership(session, actor, holder.id) is not None:
        raise Conflict(N_("You already act for the organisation registered with this RFC."))
    if session.scalar(
        select(RfcDispute.id).where(
            RfcDispute.organization_id == holder.id,
            RfcDispute.claimant_id == actor.id,
            RfcDispute.status == DisputeStatus.open,
        )
    ):
        raise Conflict(N_("You already have an open dispute over this RFC."))
    stored = store.save(stream, original_name=filename, max_bytes=max_bytes, session=session)
    dispute = RfcDispute(
        organization_id=holder.id,
        claimant_id=actor.id,
        details=data.model_dump(mode="json") | {"rfc": rfc},
        statement=statement.strip(),
        proof_key=stored.key,
        proof_name=stored.original_name,
        proof_content_type=stored.content_type,
        proof_sha256=stored.sha256,
        status=DisputeStatus.open,
        created_at=now,
        resolution_reason="",
    )
    session.add(dispute)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="organization.dispute",
        object_type="organization",
        object_id=holder.id,
        summary={"dispute": dispute.id, "rfc": rfc, "sha256": stored.sha256},
        now=now,
    )
    return dispute


@dataclass(frozen=True)
class DisputeCase:
    """An open dispute with the organisation holding the RFC and the claimant."""

    dispute: RfcDispute
    organization: Organization
    claimant: User


def open_disputes(
    session: Session, *, actor: User, page: int = 1, cases_page: int = 1
) -> PageOf[DisputeCase]:
    """One page of the disputes the secretariat has not resolved yet, oldest first."""
    _require_secretariat(actor)
    listed = page_of(
        session,
        select(RfcDispute, Organization, User)
        .join(Organization, Organization.id == RfcDispute.organization_id)
        .join(User, User.id == RfcDispute.claimant_id)
        .where(RfcDispute.status == DisputeStatus.open)
        .order_by(RfcDispute.id),
        page=page,
        tuples=True,
        filters={"page": str(cases_page) if cases_page > 1 else ""},
        param="disputes_page",
    )
    return listed.map(lambda row: DisputeCase(*row))


def my_disputes(session: Session, user: User) -> list[tuple[RfcDispute, Organization]]:
    """The disputes a person filed, newest first."""
    rows = session.execute(
        select(RfcDispute, Organization)
        .join(Organization, Organization.id == RfcDispute.organization_id)
        .where(RfcDispute.claimant_id == user.id)
        .order_by(RfcDispute.id.desc())
    )
    return [(d, o) for d, o in rows]


def _award(
    session: Session, dispute: RfcDispute, organization: Organization, now: dt.datetime
) -> None:
    """Hand the organisation's record to the claimant: its people lose access, details change."""
    for member in session.scalars(
        select(OrganizationMember).where(OrganizationMember.organization_id == organization.id)
    ):
        session.delete(member)
    for invitation in session.scalars(
        select(OrganizationInvitation).where(
            OrganizationInvitation.organization_id == organization.id,
            OrganizationInvitation.status == InvitationStatus.pending,
        )
    ):
        invitation.status = InvitationStatus.declined
    session.flush()
    details = OrganizationInput.model_validate(dispute.details)
    organization.legal_name = details.legal_name.strip()
    organization.address = details.address.strip()
    organization.state = details.state
    organization.sector = details.sector
    organization.size = details.size
    organization.contact_name = details.contact_name.strip()
    organization.contact_email = details.contact_email
    organization.contact_phone = details.contact_phone.strip()
    organization.website = details.website.strip()
    organization.proof_key = dispute.proof_key
    organization.proof_name = dispute.proof_name
    organization.proof_content_type = dispute.proof_content_type
    organization.proof_sha256 = dispute.proof_sha256
    organization.proof_uploaded_at = dispute.created_at
    session.add(
        OrganizationMember(
            organization_id=organization.id,
            user_id=dispute.claimant_id,
            role=OrgRole.owner,
            created_at=now,
        )
    )


def resolve_dispute(
    session: Session,
    *,
    actor: User,
    dispute_id: int,
    award: bool,
    reason: str,
    base_url: str,
    now: dt.datetime,
) -> RfcDispute:
    """The secretariat awards the RFC to the claimant (its new, verified owner) or dismisses."""
    _require_secretariat(actor)
    dispute = get_dispute(session, dispute_id)
    if not reason.strip():
        raise Invalid(fields={"reason": N_("Say why you decide so.")})
    if dispute.status != DisputeStatus.open:
        raise Conflict(N_("This dispute has already been resolved."))
    organization = session.get(Organization, dispute.organization_id)
    claimant = session.get(User, dispute.claimant_id)
    assert organization is not None
    assert claimant is not None
    dispute.status = DisputeStatus.awarded if award else DisputeStatus.dismissed
    dispute.resolved_at = now
    dispute.resolved_by_id = actor.id
    dispute.resolution_reason = reason.strip()
    if award:
        _award(session, dispute, organization, now)
        organization.verification = OrgVerification.verified
        organization.verification_method = VerificationMethod.proof
        organization.verification_reason = reason.strip()
        organization.verified_at = now
    session.flush()
    record_event(
        session,
        actor=actor,
        action="organization.dispute_award" if award else "organization.dispute_dismiss",
        object_type="organization",
        object_id=organization.id,
        summary={"dispute": dispute.id, "claimant": claimant.email, "reason": reason.strip()},
        now=now,
    )
    queue_mail(
        session,
        to=claimant.email,
        template="mail/dispute_resolved.txt",
        locale=claimant.locale,
        context={
            "user_name": claimant.full_name,
            "rfc": organization.rfc,
            "awarded": award,
            "reason": reason.strip(),
            "link": f"{_base(base_url)}/organisation",
        },
        now=now,
    )
    return dispute


# What the organisation is expected to do ---------------------------------------------------


def expected_of(application: Application) -> str | None:
    """Why an application waits for its organisation (draft, returned, information requested)."""
    if application.status == ApplicationStatus.draft:
        return "returned" if application.return_reason else "draft"
    if application.status == ApplicationStatus.information_requested:
        return "information_requested"
    return None


# Queries for the pages ---------------------------------------------------------------------


@dataclass(frozen=True)
class MyOrganizations:
    """What an applicant's way in shows: their organisations, invitations and disputes."""

    organizations: list[tuple[Organization, OrgRole]]
    invitations: list[PendingInvitation]
    disputes: list[tuple[RfcDispute, Organization]]

    @property
    def only(self) -> Organization | None:
        """The one organisation to go straight to, when there is nothing else to answer."""
        if len(self.organizations) == 1 and not self.invitations:
            return self.organizations[0][0]
        return None


def my_organizations_overview(session: Session, user: User) -> MyOrganizations:
    """A person's organisations, the invitations they have not answered and their disputes."""
    return MyOrganizations(
        my_organizations(session, user), my_invitations(session, user), my_disputes(session, user)
    )


def editable_organization(session: Session, user: User, organization_id: int) -> Organization:
    """The organisation, if the person may change its products (owners and editors)."""
    require_member(session, user, organization_id, *EDITING_ROLES)
    return get_organization(session, user, organization_id)


def organization_proof(session: Session, user: User, organization_id: int) -> Organization:
    """An organisation whose proof of identity its people or the secretariat may download."""
    organization = get_organization(session, user, organization_id)
    if organization.proof_key is None:
        raise NotFound()
    return organization


def get_dispute(session: Session, dispute_id: int) -> RfcDispute:
    """A dispute over an RFC, with its proof (the secretariat's to read)."""
    dispute = session.get(RfcDispute, dispute_id)
    if dispute is None:
        raise NotFound()
    return dispute


@dataclass(frozen=True)
class VersionName:
    """What names a guideline version on a page: its guideline's titles and its number."""

    number: str
    title_es: str
    title_en: str


def version_names(session: Session, version_ids: set[int]) -> dict[int, VersionName]:
    """The names of the guideline versions applications were made against, by version id."""
    if not version_ids:
        return {}
    rows = session.execute(
        select(GuidelineVersion.id, GuidelineVersion.number, Guideline.title_es, Guideline.title_en)
        .join(Guideline, Guideline.id == GuidelineVersion.guideline_id)
        .where(GuidelineVersion.id.in_(version_ids))
    )
    return {
        version_id: VersionName(number, title_es, title_en)
        for version_id, number, title_es, title_en in rows
    }


# Queries for the API -----------------------------------------------------------------------


def member_of(user: User) -> Select[int]:
    """The ids of the organisations the person acts for, as a subquery."""
    return select(OrganizationMember.organization_id).where(OrganizationMember.user_id == user.id)
