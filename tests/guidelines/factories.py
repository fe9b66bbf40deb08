"""Page and API test helpers on top of tests.guidelines.builders: lookups and a 1.0 → 1.1 story.

The builders here commit (a savepoint inside the test's transaction): a request that rolls back
after a refused change must not take the test's data with it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import User
from guidelines import service
from guidelines.documents import load_version_tree
from guidelines.models import Guideline, GuidelineVersion
from tests.factories import NOW
from tests.guidelines.builders import adopt, make_criterion_input, make_draft

SLUG = "etica-ia"
# EQ-1 of 1.1 says "verificar" where 1.0 said "cumplir".
OLD_WORD = "cumplir"
NEW_WORD = "verificar"


def load_version(db: Session, number: str, slug: str = SLUG) -> GuidelineVersion:
    """A version's whole tree as the database holds it now, whatever its status."""
    version_id = db.scalar(
        select(GuidelineVersion.id)
        .join(Guideline)
        .where(Guideline.slug == slug, GuidelineVersion.number == number)
    )
    assert version_id is not None, f"no version {slug} {number}"
    return load_version_tree(db, version_id)


def version_numbers(db: Session, slug: str = SLUG) -> list[str]:
    """The numbers of a guideline's versions, oldest first."""
    return list(
        db.scalars(
            select(GuidelineVersion.number)
            .join(Guideline)
            .where(Guideline.slug == slug)
            .order_by(GuidelineVersion.id)
        )
    )


def criterion_codes(version: GuidelineVersion) -> list[str]:
    """The criterion codes of a loaded version, in document order."""
    return [c.code for p in version.principles for c in p.criteria]


def principle_id(version: GuidelineVersion, code: str) -> int:
    """The row id of a principle, by code."""
    (found,) = [p.id for p in version.principles if p.code == code]
    return found


def criterion_id(version: GuidelineVersion, code: str) -> int:
    """The row id of a criterion, by code."""
    (found,) = [c.id for p in version.principles for c in p.criteria if c.code == code]
    return found


def make_saved_draft(
    db: Session, staff: User, *, slug: str = SLUG, criteria: dict[str, list[str]] | None = None
) -> GuidelineVersion:
    """Draft 1.0 (by default TR-1, TR-2 and EQ-1), committed."""
    version = make_draft(db, staff, slug=slug, criteria=criteria)
    db.commit()
    return version


def make_adopted(db: Session, staff: User, *, slug: str = SLUG) -> GuidelineVersion:
    """Version 1.0 (TR-1, TR-2, EQ-1) adopted and in force, committed."""
    version = adopt(db, make_draft(db, staff, slug=slug))
    db.commit()
    return version


def start_draft(
    db: Session, staff: User, number: str = "1.1", *, slug: str = SLUG
) -> GuidelineVersion:
    """A new draft copied from the version in force."""
    guideline = service.get_guideline(db, slug)
    version = service.start_new_draft(db, actor=staff, guideline=guideline, number=number, now=NOW)
    db.commit()
    return load_version_tree(db, version.id)


def make_revised_draft(db: Session, staff: User, *, slug: str = SLUG) -> GuidelineVersion:
    """Adopted 1.0 and a draft 1.1 without TR-2, with a new TR-3 and a reworded EQ-1."""
    make_adopted(db, staff, slug=slug)
    draft = start_draft(db, staff, slug=slug)
    service.delete_criterion(
        db,
        actor=staff,
        version=draft,
        criterion_id=criterion_id(draft, "TR-2"),
        expected_revision=None,
        now=NOW,
    )
    draft = load_version_tree(db, draft.id)
    service.add_criterion(
        db,
        actor=staff,
        version=draft,
        data=make_criterion_input("TR-3", "TR"),
        expected_revision=None,
        now=NOW,
    )
    draft = load_version_tree(db, draft.id)
    service.update_criterion(
        db,
        actor=staff,
        version=draft,
        criterion_id=criterion_id(draft, "EQ-1"),
        data=make_criterion_input("EQ-1", "EQ", f"El proveedor debe {NEW_WORD} EQ-1."),
        expected_revision=None,
        now=NOW,
    )
    db.commit()
    return load_version_tree(db, draft.id)


def open_consultation(
    db: Session, staff: User, version: GuidelineVersion, *, days: int = 30
) -> GuidelineVersion:
    """Put a draft to public consultation closing `days` after NOW."""
    service.open_consultation(
        db,
        actor=staff,
        version=version,
        closes_on=(NOW + dt.timedelta(days=days)).date(),
        min_days=days,
        now=NOW,
    )
    db.commit()
    return load_version_tree(db, version.id)
