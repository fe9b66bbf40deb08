"""Nothing the applicants kept confidential reaches the public: every public output of the demo
registry is searched for every confidential string the demo holds."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.settings import Settings
from core.signing import CouncilKeys
from core.storage import FileStore
from council.demo import seed_demo
from council.demo_certificates import certify_demo
from quality_marks.certificate_models import Certificate, CertificateStatus
from quality_marks.models import (
    Answer,
    Evidence,
    Organization,
    Product,
    Review,
    ReviewFinding,
    ReviewNote,
)
from tests.factories import NOW
from tests.quality_marks.certificate_issuance import joined_factory

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

# Shorter strings would match public words by chance ("salud", a state's name).
SHORTEST_SECRET = 12
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _confidential(db: Session) -> set[str]:
    """Every text the demo's applicants, reviewers and people did not make public."""
    secrets: set[str] = set()
    for answer in db.scalars(select(Answer)):
        if not answer.justification_public:
            secrets.add(answer.justification)
    for product in db.scalars(select(Product)):
        secrets |= {
            product.intended_purpose,
            product.data_description,
            product.users_affected,
            product.legal_basis,
            product.human_oversight,
        }
    for organization in db.scalars(select(Organization)):
        secrets |= {
            organization.rfc,
            organization.address,
            organization.contact_email,
            organization.contact_name,
            organization.contact_phone,
        }
    for evidence in db.scalars(select(Evidence).where(Evidence.public.is_(False))):
        secrets |= {evidence.original_name, evidence.label, evidence.url}
    for review in db.scalars(select(Review)):
        secrets |= {review.summary, review.conditions, review.private_note}
    for finding in db.scalars(select(ReviewFinding)):
        secrets |= {finding.comment, finding.private_note}
    for note in db.scalars(select(ReviewNote)):
        secrets.add(note.body)
    for person in db.scalars(select(User).where(User.role.in_([Role.expert, Role.applicant]))):
        secrets |= {person.full_name, person.email}
    return {text.strip() for text in secrets if text and len(text.strip()) >= SHORTEST_SECRET}


def _readable(content_type: str, body: bytes) -> str:
    """What a reader of the answer can see: text, the text of a PDF, a JWT's decoded claims."""
    if content_type.startswith("application/pdf"):
        reader = PdfReader(io.BytesIO(body))
        attached = "".join(
            data.decode("utf-8", "replace")
            for files in reader.attachments.values()
            for data in files
        )
        return "\n".join(page.extract_text() for page in reader.pages) + attached
    text = body.decode("utf-8", "replace")
    if content_type.startswith("application/vc+jwt") or COMPACT_JWS.fullmatch(text.strip()):
        payload = text.split(".")[1]
        text += base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    if content_type.startswith("application/json"):
        # Escapes such as \u00e9 would hide accented secrets from a plain search (JSON Lines too).
        lines = text.splitlines() if "jsonl" in content_type else [text]
        text += "".join(json.dumps(json.loads(line), ensure_ascii=False) for line in lines if line)
    return text


def _public_addresses(db: Session) -> Iterator[str]:
    """Every public page, download, feed, badge and API answer the demo registry has."""
    yield from ("/", "/verify", "/registry/statistics", "/registry/data", "/registry/feed.atom")
    # The search over everything, and over words the confidential texts hold.
    for query in ("", "salud", "evidencia adjunta", "privacidad", "Insurgentes"):
        yield f"/registry?q={query}"
        yield f"/api/v1/registry?q={query}&per_page=100"
    yield from ("/transparency/sth", "/transparency/sth/history", "/api/v1/transparency/leaves")
    for kind in ("certificates", "events"):
        for suffix in ("csv", "json", "jsonl"):
            yield f"/registry/data/{kind}.{suffix}"
    yield from ("/credentials/status/revocation", "/credentials/status/suspension", "/issuer")
    issued = db.scalars(
        select(Certificate).where(Certificate.status != CertificateStatus.void)
    ).all()
    for certificate in issued:
        number = certificate.number
        yield from (
            f"/verify/{number}",
            f"/verify/{number}/certificate.pdf",
            f"/verify/{number}/credential.jwt",
            f"/verify/{number}/badge.svg",
            f"/api/v1/certificates/{number}",
        )
        product = db.get(Product, certificate.product_id)
        assert product is not None
        yield f"/registry/products/{product.identifier}"
        yield f"/registry/organisations/{certificate.organization_id}"
        yield f"/api/v1/transparency/proof/certificate/{number}"


def test_no_confidential_demo_text_reaches_any_public_output(
    client: TestClient, db: Session, settings: Settings, council_keys: CouncilKeys
) -> None:
    store = FileStore(settings.storage_dir)  # where the service reads the PDFs
    seed_demo(db, store=store, base_url="http://testserver", now=NOW)
    certify_demo(
        joined_factory(db),
        keys=council_keys,
        store=store,
        base_url="http://testserver",
        prefix="MX-CEIA",
        now=NOW,
    )
    db.commit()
    secrets = _confidential(db)
    assert len(secrets) > 50  # the demo holds plenty to leak
    checked = 0
    for language in ("es_MX", "en"):
        client.cookies.set("lang", language)
        for address in _public_addresses(db):
            answer = client.get(address)
            assert answer.status_code == 200, address
            readable = _readable(answer.headers.get("content-type", ""), answer.content)
            leaked = sorted(secret for secret in secrets if secret in readable)
            assert not leaked, (address, leaked[:3])
            checked += 1
    assert checked > 40
