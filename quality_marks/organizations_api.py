"""The organisations API under /api/v1: the organisations a person acts for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.api import ERROR_RESPONSES, ObjectId, Page, PageParams, SearchText, page_params
from core.auth import Now, SignedIn, require
from core.db import get_session
from core.search import search_text
from quality_marks import organization_list, organizations
from quality_marks.models import Organization, OrgVerification
from quality_marks.schemas import OrganizationDetailOut, OrganizationInput, OrganizationOut

api = APIRouter(prefix="/api/v1", tags=["quality_marks"], responses=ERROR_RESPONSES)

DbSession = Annotated[Session, Depends(get_session)]
Pagination = Annotated[PageParams, Depends(page_params)]
Applicant = Annotated[User, Depends(require(Role.applicant))]


@api.get("/organisations", response_model=Page[OrganizationOut])
def api_organisations(
    session: DbSession,
    user: SignedIn,
    params: Pagination,
    q: SearchText = "",
    verification: Annotated[OrgVerification | None, Query()] = None,
) -> Page[OrganizationOut]:
    """The organisations the caller acts for; the secretariat sees every one.

    `q` searches the legal name and the RFC.
    """
    filters = organization_list.OrganizationFilters(text=search_text(q), verification=verification)
    rows, total = organization_list.organizations_for(session, user, filters=filters, params=params)
    return Page[OrganizationOut](
        items=[OrganizationOut.model_validate(row) for row in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


def _organisation_out(
    session: Session, user: User, organization: Organization
) -> OrganizationDetailOut:
    member = organizations.membership(session, user, organization.id)
    return OrganizationDetailOut.model_validate(organization).model_copy(
        update={"role": member.role if member else None}
    )


@api.post("/organisations", response_model=OrganizationDetailOut, status_code=201)
def api_register_organisation(
    session: DbSession, user: Applicant, now: Now, body: OrganizationInput
) -> OrganizationDetailOut:
    """An applicant account registers its organisation and becomes its owner."""
    organization = organizations.register_organization(session, actor=user, data=body, now=now)
    session.commit()
    return _organisation_out(session, user, organization)


@api.get("/organisations/{organization_id}", response_model=OrganizationDetailOut)
def api_organisation(
    session: DbSession, user: SignedIn, organization_id: ObjectId
) -> OrganizationDetailOut:
    """An organisation, for its people and the secretariat."""
    organization = organizations.get_organization(session, user, organization_id)
    return _organisation_out(session, user, organization)
