"""The products API under /api/v1: an organisation's AI products and the risk questionnaire."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from core.api import ERROR_RESPONSES, ObjectId, Page, PageParams, page_params
from core.auth import Now, SignedIn
from core.db import get_session
from core.web import translator_for
from guidelines.models import RiskLevel
from quality_marks import organizations, products
from quality_marks.models import Product
from quality_marks.schemas import (
    ProductDetailOut,
    ProductInput,
    ProductOut,
    RiskQuestionnaireOut,
    RiskQuestionOut,
)

api = APIRouter(prefix="/api/v1", tags=["quality_marks"], responses=ERROR_RESPONSES)

DbSession = Annotated[Session, Depends(get_session)]
Pagination = Annotated[PageParams, Depends(page_params)]


@api.get("/organisations/{organization_id}/products", response_model=Page[ProductOut])
def api_organisation_products(
    session: DbSession, user: SignedIn, params: Pagination, organization_id: ObjectId
) -> Page[ProductOut]:
    """An organisation's AI products."""
    organization = organizations.get_organization(session, user, organization_id)
    rows, total = products.products_page(session, organization, params=params)
    return Page[ProductOut](
        items=[ProductOut.model_validate(row) for row in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


@api.post(
    "/organisations/{organization_id}/products", response_model=ProductDetailOut, status_code=201
)
def api_create_product(
    session: DbSession, user: SignedIn, now: Now, organization_id: ObjectId, body: ProductInput
) -> Product:
    """Describe a new AI product; its risk level follows from the questionnaire answers."""
    product = products.create_product(
        session, actor=user, organization_id=organization_id, data=body, now=now
    )
    session.commit()
    return product


@api.get("/products/{product_id}", response_model=ProductDetailOut)
def api_product(session: DbSession, user: SignedIn, product_id: ObjectId) -> Product:
    """A product with its whole description."""
    return products.get_product(session, user, product_id)


@api.put("/products/{product_id}", response_model=ProductDetailOut)
def api_update_product(
    session: DbSession, user: SignedIn, now: Now, product_id: ObjectId, body: ProductInput
) -> Product:
    """Replace a product's description (applications keep the risk level they started with)."""
    product = products.update_product(
        session, actor=user, product_id=product_id, data=body, now=now
    )
    session.commit()
    return product


@api.get("/risk-questionnaire", response_model=RiskQuestionnaireOut)
def api_risk_questionnaire(request: Request) -> RiskQuestionnaireOut:
    """The questions that set a product's risk level, and the level each yes leads to."""
    tr = translator_for(request)
    return RiskQuestionnaireOut(
        default_level=RiskLevel.minimal,
        questions=[
            RiskQuestionOut(key=q.key, text=tr.gettext(q.text), level=q.level)
            for q in products.RISK_QUESTIONS
        ],
    )
