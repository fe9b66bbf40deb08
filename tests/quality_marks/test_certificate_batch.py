"""A batch of certificates: numbers in the order of the decisions, PDFs signed by workers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import make_engine, make_sessionmaker
from core.signing import CouncilKeys, check_pdf_signature
from core.storage import FileStore
from quality_marks.certificate_batch import BatchTerms, issue_in_batch
from quality_marks.certificate_models import Certificate, CertificateCounter, CertificateStatus
from quality_marks.certificates import certificate_pdf
from tests.quality_marks.certificate_builders import decision_of, granted
from tests.quality_marks.certificate_issuance import ISSUED_AT, PREFIX, another_granted
from tests.quality_marks.decision_builders import URL

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


def test_a_batch_numbers_in_order_and_signs_in_parallel(
    fresh_database_url: str, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    engine = make_engine(fresh_database_url)
    factory = make_sessionmaker(engine)
    with factory() as db:
        first = granted(db)
        cases = [first] + [another_granted(db, first) for _ in range(3)]
        decisions = [decision_of(db, case).id for case in cases]
        db.commit()
    terms = BatchTerms(
        database_url=fresh_database_url,
        keys_dir=council_keys.directory,
        storage_dir=tmp_path / "store",
        base_url=URL,
        prefix=PREFIX,
        now=ISSUED_AT,
    )
    outcomes = issue_in_batch(decisions, terms=terms, workers=2)
    year = ISSUED_AT.year
    assert [(o.decision_id, o.number, o.status) for o in outcomes] == [
        (decision_id, f"{PREFIX}-{year}-{serial:06d}", "valid")
        for serial, decision_id in enumerate(decisions, start=1)
    ]
    # Asked again, the batch gives no new certificate: each decision already has its own.
    again = issue_in_batch(decisions, terms=terms, workers=2)
    assert {o.number for o in again} <= {None} | {o.number for o in outcomes}
    with factory() as db:
        issued = db.scalars(select(Certificate).order_by(Certificate.serial)).all()
        assert db.scalar(select(CertificateCounter.last)) == len(decisions)
        assert [c.status for c in issued] == [CertificateStatus.valid] * len(decisions)
        store = FileStore(terms.storage_dir)
        for certificate in issued:
            check = check_pdf_signature(council_keys, certificate_pdf(store, certificate))
            assert (check.signed, check.intact, check.trusted) == (True, True, True)
    engine.dispose()
