"""The JSON document of a guideline version, shared by export, import, revisions and diffs."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.errors import N_, Invalid
from core.forms import FIELD_MESSAGES
from guidelines.models import Criterion, GuidelineVersion, Principle, RiskLevel, VersionStatus

SCHEMA_ID = "urn:ceia:guideline-version:1"
CRITERION_CODE = r"^[A-Z]{2,6}-[0-9]{1,3}[a-z]?$"
PRINCIPLE_CODE = r"^[A-Z]{2,6}$"
VERSION_NUMBER = r"^[0-9]{1,3}\.[0-9]{1,3}$"
DUPLICATE_CODE = N_("This code appears more than once.")
# Schema errors said the way the import page says them (msgids of the catalog).
DOCUMENT_MESSAGES = {
    **FIELD_MESSAGES,
    "extra_forbidden": N_("This field is not part of the schema."),
}


class DuplicateCode(ValueError):
    """A principle or criterion code used twice in one document; `loc` is where it repeats."""

    def __init__(self, loc: tuple[str | int, ...]) -> None:
        super().__init__(DUPLICATE_CODE)
        self.loc = loc


class LocalizedText(BaseModel):
    """A text in Spanish (authoritative) and English."""

    model_config = ConfigDict(extra="forbid")

    es: str = ""
    en: str = ""


class RequiredText(LocalizedText):
    """A text that must exist in Spanish."""

    es: str = Field(min_length=1)


class CriterionDoc(BaseModel):
    """A criterion as written in the version document."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CRITERION_CODE, examples=["TR-2"])
    title: RequiredText
    requirement: RequiredText
    guidance: LocalizedText = Field(default_factory=LocalizedText)
    evidence: LocalizedText = Field(default_factory=LocalizedText)
    risk_levels: list[RiskLevel] = Field(min_length=1)


class PrincipleDoc(BaseModel):
    """A principle and its criteria, in order."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=PRINCIPLE_CODE, examples=["TR"])
    title: RequiredText
    description: LocalizedText = Field(default_factory=LocalizedText)
    criteria: list[CriterionDoc] = Field(default_factory=list)


class GuidelineRef(BaseModel):
    """Which guideline a version belongs to."""

    model_config = ConfigDict(extra="forbid")

    slug: str
    title: RequiredText


class VersionDoc(BaseModel):
    """A whole guideline version as one JSON document (the published JSON Schema)."""

    model_config = ConfigDict(extra="forbid", title="GuidelineVersion")

    schema_: Literal["urn:ceia:guideline-version:1"] = Field(
        default="urn:ceia:guideline-version:1", alias="$schema"
    )
    guideline: GuidelineRef
    number: str = Field(pattern=VERSION_NUMBER, examples=["1.1"])
    status: VersionStatus = VersionStatus.draft
    effective_on: dt.date | None = None
    adoption_resolution: str | None = None
    summary: LocalizedText = Field(default_factory=LocalizedText)
    principles: list[PrincipleDoc] = Field(default_factory=list)

    @model_validator(mode="after")
    def _codes_are_unique(self) -> VersionDoc:
        seen: set[str] = set()
        for p_index, principle in enumerate(self.principles):
            places: list[tuple[str, tuple[str | int, ...]]] = [
                (principle.code, ("principles", p_index, "code")),
                *(
                    (criterion.code, ("principles", p_index, "criteria", c_index, "code"))
                    for c_index, criterion in enumerate(principle.criteria)
                ),
            ]
            for code, loc in places:
                if code in seen:
                    raise DuplicateCode(loc)
                seen.add(code)
        return self

    def criteria(self) -> list[tuple[PrincipleDoc, CriterionDoc]]:
        """Every criterion with its principle, in document order."""
        return [(p, c) for p in self.principles for c in p.criteria]


def version_json_schema() -> dict[str, Any]:
    """The JSON Schema of the version document, as published."""
    schema = VersionDoc.model_json_schema(by_alias=True)
    schema["$id"] = SCHEMA_ID
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def load_version_tree(session: Session, version_id: int) -> GuidelineVersion:
    """A version with its guideline, principles and criteria loaded in three queries."""
    version = session.scalar(
        select(GuidelineVersion)
        .where(GuidelineVersion.id == version_id)
        .options(
            selectinload(GuidelineVersion.guideline),
            selectinload(GuidelineVersion.principles).selectinload(Principle.criteria),
        )
        .execution_options(populate_existing=True)
    )
    assert version is not None
    return version


def _text(es: str, en: str) -> dict[str, str]:
    return {"es": es, "en": en}


def version_document(
    version: GuidelineVersion, *, status: VersionStatus | None = None
) -> VersionDoc:
    """The document of a loaded version tree; `status` is its standing when published."""
    return VersionDoc.model_validate(
        {
            "$schema": SCHEMA_ID,
            "guideline": {
                "slug": version.guideline.slug,
                "title": _text(version.guideline.title_es, version.guideline.title_en),
            },
            "number": version.number,
            "status": status or version.status,
            "effective_on": version.effective_on,
            "adoption_resolution": version.adoption_resolution,
            "summary": _text(version.summary_es, version.summary_en),
            "principles": [
                {
                    "code": p.code,
                    "title": _text(p.title_es, p.title_en),
                    "description": _text(p.description_es, p.description_en),
                    "criteria": [
                        {
                            "code": c.code,
                            "title": _text(c.title_es, c.title_en),
                            "requirement": _text(c.requirement_es, c.requirement_en),
                            "guidance": _text(c.guidance_es, c.guidance_en),
                            "evidence": _text(c.evidence_es, c.evidence_en),
                            "risk_levels": c.risk_levels,
                        }
                        for c in p.criteria
                    ],
                }
                for p in version.principles
            ],
        }
    )


def parse_document(data: Any) -> VersionDoc:
    """Validate an uploaded document, turning schema errors into a field-by-field Invalid."""
    try:
        return VersionDoc.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for error in exc.errors():
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, DuplicateCode):
                loc, message = cause.loc, DUPLICATE_CODE
            else:
                loc = error["loc"]
                message = DOCUMENT_MESSAGES.get(error["type"], DOCUMENT_MESSAGES["value_error"])
            fields.setdefault(".".join(str(part) for part in loc) or "document", message)
        raise Invalid(
            N_("The document does not follow the guideline version schema."), fields=fields
        ) from exc


def criterion_from_doc(doc: CriterionDoc, *, version_id: int, position: int) -> Criterion:
    """A new criterion row from its document form."""
    return Criterion(
        version_id=version_id,
        position=position,
        code=doc.code,
        title_es=doc.title.es,
        title_en=doc.title.en,
        requirement_es=doc.requirement.es,
        requirement_en=doc.requirement.en,
        guidance_es=doc.guidance.es,
        guidance_en=doc.guidance.en,
        evidence_es=doc.evidence.es,
        evidence_en=doc.evidence.en,
        risk_levels=[level.value for level in doc.risk_levels],
    )


def fill_version(session: Session, version: GuidelineVersion, doc: VersionDoc) -> None:
    """Replace a loaded version's summary, principles and criteria with the document's."""
    version.summary_es = doc.summary.es
    version.summary_en = doc.summary.en
    version.principles.clear()
    session.flush()  # the old codes must be gone before the new rows claim them
    for p_index, p_doc in enumerate(doc.principles, start=1):
        principle = Principle(
            position=p_index,
            code=p_doc.code,
            title_es=p_doc.title.es,
            title_en=p_doc.title.en,
            description_es=p_doc.description.es,
            description_en=p_doc.description.en,
        )
        version.principles.append(principle)
        for c_index, c_doc in enumerate(p_doc.criteria, start=1):
            principle.criteria.append(
                criterion_from_doc(c_doc, version_id=version.id, position=c_index)
            )
    session.flush()
