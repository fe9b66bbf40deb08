"""The demo's certificates: one in each status the registry shows, each a real signed PDF."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.signing import CouncilKeys, check_pdf_signature
from core.storage import FileStore
from council.demo import seed_demo
from council.demo_certificates import CERTIFICATE_STORIES, certify_demo
from quality_marks.certificate_history import certificate_history
from quality_marks.certificate_models import CertificateStatus, RegistryEventKind
from quality_marks.certificates import certificate_pdf
from quality_marks.models import Product
from tests.factories import NOW
from tests.quality_marks.certificate_issuance import joined_factory

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


def test_the_demo_holds_valid_suspended_withdrawn_and_expired_signed_certificates(
    db: Session, tmp_path: Path, council_keys: CouncilKeys
) -> None:
    store = FileStore(tmp_path / "store")
    seed_demo(db, store=store, base_url="http://testserver", now=NOW)
    certified = certify_demo(
        joined_factory(db),
        keys=council_keys,
        store=store,
        base_url="http://testserver",
        prefix="MX-CEIA",
        now=NOW,
    )
    identifiers = {p.id: p.identifier for p in db.scalars(select(Product))}
    statuses = {identifiers[c.product_id]: c.status for c in certified}
    assert statuses == {key: status for key, (status, _days) in CERTIFICATE_STORIES.items()}
    # Numbers run per year of issue: the expired one was issued the year before the others.
    years = sorted(c.year for c in certified)
    assert years[0] < years[-1]
    assert sorted(c.serial for c in certified if c.year == years[-1]) == [1, 2, 3]
    for certificate in certified:
        check = check_pdf_signature(council_keys, certificate_pdf(store, certificate))
        assert (check.signed, check.intact, check.trusted) == (True, True, True)
        kinds = [e.kind for e in certificate_history(db, certificate.id)]
        assert kinds[0] == RegistryEventKind.issued
        if certificate.status != CertificateStatus.valid:
            assert (
                kinds[-1].value
                == {
                    CertificateStatus.suspended: "suspended",
                    CertificateStatus.withdrawn: "withdrawn",
                    CertificateStatus.expired: "expired",
                }[certificate.status]
            )
