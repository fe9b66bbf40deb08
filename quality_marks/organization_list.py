"""The secretariat's list of organisations: searched by name or RFC, filtered, paged."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.api import PageParams, paginate
from core.errors import Forbidden
from core.pagination import PageOf, page_of
from core.search import chosen, matches_text, search_text
from quality_marks.models import Organization, OrgVerification
from quality_marks.organizations import member_of


@dataclass(frozen=True)
class OrganizationFilters:
    """What the organisations are filtered by: typed text and the verification of identity."""

    text: str = ""
    verification: OrgVerification | None = None

    def query(self) -> dict[str, str]:
        """The filters as the query string of the list's address."""
        return {
            "q": self.text,
            "verification": self.verification.value if self.verification else "",
        }

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(self.query().values())


def organization_filters(*, text: object = "", verification: object = "") -> OrganizationFilters:
    """The filters as a person's address gives them; what is not a known value is left out."""
    return OrganizationFilters(
        text=search_text(text), verification=chosen(OrgVerification, verification)
    )


def filtered(filters: OrganizationFilters) -> Select[Organization]:
    """Organisations by name with the filters; the text is looked for in the name and the RFC."""
    query = select(Organization).order_by(Organization.legal_name, Organization.id)
    if filters.text:
        query = query.where(matches_text(filters.text, Organization.legal_name, Organization.rfc))
    if filters.verification is not None:
        query = query.where(Organization.verification == filters.verification)
    return query


def organization_list(
    session: Session, *, actor: User, filters: OrganizationFilters, page: int = 1
) -> PageOf[Organization]:
    """One page of every organisation, filtered and counted; for the secretariat."""
    if not actor.has_role(Role.secretariat):
        raise Forbidden()
    return page_of(session, filtered(filters), page=page, counted=True, filters=filters.query())


def organizations_for(
    session: Session, user: User, *, filters: OrganizationFilters, params: PageParams
) -> tuple[list[Organization], int]:
    """One page of the organisations the person acts for (the secretariat: all), filtered."""
    query = filtered(filters)
    if not user.has_role(Role.secretariat):
        query = query.where(Organization.id.in_(member_of(user)))
    return paginate(session, query, params)
