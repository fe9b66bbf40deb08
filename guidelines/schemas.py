"""Input and output shapes of guidelines for forms and the API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from core.forms import SingleLine
from guidelines.documents import CRITERION_CODE, PRINCIPLE_CODE, VERSION_NUMBER
from guidelines.models import RiskLevel, VersionStatus


class GuidelineInput(BaseModel):
    """A new guideline: its public slug and bilingual title."""

    slug: str = Field(min_length=3, max_length=80, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title_es: SingleLine = Field(min_length=1, max_length=300)
    title_en: SingleLine = Field(default="", max_length=300)


class SummaryInput(BaseModel):
    """A draft's bilingual summary."""

    summary_es: str = Field(default="", max_length=5000)
    summary_en: str = Field(default="", max_length=5000)


class PrincipleInput(BaseModel):
    """A principle as entered by the secretariat."""

    code: str = Field(pattern=PRINCIPLE_CODE)
    title_es: SingleLine = Field(min_length=1, max_length=300)
    title_en: SingleLine = Field(default="", max_length=300)
    description_es: str = Field(default="", max_length=10000)
    description_en: str = Field(default="", max_length=10000)


class CriterionInput(BaseModel):
    """A criterion as entered by the secretariat."""

    code: str = Field(pattern=CRITERION_CODE)
    principle_code: str = Field(pattern=PRINCIPLE_CODE)
    title_es: SingleLine = Field(min_length=1, max_length=300)
    title_en: SingleLine = Field(default="", max_length=300)
    requirement_es: str = Field(min_length=1, max_length=20000)
    requirement_en: str = Field(default="", max_length=20000)
    guidance_es: str = Field(default="", max_length=20000)
    guidance_en: str = Field(default="", max_length=20000)
    evidence_es: str = Field(default="", max_length=20000)
    evidence_en: str = Field(default="", max_length=20000)
    risk_levels: list[RiskLevel] = Field(min_length=1)


class NewDraftInput(BaseModel):
    """The number of a new draft version and the version it is copied from."""

    number: str = Field(pattern=VERSION_NUMBER)
    source: str | None = Field(
        default=None,
        pattern=VERSION_NUMBER,
        description="The version to copy; by default the one adopted last.",
    )


class ConsultationInput(BaseModel):
    """When a public consultation closes."""

    closes_on: dt.date


class VersionSummaryOut(BaseModel):
    """A version in a list."""

    model_config = ConfigDict(from_attributes=True)

    number: str
    status: VersionStatus
    effective_on: dt.date | None
    adopted_at: dt.datetime | None
    consultation_closes_at: dt.datetime | None
    revision_number: int
    in_force: bool = Field(default=False, description="Whether the version is in force now.")


class GuidelineOut(BaseModel):
    """A guideline with its versions."""

    slug: str
    title_es: str
    title_en: str
    in_force: str | None
    versions: list[VersionSummaryOut]


class RevisionOut(BaseModel):
    """One saved state of a draft."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    author_label: str
    note: str
    created_at: dt.datetime
