"""The scaled demo: the amounts of work it promises, made through the verbs where it counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import find_user_by_email
from core.audit import verify_chain
from core.storage import FileStore
from council.demo import DEMO_PASSWORD, seed_demo
from council.demo_certificates import GRANT_STORIES
from council.demo_quality_marks import PRODUCTS
from council.demo_scale import LARGE_SLUG, seed_scale
from council.models import Ballot, BallotStatus, Resolution
from guidelines.models import (
    ConsultationComment,
    Criterion,
    Guideline,
    GuidelineVersion,
    VersionStatus,
)
from quality_marks.models import Application, ApplicationStatus, Organization
from tests.factories import NOW, sign_in_as

SCALE = 70


@pytest.fixture
def scaled(db: Session, tmp_path: Path) -> Session:
    seed_demo(db, store=FileStore(tmp_path / "store"), base_url="http://testserver", now=NOW)
    seed_scale(db, scale=SCALE, now=NOW)
    db.commit()
    return db


def _count(db: Session, *where: object, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


def test_the_scaled_demo_holds_the_amounts_it_promises(scaled: Session) -> None:
    demo_applications = len(PRODUCTS) + len(GRANT_STORIES)
    assert _count(scaled, model=Application) == SCALE + demo_applications
    statuses = set(scaled.scalars(select(Application.status).distinct()))
    # The scaled rows hold every status but an appeal (it needs a recorded refusal); the
    # demo's own applications hold that one.
    assert statuses == set(ApplicationStatus)
    assert (
        _count(
            scaled,
            ConsultationComment.email.like("%@consulta.example.mx"),
            model=ConsultationComment,
        )
        == SCALE
    )
    # The scaled open ballots, and the demo's appeal before its panel.
    open_ballots = _count(scaled, Ballot.status == BallotStatus.open, model=Ballot)
    assert open_ballots == max(1, SCALE // 100) + 1
    # Each closed ballot is a resolution: the scaled ones, the demo's adoption, its two
    # decisions and its grants, and the large guideline's adoption.
    assert _count(scaled, model=Resolution) == SCALE // 10 + 4 + len(GRANT_STORIES)
    large = scaled.scalar(
        select(GuidelineVersion).join(Guideline).where(Guideline.slug == LARGE_SLUG)
    )
    assert large is not None
    assert large.status == VersionStatus.adopted
    assert _count(scaled, Criterion.version_id == large.id, model=Criterion) == 300


def test_the_scaled_work_keeps_the_audit_chain_whole(scaled: Session) -> None:
    checked, broken = verify_chain(scaled)
    assert broken is None
    assert checked > SCALE // 10


def test_one_organisation_holds_a_tenth_of_the_scaled_applications(scaled: Session) -> None:
    largest = scaled.execute(
        select(Application.organization_id, func.count())
        .group_by(Application.organization_id)
        .order_by(func.count().desc())
    ).first()
    assert largest is not None
    assert largest[1] >= SCALE // 10
    assert scaled.get(Organization, largest[0]) is not None


def test_the_work_lists_open_on_the_scaled_demo(client: TestClient, scaled: Session) -> None:
    secretariat = find_user_by_email(scaled, "secretaria@ceia.gob.mx")
    assert secretariat is not None
    sign_in_as(client, secretariat, DEMO_PASSWORD)
    for path in ["/applications", "/council/ballots", "/council/resolutions"]:
        assert client.get(path).status_code == 200, path
    assert client.get(f"/guidelines/{LARGE_SLUG}/1.0").status_code == 200
