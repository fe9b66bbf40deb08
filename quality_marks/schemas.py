"""Input and output shapes of organisations, products and applications."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from guidelines.models import RiskLevel
from quality_marks.models import (
    AnswerValue,
    ApplicationStatus,
    Decision,
    OrgRole,
    OrgSize,
)


class OrganizationInput(BaseModel):
    """An organisation's registration details."""

    legal_name: str = Field(min_length=2, max_length=200)
    rfc: str = Field(min_length=12, max_length=16)
    address: str = Field(min_length=5, max_length=500)
    state: str = Field(min_length=1)
    sector: str = Field(min_length=1)
    size: OrgSize
    contact_name: str = Field(min_length=2, max_length=200)
    contact_email: EmailStr
    contact_phone: str = Field(default="", max_length=40)
    website: str = Field(default="", max_length=300)


class ColleagueInput(BaseModel):
    """A colleague invited into an organisation."""

    email: EmailStr
    full_name: str = Field(min_length=2, max_length=200)
    role: OrgRole = OrgRole.editor


class ProductInput(BaseModel):
    """A product's description; the risk level comes from the questionnaire answers."""

    name: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=40)
    identifier: str = Field(default="", max_length=40, pattern=r"^[A-Za-z0-9._:-]*$")
    intended_purpose: str = Field(min_length=10, max_length=5000)
    sectors: list[str] = Field(min_length=1)
    states: list[str] = Field(min_length=1)
    users_affected: str = Field(min_length=3, max_length=2000)
    risk_answers: dict[str, bool]
    data_description: str = Field(min_length=3, max_length=5000)
    personal_data: bool
    legal_basis: str = Field(default="", max_length=2000)
    model_type: str = Field(min_length=2, max_length=200)
    human_oversight: str = Field(min_length=3, max_length=2000)
    provider: str = Field(min_length=2, max_length=200)
    deployer: str = Field(min_length=2, max_length=200)


class AnswerInput(BaseModel):
    """The self-assessment of one criterion."""

    value: AnswerValue | None = None
    justification: str = Field(default="", max_length=10000)
    answer_public: bool = True
    justification_public: bool = False


class LinkInput(BaseModel):
    """A link given as evidence."""

    criterion_code: str
    url: str = Field(pattern=r"^https?://", max_length=1000)
    label: str = Field(default="", max_length=300)
    public: bool = False


class OrganizationOut(BaseModel):
    """An organisation."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    legal_name: str
    rfc: str
    state: str
    sector: str
    size: OrgSize


class ProductOut(BaseModel):
    """A product."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    identifier: str
    name: str
    version: str
    risk_level: RiskLevel
    sectors: list[str]
    states: list[str]
    personal_data: bool


class EvidenceOut(BaseModel):
    """A piece of evidence (the file itself is downloaded separately)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    criterion_code: str
    original_name: str
    content_type: str
    size: int
    sha256: str
    url: str
    label: str
    public: bool


class ChecklistItemOut(BaseModel):
    """One criterion of the checklist with the current answer."""

    code: str
    principle: str
    title: str
    value: AnswerValue | None
    justification: str
    answer_public: bool
    justification_public: bool
    missing: list[str]
    evidence: list[EvidenceOut]


class ApplicationOut(BaseModel):
    """An application, its checklist and what is still missing."""

    id: int
    organization_id: int
    product_id: int
    guideline: str
    version: str
    risk_level: RiskLevel
    status: ApplicationStatus
    decision: Decision | None
    revision: int
    submitted_at: dt.datetime | None
    next_actions: list[str]
    completeness: dict[str, dict[str, int]]
    checklist: list[ChecklistItemOut]


class MessageOut(BaseModel):
    """A message of the thread."""

    id: int
    author: str
    from_secretariat: bool
    is_request: bool
    body: str
    created_at: dt.datetime
    attachments: list[dict[str, Any]]
