"""Issuing certificates: numbers without gaps, idempotency, the signed PDF, supersession, pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.audit import AuditEvent
from core.auth import now_utc
from core.errors import Conflict, Forbidden
from core.i18n import LOCALE_COOKIE, translator
from core.mail import OutboxMessage
from core.signing import CouncilKeys, check_pdf_signature, verify_jwt
from core.storage import FileStore
from council.models import PositionKind
from guidelines.models import GuidelineVersion, VersionStatus
from quality_marks import certificate_lifecycle as lifecycle
from quality_marks import certificates, decisions
from quality_marks.certificate_history import certificate_history
from quality_marks.certificate_models import (
    Certificate,
    CertificateStatus,
    RegistryEventKind,
    WithdrawalReason,
)
from quality_marks.models import ApplicationDecision, Finding
from tests.conftest import csrf_of
from tests.council.test_decision_ballots import _close, _open, _reviewed, _vote
from tests.factories import NOW, make_user, sign_in_as
from tests.quality_marks.certificate_builders import decision_of, granted, make_certificate
from tests.quality_marks.certificate_issuance import (
    ISSUED_AT,
    PREFIX,
    another_granted,
    issue,
    joined_factory,
)
from tests.quality_marks.decision_builders import URL
from tests.quality_marks.test_api import bearer

NEXT_YEAR = dt.datetime(2027, 1, 10, 18, 0, tzinfo=dt.UTC)


def _actions(db: Session, certificate: Certificate) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(
                AuditEvent.object_type == "certificate",
                AuditEvent.object_id == certificate.number,
            )
            .order_by(AuditEvent.id)
        )
    )


def test_a_granted_mark_is_issued_with_its_pdf_events_and_mail(
    db: Session, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    case = granted(db)
    certificate = issue(db, council_keys, tmp_path, decision_of(db, case).id)

    assert certificate.status == CertificateStatus.valid
    assert re.fullmatch(r"MX-CEIA-2026-\d{6}", certificate.number)
    assert certificate.key_id == council_keys.kid
    stored = FileStore(tmp_path).path_of(certificate.pdf_key or "").read_bytes()
    assert hashlib.sha256(stored).hexdigest() == certificate.pdf_sha256
    assert len(stored) == certificate.pdf_size
    assert certificates.certificate_pdf(FileStore(tmp_path), certificate) == stored
    assert _actions(db, certificate) == ["certificate.allocated", "certificate.issued"]
    [event] = certificate_history(db, certificate.id)
    assert event.kind == RegistryEventKind.issued
    assert event.resolution == case.application.decision_resolution
    assert set(event.public_reason) == {"es", "en"}
    payload = certificate.payload
    assert payload["verify_url"] == f"{URL}/verify/{certificate.number}"
    assert payload["status_list_index"] == certificate.status_list_index
    assert 0 <= certificate.status_list_index < certificates.STATUS_LIST_SIZE
    assert payload["guideline_url"] == f"{URL}/guidelines/etica-ia/1.0"
    mail = db.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == case.owner.email)
    ).all()[-1]
    assert certificate.number in mail.subject
    assert f"/verify/{certificate.number}" in mail.body_text
    assert certificates.get_certificate(db, certificate.number).id == certificate.id


def test_the_pdf_reads_back_in_both_languages_with_its_credential_and_signature(
    db: Session, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    case = granted(db)
    certificate = issue(db, council_keys, tmp_path, decision_of(db, case).id)
    pdf = certificates.certificate_pdf(FileStore(tmp_path), certificate)
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)

    assert certificate.number in text
    assert certificate.payload["product_name"] in text
    assert case.organization.legal_name in text
    assert "Nivel B: conformidad con observaciones menores" in text  # Spanish, first
    assert "Level B: conformity with minor observations" in text  # then English
    assert text.index("Nivel B") < text.index("Level B")
    assert "de diciembre de 2026" in text
    assert "December 2, 2028" in text
    assert certificate.payload["resolution"] in text
    # PDF/A-3b: the XMP identification and an output intent.
    xmp = reader.xmp_metadata
    assert xmp is not None
    xml = xmp.stream.get_data().decode()
    assert 'pdfaid:part="3"' in xml
    assert 'pdfaid:conformance="B"' in xml
    assert reader.root_object.get("/OutputIntents")
    # The credential inside verifies with the council's keys and says what the page says.
    [token] = reader.attachments["credential.jwt"]
    claims = verify_jwt(council_keys, token.decode())
    assert token.decode() == certificate.credential
    assert claims["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert claims["iss"] == f"{URL}/issuer"
    assert claims["jti"] == certificate.payload["verify_url"]
    assert (
        claims["credentialSubject"]["achievement"]["criteria"]["id"]
        == (certificate.payload["guideline_url"])
    )
    assert claims["exp"] > claims["nbf"]
    statuses = {entry["statusPurpose"]: entry for entry in claims["credentialStatus"]}
    assert set(statuses) == {"revocation", "suspension"}
    for purpose, entry in statuses.items():
        assert entry["statusListIndex"] == str(certificate.status_list_index)
        assert entry["statusListCredential"] == f"{URL}/credentials/status/{purpose}"
    [decoded] = reader.attachments["credential.json"]
    assert json.loads(decoded)["id"] == claims["id"]
    # The PAdES signature, checked by pyHanko's validator.
    check = check_pdf_signature(council_keys, pdf)
    assert (check.signed, check.intact, check.trusted) == (True, True, True)
    middle = len(pdf) // 3
    tampered = pdf[:middle] + bytes([pdf[middle] ^ 1]) + pdf[middle + 1 :]
    assert not check_pdf_signature(council_keys, tampered).intact


def test_issuing_again_returns_the_same_certificate(
    db: Session, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    case = granted(db)
    decision = decision_of(db, case)
    first = issue(db, council_keys, tmp_path, decision.id)
    second = issue(db, council_keys, tmp_path, decision.id)
    again = certificates.issue_for_application(
        joined_factory(db),
        application_id=case.application.id,
        keys=council_keys,
        store=FileStore(tmp_path),
        base_url=URL,
        prefix=PREFIX,
        actor=case.staff,
        now=ISSUED_AT,
    )

    assert first.id == second.id == again.id
    count = select(func.count(Certificate.id)).where(
        Certificate.application_id == case.application.id
    )
    assert db.scalar(count) == 1
    assert _actions(db, first) == ["certificate.allocated", "certificate.issued"]


def test_numbers_run_without_gaps_within_a_year_and_restart_the_next(
    db: Session, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    cases = [granted(db)]
    cases += [another_granted(db, cases[0]) for _ in range(2)]
    # The third's guideline version is withdrawn: its certificate is voided, its number kept.
    first = issue(db, council_keys, tmp_path, decision_of(db, cases[0]).id)
    version = cases[1].application.guideline_version_id
    withdrawn = db.get(GuidelineVersion, version)
    assert withdrawn is not None
    withdrawn.status, withdrawn.withdrawn_at = VersionStatus.withdrawn, NOW
    db.flush()
    void = issue(db, council_keys, tmp_path, decision_of(db, cases[1]).id)
    withdrawn.status, withdrawn.withdrawn_at = VersionStatus.adopted, None
    db.flush()
    later = issue(db, council_keys, tmp_path, decision_of(db, cases[2]).id, now=NEXT_YEAR)

    assert [c.number for c in (first, void)] == ["MX-CEIA-2026-000001", "MX-CEIA-2026-000002"]
    assert later.number == "MX-CEIA-2027-000001"
    assert void.status == CertificateStatus.void
    assert "withdrawn" in void.void_reason
    assert void.pdf_key is None
    assert [e.kind for e in certificate_history(db, void.id)] == [RegistryEventKind.voided]
    lint = db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "certificate.lint_failed",
            AuditEvent.object_id == void.number,
        )
    )
    assert lint is not None
    assert lint.summary["errors"] == [certificates.LINT_VERSION]


def test_a_void_certificate_is_retried_under_a_new_number_through_the_secretariat(
    db: Session, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    case = granted(db)
    decision = decision_of(db, case)
    decision.valid_until = dt.date(2030, 1, 1)  # off the rule: the lint refuses it
    db.flush()
    with pytest.raises(Conflict):
        certificates.issue_for_application(
            joined_factory(db),
            application_id=case.application.id,
            keys=council_keys,
            store=FileStore(tmp_path),
            base_url=URL,
            prefix=PREFIX,
            actor=case.staff,
            now=ISSUED_AT,
        )
    decision.valid_until = dt.date(2028, 12, 2)
    db.flush()
    retried = issue(db, council_keys, tmp_path, decision.id)

    assert retried.status == CertificateStatus.valid
    assert retried.serial == 2
    numbers = db.scalars(select(Certificate.status).order_by(Certificate.serial)).all()
    assert numbers == [CertificateStatus.void, CertificateStatus.valid]


def test_a_renewal_supersedes_the_certificate_it_renews(
    db: Session, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    old_case = granted(db)
    new_case = another_granted(db, old_case)
    old = make_certificate(db, old_case)
    old.renewal_application_id = new_case.application.id
    db.flush()
    new = issue(db, council_keys, tmp_path, decision_of(db, new_case).id)

    db.refresh(old)
    assert new.supersedes_id == old.id
    assert old.status == CertificateStatus.superseded
    [event] = certificate_history(db, old.id)
    assert event.kind == RegistryEventKind.superseded
    assert new.number in event.public_reason["en"]


def test_the_reconciler_finishes_an_unfinished_certificate(
    db: Session, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    case = granted(db)
    allocated = certificates.allocate_certificate(
        db,
        decision_id=decision_of(db, case).id,
        base_url=URL,
        prefix=PREFIX,
        actor=None,
        now=ISSUED_AT,
    )
    db.flush()
    summary = certificates.reconcile_certificates(
        joined_factory(db),
        keys=council_keys,
        store=FileStore(tmp_path),
        base_url=URL,
        now=ISSUED_AT,
    )

    assert summary.issued == [allocated.number]
    assert summary.voided == summary.failed == []
    db.refresh(allocated)
    assert allocated.status == CertificateStatus.valid
    assert allocated.pdf_sha256 is not None


def test_refused_decisions_get_no_certificate(
    db: Session, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    case = _reviewed(db, Finding.major_nonconformity)
    ballot = _open(db, case, proposal="refuse")
    _vote(db, case, ballot, PositionKind.yes)
    _close(db, case, ballot)
    decision = db.scalars(
        select(ApplicationDecision).where(ApplicationDecision.application_id == case.application.id)
    ).one()
    with pytest.raises(Conflict):
        issue(db, council_keys, tmp_path, decision.id)
    assert db.scalar(select(func.count(Certificate.id))) == 0


def test_closing_a_granting_ballot_issues_and_the_secretariat_may_retry(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    app.dependency_overrides[now_utc] = lambda: ISSUED_AT
    case = _reviewed(db, Finding.minor_nonconformity, Finding.conforms)
    ballot = _open(db, case)
    _vote(db, case, ballot, PositionKind.yes)
    secretary, _ = case.council[1]
    db.commit()
    sign_in_as(client, secretary)
    answer = client.post(
        f"/council/ballots/{ballot.id}/close", data={"csrf_token": csrf_of(client, "/council")}
    )
    assert answer.status_code == 303
    certificate = db.scalar(
        select(Certificate).where(Certificate.application_id == case.application.id)
    )
    assert certificate is not None
    assert certificate.status == CertificateStatus.valid

    staff = make_user(db, role=Role.secretariat)
    db.commit()
    client.post("/signout", data={"csrf_token": csrf_of(client)})
    sign_in_as(client, staff)
    page = client.get(f"/applications/{case.application.id}/decision")
    assert certificate.number in page.text
    retry = client.post(
        f"/applications/{case.application.id}/certificate",
        data={"csrf_token": csrf_of(client, f"/applications/{case.application.id}/decision")},
    )
    assert retry.status_code == 303
    api = client.post(
        f"/api/v1/applications/{case.application.id}/certificate", headers=bearer(db, staff)
    )
    assert api.status_code == 201, api.text
    assert api.json()["number"] == certificate.number
    assert db.scalar(select(func.count(Certificate.id))) == 1


# One certificate per decision, issued by the secretariat ------------------------------------

REASON = {"es": "Retirado por fraude.", "en": "Withdrawn for fraud."}


def _issue_for_application(
    db: Session, keys: CouncilKeys, store_dir: Path, case_id: int, actor: User
) -> Certificate:
    return certificates.issue_for_application(
        joined_factory(db),
        application_id=case_id,
        actor=actor,
        keys=keys,
        store=FileStore(store_dir),
        base_url=URL,
        prefix=PREFIX,
        now=ISSUED_AT + dt.timedelta(days=1),
    )


@pytest.mark.parametrize("end", ["withdrawn", "expired"])
def test_a_withdrawn_or_expired_certificate_is_never_issued_again_for_its_decision(
    db: Session, council_keys: CouncilKeys, tmp_path: Path, end: str
) -> None:
    case = granted(db)
    decision = decision_of(db, case)
    first = issue(db, council_keys, tmp_path, decision.id)
    first = db.get(Certificate, first.id) or first
    db.refresh(first)
    if end == "withdrawn":
        lifecycle.withdraw_certificate(
            db,
            certificate=first,
            reason_code=WithdrawalReason.fraud,
            reason=REASON,
            resolution="R-1",
            actor=None,
            now=ISSUED_AT,
        )
    else:
        first.status = CertificateStatus.expired
    db.flush()

    with pytest.raises(Conflict) as refused:
        issue(db, council_keys, tmp_path, decision.id, now=ISSUED_AT + dt.timedelta(days=1))
    with pytest.raises(Conflict):
        _issue_for_application(db, council_keys, tmp_path, case.application.id, case.staff)

    assert refused.value.message == certificates.ALREADY_CERTIFIED
    assert refused.value.params == {"number": first.number}
    count = select(func.count(Certificate.id)).where(Certificate.decision_id == decision.id)
    assert db.scalar(count) == 1
    view = decisions.decision_view(db, case.staff, case.application.id, ISSUED_AT)
    assert view.may_issue_certificate is False  # the button follows the same rule


def test_only_the_secretariat_issues_a_certificate(
    db: Session, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    case = granted(db)
    member, _ = case.council[0]

    for someone in (case.owner, member):
        with pytest.raises(Forbidden):
            _issue_for_application(db, council_keys, tmp_path, case.application.id, someone)
    assert db.scalar(select(func.count(Certificate.id))) == 0
    issued = _issue_for_application(db, council_keys, tmp_path, case.application.id, case.staff)
    assert issued.status == CertificateStatus.valid


def test_the_applicant_reads_a_general_sentence_and_the_secretariat_each_reason_translated(
    client: TestClient, db: Session, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    case = granted(db)
    decision = decision_of(db, case)
    decision.valid_until = dt.date(2030, 1, 1)  # off the rule: the lint refuses it
    db.flush()
    void = issue(db, council_keys, tmp_path, decision.id)
    assert void.status == CertificateStatus.void
    reasons = json.loads(void.void_reason)  # message ids, translated when shown
    assert certificates.LINT_DATES in reasons
    path = f"/applications/{case.application.id}/decision"
    spanish = translator("es_MX")

    sign_in_as(client, case.owner)
    client.cookies.set(LOCALE_COOKIE, "en")
    applicant = BeautifulSoup(client.get(path).text, "html.parser")
    client.post("/signout", data={"csrf_token": csrf_of(client)})
    client.cookies.set(LOCALE_COOKIE, "es-MX")
    sign_in_as(client, case.staff)
    staff = BeautifulSoup(client.get(path).text, "html.parser")

    section = applicant.select_one("section[aria-labelledby=certificate-heading]")
    assert section is not None
    shown = section.get_text(" ")
    assert "the secretariat is looking into it" in shown
    for reason in reasons:
        assert spanish.gettext(reason) != reason
        assert reason not in shown
    listed = [item.get_text(strip=True) for item in staff.select("#certificate-heading ~ dl li")]
    assert listed == [spanish.gettext(reason) for reason in reasons]
