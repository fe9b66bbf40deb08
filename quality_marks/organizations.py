"""Organisations that apply for quality marks, and the people who act for them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User, create_user, find_user_by_email, open_invited_account
from core.audit import record_event
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound
from core.identifiers import is_valid_rfc, normalize_rfc
from core.mail import queue_mail
from quality_marks.geography import MEXICAN_STATES, SECTORS
from quality_marks.models import Organization, OrganizationMember, OrgRole
from quality_marks.schemas import OrganizationInput

ROLE_LABELS = {
    OrgRole.owner: N_("Owner"),
    OrgRole.editor: N_("Editor"),
    OrgRole.viewer: N_("Viewer"),
}
EDITING_ROLES = frozenset({OrgRole.owner, OrgRole.editor})
# One answer for every refused addition: a distinct one would tell owners which addresses
# belong to council staff.
CANNOT_ADD = N_("This person cannot be added to the organisation.")


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


def _check_organization(session: Session, data: OrganizationInput) -> str:
    rfc = normalize_rfc(data.rfc)
    fields: dict[str, str] = {}
    if not is_valid_rfc(rfc):
        fields["rfc"] = N_("The RFC does not have a valid format (e.g. DSA180523KL9).")
    elif session.scalar(select(Organization.id).where(Organization.rfc == rfc)):
        fields["rfc"] = N_("An organisation with this RFC is already registered.")
    if data.state not in MEXICAN_STATES:
        fields["state"] = N_("Choose one of the options.")
    if data.sector not in SECTORS:
        fields["sector"] = N_("Choose one of the options.")
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


def sign_up_organization(
    session: Session,
    *,
    full_name: str,
    email: str,
    password: str,
    locale: str,
    data: OrganizationInput,
    now: dt.datetime,
) -> tuple[User, Organization]:
    """A company's first person opens an applicant account and registers the organisation."""
    if not full_name.strip():
        raise Invalid(fields={"full_name": N_("Enter the person's name.")})
    _check_organization(session, data)
    user = create_user(
        session,
        email=email,
        full_name=full_name,
        role=Role.applicant,
        password=password,
        actor=None,
        now=now,
        locale=locale,
    )
    return user, register_organization(session, actor=user, data=data, now=now)


def _tell_added(
    session: Session,
    person: User,
    inviter: User,
    organization_id: int,
    role: OrgRole,
    base_url: str,
    now: dt.datetime,
) -> None:
    """E-mail someone who already has an account that they now act for the organisation."""
    organization = session.get(Organization, organization_id)
    assert organization is not None
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
            "link": f"{base_url.rstrip('/')}/organisation",
        },
        now=now,
    )


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
    """An owner brings a colleague in; each is e-mailed: a link to set a password, or a notice."""
    require_member(session, actor, organization_id, OrgRole.owner)
    existing = find_user_by_email(session, email)
    if existing is not None:
        if existing.role != Role.applicant or membership(session, existing, organization_id):
            raise Conflict(CANNOT_ADD)
        colleague = existing
        _tell_added(session, colleague, actor, organization_id, role, base_url, now)
    else:
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
