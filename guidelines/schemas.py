"""Input and output shapes of guidelines for forms and the API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from core.forms import SingleLine
from guidelines.documents import CRITERION_CODE, PRINCIPLE_CODE, VERSION_NUMBER
from guidelines.models import (
    CommenterType,
    ConsultationComment,
    Disposition,
    RiskLevel,
    VersionStatus,
)


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


class CommentIn(BaseModel):
    """A public comment sent through the API; it is published once the e-mailed link is opened."""

    target_code: SingleLine = Field(
        default="",
        max_length=20,
        description="Empty for the whole draft, else a principle or criterion code.",
        examples=["TR-2"],
    )
    author_name: SingleLine = Field(default="", max_length=200, description="Published when given.")
    email: SingleLine = Field(max_length=320, description="For confirmation only; never published.")
    commenter_type: CommenterType
    organisation: SingleLine = Field(default="", max_length=200)
    body: str = Field(max_length=20000, description="The comment, 10 to 5000 characters.")


class CommentOut(BaseModel):
    """A comment as the public sees it; a hidden comment keeps only the secretariat's reason."""

    id: int
    target_code: str
    author_name: str | None
    commenter_type: CommenterType
    organisation: str | None
    body: str | None
    created_at: dt.datetime
    published: bool
    hidden: bool
    hidden_reason: str | None
    disposition: Disposition | None
    response: str | None
    changed_codes: list[str]
    disposed_at: dt.datetime | None


def comment_out(comment: ConsultationComment) -> CommentOut:
    """The public view of a comment: never the e-mail address, never the text of a hidden one."""
    hidden = comment.hidden_at is not None
    return CommentOut(
        id=comment.id,
        target_code=comment.target_code,
        author_name=None if hidden else comment.author_name,
        commenter_type=comment.commenter_type,
        organisation=None if hidden else comment.organisation,
        body=None if hidden else comment.body,
        created_at=comment.created_at,
        published=comment.confirmed_at is not None,
        hidden=hidden,
        hidden_reason=comment.hidden_reason if hidden else None,
        disposition=None if hidden else comment.disposition,
        response=None if hidden else comment.response,
        changed_codes=[] if hidden else comment.changed_codes,
        disposed_at=None if hidden else comment.disposed_at,
    )
