"""Plain functions that build guidelines through the real service verbs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from core.accounts import Role, User
from guidelines import service
from guidelines.documents import load_version_tree
from guidelines.models import GuidelineVersion, RiskLevel
from guidelines.schemas import CriterionInput, GuidelineInput, PrincipleInput
from tests.factories import NOW, make_user


def make_staff(db: Session) -> User:
    """A secretariat member."""
    return make_user(db, role=Role.secretariat)


def make_criterion_input(code: str, principle_code: str, text: str = "") -> CriterionInput:
    """A valid criterion input."""
    return CriterionInput(
        code=code,
        principle_code=principle_code,
        title_es=f"Criterio {code}",
        title_en=f"Criterion {code}",
        requirement_es=text or f"El proveedor debe cumplir {code}.",
        requirement_en=f"The provider must meet {code}.",
        risk_levels=[RiskLevel.limited, RiskLevel.high],
    )


def make_draft(
    db: Session,
    staff: User,
    *,
    slug: str = "etica-ia",
    criteria: dict[str, list[str]] | None = None,
    now: dt.datetime = NOW,
) -> GuidelineVersion:
    """A guideline with a draft 1.0 holding the given principles and criteria."""
    layout = criteria or {"TR": ["TR-1", "TR-2"], "EQ": ["EQ-1"]}
    guideline = service.create_guideline(
        db,
        actor=staff,
        data=GuidelineInput(slug=slug, title_es="Ética en IA", title_en="Ethics in AI"),
        now=now,
    )
    version = service.get_version(db, slug=guideline.slug, number="1.0", viewer=staff)
    for principle_code, codes in layout.items():
        service.add_principle(
            db,
            actor=staff,
            version=version,
            data=PrincipleInput(code=principle_code, title_es=f"Principio {principle_code}"),
            expected_revision=None,
            now=now,
        )
        for code in codes:
            service.add_criterion(
                db,
                actor=staff,
                version=version,
                data=make_criterion_input(code, principle_code),
                expected_revision=None,
                now=now,
            )
    return load_version_tree(db, version.id)


def adopt(
    db: Session,
    version: GuidelineVersion,
    *,
    now: dt.datetime = NOW,
    resolution: str = "CEIA-2026-001",
) -> GuidelineVersion:
    """Adopt a version as a council resolution would, in force from the day it is adopted."""
    service.adopt_version(
        db,
        version=version,
        resolution=resolution,
        effective_on=now.date(),
        consultation_skipped_reason=""
        if version.consultation_opened_at
        else "Versión de prueba sin consulta.",
        actor=None,
        now=now,
    )
    return load_version_tree(db, version.id)


def consulted_version(db: Session, staff: User, closes_on: dt.date) -> GuidelineVersion:
    """Version 1.0 of "etica-ia" with one principle and two criteria, in consultation."""
    service.create_guideline(
        db, actor=staff, data=GuidelineInput(slug="etica-ia", title_es="Ética en IA"), now=NOW
    )
    draft = service.get_version(db, slug="etica-ia", number="1.0", viewer=staff)
    service.add_principle(
        db,
        actor=staff,
        version=draft,
        data=PrincipleInput(code="TR", title_es="Transparencia"),
        expected_revision=None,
        now=NOW,
    )
    for code in ("TR-1", "TR-2"):
        service.add_criterion(
            db,
            actor=staff,
            version=draft,
            data=CriterionInput(
                code=code,
                principle_code="TR",
                title_es=f"Criterio {code}",
                requirement_es=f"Requisito **{code}**.",
                risk_levels=[RiskLevel.limited],
            ),
            expected_revision=None,
            now=NOW,
        )
    draft = service.get_version(db, slug="etica-ia", number="1.0", viewer=staff)
    service.open_consultation(
        db, actor=staff, version=draft, closes_on=closes_on, min_days=14, now=NOW
    )
    db.commit()
    return service.get_version(db, slug="etica-ia", number="1.0", viewer=None)
