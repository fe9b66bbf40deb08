"""The organisation verbs that took over from their pages: the sign-up limit, and proof files
that follow the transaction they belong to."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import Role
from core.errors import Invalid, RateLimited
from core.ratelimit import RateLimitHit
from core.storage import FileStore
from quality_marks import organizations
from quality_marks.models import Organization, OrgSize
from quality_marks.schemas import OrganizationInput
from tests.factories import NOW, make_user
from tests.quality_marks.factories import make_organization

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MAX_BYTES = 1024 * 1024


def _files(store: FileStore) -> set[str]:
    return {str(path.relative_to(store.root)) for path in store.root.rglob("*") if path.is_file()}


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


def _upload(db: Session, store: FileStore, organization: Organization, content: bytes) -> str:
    owner = organizations.owners_of(db, organization.id)[0]
    organizations.upload_proof(
        db,
        actor=owner,
        organization_id=organization.id,
        stream=io.BytesIO(content),
        filename="constancia.pdf",
        store=store,
        max_bytes=MAX_BYTES,
        now=NOW,
    )
    assert organization.proof_key is not None
    return organization.proof_key


def test_a_replaced_proof_is_removed_only_once_the_new_one_is_committed(
    db: Session, store: FileStore
) -> None:
    organization = make_organization(db, verified=False)
    first = _upload(db, store, organization, PDF + b"1")
    db.commit()
    second = _upload(db, store, organization, PDF + b"2")
    assert _files(store) == {first, second}  # the old proof stays until the change is kept
    db.commit()
    assert _files(store) == {second}


def test_a_proof_upload_that_rolls_back_leaves_the_old_proof_and_no_new_file(
    db: Session, store: FileStore
) -> None:
    organization = make_organization(db, verified=False)
    first = _upload(db, store, organization, PDF + b"1")
    db.commit()
    _upload(db, store, organization, PDF + b"2")
    db.rollback()
    assert _files(store) == {first}
    db.refresh(organization)
    assert organization.proof_key == first


@pytest.mark.parametrize("content", [b"", b"<html><script>x</script></html>"])
def test_a_refused_proof_leaves_no_file(db: Session, store: FileStore, content: bytes) -> None:
    organization = make_organization(db, verified=False)
    with pytest.raises(Invalid):
        _upload(db, store, organization, content)
    db.rollback()
    assert _files(store) == set()


def test_a_proof_is_refused_when_no_file_was_chosen(db: Session, store: FileStore) -> None:
    organization = make_organization(db, verified=False)
    owner = organizations.owners_of(db, organization.id)[0]
    with pytest.raises(Invalid):
        organizations.upload_proof(
            db,
            actor=owner,
            organization_id=organization.id,
            stream=None,
            filename="",
            store=store,
            max_bytes=MAX_BYTES,
            now=NOW,
        )
    assert _files(store) == set()


def test_a_dispute_that_rolls_back_leaves_no_proof_file(db: Session, store: FileStore) -> None:
    holder = make_organization(db)
    claimant = make_user(db, role=Role.applicant)
    details = OrganizationInput(
        legal_name="Otra Empresa S.A. de C.V.",
        rfc=holder.rfc,
        address="Av. Reforma 1, CDMX",
        state="Ciudad de México",
        sector="salud",
        size=OrgSize.small,
        contact_name="Ana Pérez",
        contact_email="ana@otra.example.mx",
        contact_phone="5555555555",
        website="",
    )
    organizations.file_dispute(
        db,
        actor=claimant,
        data=details,
        statement="El RFC es nuestro.",
        stream=io.BytesIO(PDF),
        filename="constancia.pdf",
        store=store,
        max_bytes=MAX_BYTES,
        now=NOW,
    )
    assert len(_files(store)) == 1
    db.rollback()
    assert _files(store) == set()


def _sign_up(db: Session, email: str) -> None:
    organizations.request_sign_up(
        db,
        details={"full_name": "Paola", "email": email, "rfc": "no es un RFC", "password": ""},
        client_ip="203.0.113.9",
        locale="es_MX",
        base_url="http://testserver",
        now=NOW,
    )


def _signup_hits(db: Session) -> int:
    count = db.scalar(
        select(func.count(RateLimitHit.id)).where(
            RateLimitHit.bucket == organizations.SIGNUP_BUCKET
        )
    )
    return count or 0


def test_a_refused_sign_up_is_counted_and_the_limit_refuses_the_next(db: Session) -> None:
    for n in range(organizations.SIGNUP_LIMIT):
        with pytest.raises(Invalid):
            _sign_up(db, f"persona{n}@example.mx")
    assert _signup_hits(db) == organizations.SIGNUP_LIMIT
    with pytest.raises(RateLimited):
        _sign_up(db, "otra@example.mx")
    assert _signup_hits(db) == organizations.SIGNUP_LIMIT
