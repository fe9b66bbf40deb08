"""An organisation's identity: verification, disputes over an RFC, invitations and their limits,
message attachments within the application's total."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import Role, User, issue_api_token
from core.audit import AuditEvent
from core.auth import now_utc
from core.errors import Conflict, RateLimited
from core.mail import OutboxMessage
from quality_marks import applications, organizations
from quality_marks.models import (
    AnswerValue,
    Application,
    ApplicationStatus,
    Message,
    Organization,
    OrganizationMember,
    OrgRole,
    OrgVerification,
    RfcDispute,
)
from quality_marks.schemas import AnswerInput
from tests.conftest import csrf_of
from tests.factories import NOW, make_user, sign_in_as
from tests.quality_marks.factories import (
    make_adopted_version,
    make_application,
    make_organization,
    make_product,
)
from tests.test_accessibility import _problems

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def english_and_pinned(app: FastAPI, client: TestClient) -> None:
    """Pages in English, every request at the factories' moment."""
    app.dependency_overrides[now_utc] = lambda: NOW
    client.cookies.set("lang", "en")


def page(html: str) -> BeautifulSoup:
    """Parsed HTML."""
    return BeautifulSoup(html, "html.parser")


def post(client: TestClient, url: str, data: dict[str, str], files: Any = None) -> Response:
    """A page form as a browser sends it, with the CSRF token."""
    return client.post(url, data={**data, "csrf_token": csrf_of(client, "/")}, files=files)


def complete_application(db: Session, owner: User, organization: Organization) -> Application:
    """A draft application whose every criterion is answered."""
    version = make_adopted_version(db)
    product = make_product(db, owner, organization, risk="minimal")
    application = make_application(db, actor=owner, product=product, version=version)
    codes = applications.applicable_codes(db, application)
    applications.save_answers(
        db,
        actor=owner,
        application=application,
        answers={code: AnswerInput(value=AnswerValue.meets) for code in codes},
        now=NOW,
    )
    db.commit()
    return application


# Verification ------------------------------------------------------------------------------


def test_an_unverified_organisation_cannot_submit_on_the_page_or_in_the_api(
    client: TestClient, db: Session
) -> None:
    owner = make_user(db)
    organization = make_organization(db, owner=owner, verified=False)
    application = complete_application(db, owner, organization)
    sign_in_as(client, owner)

    overview = page(client.get(f"/applications/{application.id}").text)
    notice = overview.select_one("#unverified-heading")
    assert notice is not None
    assert overview.select_one(f"form[action='/applications/{application.id}/submit']") is None
    refused = post(client, f"/applications/{application.id}/submit", {})
    assert refused.status_code == 409
    assert "not yet verified" in refused.text

    token = issue_api_token(db, user=owner, name="t", now=NOW)[1]
    db.commit()
    auth = {"Authorization": f"Bearer {token}"}
    api = client.post(f"/api/v1/applications/{application.id}/submit", headers=auth)
    assert api.status_code == 409
    assert api.json()["error"] == "conflict"
    assert "not yet verified" in api.json()["detail"]
    read = client.get(f"/api/v1/applications/{application.id}", headers=auth).json()
    assert "submit" not in read["next_actions"]
    db.expire_all()
    assert db.get(Application, application.id).status == ApplicationStatus.draft  # type: ignore[union-attr]


def test_the_secretariat_verifies_an_uploaded_proof_from_its_page(
    client: TestClient, db: Session
) -> None:
    owner = make_user(db)
    staff = make_user(db, role=Role.secretariat)
    organization = make_organization(db, owner=owner, verified=False)
    sign_in_as(client, owner)
    refused = post(
        client,
        f"/organisations/{organization.id}/proof",
        {},
        files={"proof": ("constancia.pdf", b"\x7fELF\x02\x01", "application/pdf")},
    )
    assert refused.status_code == 422
    assert "not accepted" in refused.text
    uploaded = post(
        client,
        f"/organisations/{organization.id}/proof",
        {},
        files={"proof": ("constancia.pdf", PDF, "application/pdf")},
    )
    assert uploaded.status_code == 303

    sign_in_as(client, staff)
    listing = page(client.get("/organisations/verification").text)
    link = listing.select_one(f"a[href='/organisations/{organization.id}/proof']")
    assert link is not None
    assert client.get(str(link["href"])).content == PDF
    url = f"/organisations/{organization.id}/verification"
    done = post(client, url, {"decision": "verify", "method": "proof", "reason": "Constancia."})
    assert done.status_code == 303
    db.expire_all()
    verified = db.get(Organization, organization.id)
    assert verified is not None
    assert verified.verification == OrgVerification.verified
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "organization.verify"))
    assert event is not None
    assert event.summary["method"] == "proof"
    mail = db.scalar(select(OutboxMessage).where(OutboxMessage.to_address == owner.email))
    assert mail is not None
    assert mail.template == "mail/organization_verification.txt"
    listing = page(client.get("/organisations/verification").text)
    assert listing.select_one(f"a[href='/organisations/{organization.id}']") is None


def test_a_refusal_needs_a_reason_and_a_domain_must_match(client: TestClient, db: Session) -> None:
    owner = make_user(db, email="ana@otro.example.mx")
    staff = make_user(db, role=Role.secretariat)
    organization = make_organization(db, owner=owner, verified=False)
    organization.website = "https://datos.example.mx"
    db.commit()
    sign_in_as(client, staff)
    url = f"/organisations/{organization.id}/verification"

    by_domain = post(client, url, {"decision": "verify", "method": "domain", "reason": ""})
    assert by_domain.status_code == 422
    assert "web domain" in by_domain.text
    no_reason = post(client, url, {"decision": "reject", "reason": "  "})
    assert no_reason.status_code == 422
    error = page(no_reason.text).select_one(f"#f-{organization.id}-reason-error")
    assert error is not None
    assert "Say why" in error.get_text()

    kept = post(client, url, {"decision": "reject", "reason": "El RFC no coincide."})
    assert kept.status_code == 303
    db.expire_all()
    refused = db.get(Organization, organization.id)
    assert refused is not None
    assert refused.verification == OrgVerification.rejected
    assert refused.verification_reason == "El RFC no coincide."
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "organization.reject"))
    assert event is not None
    assert event.summary["reason"] == "El RFC no coincide."

    owner.email = "ana@datos.example.mx"
    refused.verification = OrgVerification.unverified
    db.commit()
    by_domain = post(client, url, {"decision": "verify", "method": "domain", "reason": ""})
    assert by_domain.status_code == 303


# Disputes ----------------------------------------------------------------------------------


def _dispute_form(rfc: str) -> dict[str, str]:
    return {
        "legal_name": "DataSalud Verdadera, S.A. de C.V.",
        "rfc": rfc,
        "address": "Av. Insurgentes Sur 1602, Benito Juárez",
        "state": "Ciudad de México",
        "sector": "salud",
        "size": "medium",
        "contact_name": "Paola Jiménez",
        "contact_email": "paola@datasalud.example.mx",
        "statement": "La constancia de situación fiscal está a nuestro nombre.",
    }


@pytest.mark.parametrize("award", [True, False])
def test_a_second_claimant_files_a_dispute_that_the_secretariat_resolves(
    client: TestClient, db: Session, award: bool
) -> None:
    squatter = make_user(db)
    holder = make_organization(db, owner=squatter, verified=False)
    claimant = make_user(db)
    staff = make_user(db, role=Role.secretariat)
    db.commit()
    sign_in_as(client, claimant)
    form = _dispute_form(holder.rfc)
    assert _problems(client.get("/organisations/disputes/new").text) == []
    without_proof = post(client, "/organisations/disputes", form)
    assert without_proof.status_code == 422
    kept = page(without_proof.text)
    assert kept.select_one("#f-legal_name")["value"] == form["legal_name"]  # type: ignore[index]
    assert kept.select_one("#f-proof-error") is not None
    filed = post(
        client,
        "/organisations/disputes",
        form,
        files={"proof": ("constancia.pdf", PDF, "application/pdf")},
    )
    assert filed.status_code == 303
    dispute = db.scalar(select(RfcDispute))
    assert dispute is not None

    sign_in_as(client, staff)
    listing_html = client.get("/organisations/verification").text
    assert _problems(listing_html) == []  # one h1, unique ids, every control labelled
    listing = page(listing_html)
    assert listing.select_one(f"a[href='/disputes/{dispute.id}/proof']") is not None
    decision = "award" if award else "dismiss"
    assert post(client, f"/disputes/{dispute.id}", {"decision": decision}).status_code == 422
    done = post(client, f"/disputes/{dispute.id}", {"decision": decision, "reason": "Revisado."})
    assert done.status_code == 303

    db.expire_all()
    organization = db.get(Organization, holder.id)
    assert organization is not None
    claimant_role = organizations.membership(db, claimant, holder.id)
    squatter_role = organizations.membership(db, squatter, holder.id)
    if award:
        assert claimant_role is not None
        assert claimant_role.role == OrgRole.owner
        assert squatter_role is None
        assert organization.verification == OrgVerification.verified
        assert organization.legal_name == "DataSalud Verdadera, S.A. de C.V."
    else:
        assert claimant_role is None
        assert squatter_role is not None
        assert organization.verification == OrgVerification.unverified
    action = f"organization.dispute_{decision}"
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == action)) is not None
    mail = db.scalar(select(OutboxMessage).where(OutboxMessage.to_address == claimant.email))
    assert mail is not None
    assert mail.template == "mail/dispute_resolved.txt"


# Invitations -------------------------------------------------------------------------------


def _invite(db: Session, owner: User, organization: Organization, email: str) -> None:
    organizations.invite_colleague(
        db,
        actor=owner,
        organization_id=organization.id,
        email=email,
        full_name="Alguien Invitado",
        role=OrgRole.viewer,
        locale="es_MX",
        base_url="http://testserver",
        now=NOW,
    )


def test_an_unverified_organisation_sends_no_invitation(client: TestClient, db: Session) -> None:
    owner = make_user(db)
    organization = make_organization(db, owner=owner, verified=False)
    sign_in_as(client, owner)
    path = f"/organisations/{organization.id}"
    assert page(client.get(path).text).select_one("#invite-heading") is None
    data = {"full_name": "Evil", "email": "victima@ejemplo.mx", "role": "viewer"}
    refused = post(client, f"{path}/members", data)
    assert refused.status_code == 409
    assert "not yet verified" in refused.text
    mails = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.to_address == "victima@ejemplo.mx"
    )
    assert db.scalar(mails) == 0


def test_invitations_are_limited_per_account_and_per_organisation(
    client: TestClient, db: Session
) -> None:
    owners = [make_user(db) for _ in range(3)]
    organization = make_organization(db, owner=owners[0])
    for extra in owners[1:]:
        db.add(
            OrganizationMember(
                organization_id=organization.id,
                user_id=extra.id,
                role=OrgRole.owner,
                created_at=NOW,
            )
        )
    db.commit()
    for n in range(organizations.INVITE_ACCOUNT_LIMIT):
        _invite(db, owners[0], organization, f"uno{n}@ejemplo.mx")
    with pytest.raises(RateLimited):
        _invite(db, owners[0], organization, "uno-mas@ejemplo.mx")
    for n in range(organizations.INVITE_ORG_LIMIT - organizations.INVITE_ACCOUNT_LIMIT):
        _invite(db, owners[1], organization, f"dos{n}@ejemplo.mx")
    db.commit()
    # The third owner has sent nothing, but the organisation has reached its limit.
    sign_in_as(client, owners[2])
    data = {"full_name": "Otra Persona", "email": "tres@ejemplo.mx", "role": "viewer"}
    refused = post(client, f"/organisations/{organization.id}/members", data)
    assert refused.status_code == 429
    refusal = page(refused.text).select_one("#invite-heading ~ .form-error")
    assert refusal is not None
    assert "Too many attempts" in refusal.get_text()
    assert page(refused.text).select_one("#f-invite-email")["value"] == "tres@ejemplo.mx"  # type: ignore[index]
    assert db.scalar(select(func.count()).where(OutboxMessage.to_address == "tres@ejemplo.mx")) == 0


def test_a_pending_invitation_is_not_sent_twice(db: Session) -> None:
    owner = make_user(db)
    organization = make_organization(db, owner=owner)
    colleague = make_user(db)
    _invite(db, owner, organization, colleague.email)
    with pytest.raises(Conflict):
        _invite(db, owner, organization, colleague.email)


# Message attachments -----------------------------------------------------------------------


def test_a_message_carries_at_most_the_configured_number_of_files(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    owner = make_user(db)
    application = complete_application(db, owner, make_organization(db, owner=owner))
    sign_in_as(client, owner)
    files = [("attachments", (f"f{n}.pdf", PDF, "application/pdf")) for n in range(6)]
    body = {"body": "Seis archivos de una vez."}
    refused = post(client, f"/applications/{application.id}/messages", body, files=files)
    assert refused.status_code == 422
    refusal = page(refused.text)
    error = refusal.select_one("#message-attachments-error")
    assert error is not None
    assert "at most 5 files" in error.get_text()
    assert refusal.select_one("#message-body").get_text() == body["body"]  # type: ignore[union-attr]
    assert db.scalar(select(func.count(Message.id))) == 0

    token = issue_api_token(db, user=owner, name="t", now=NOW)[1]
    db.commit()
    api = client.post(
        f"/api/v1/applications/{application.id}/messages",
        data=body,
        files=files,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 422
    assert "at most 5 files" in api.json()["detail"] + str(api.json())
    app.state.settings = app.state.settings.model_copy(update={"max_message_files": 6})
    accepted = post(client, f"/applications/{application.id}/messages", body, files=files)
    assert accepted.status_code == 303


def test_message_attachments_count_toward_the_applications_total(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"max_upload_bytes": 2000, "max_application_upload_bytes": 3000}
    )
    owner = make_user(db)
    application = complete_application(db, owner, make_organization(db, owner=owner))
    sign_in_as(client, owner)
    chunk = PDF + b"%" * (1500 - len(PDF))
    url = f"/applications/{application.id}/messages"
    first = post(
        client,
        url,
        {"body": "Primero."},
        files=[("attachments", ("a.pdf", chunk, "application/pdf"))],
    )
    assert first.status_code == 303
    second = post(
        client,
        url,
        {"body": "Dos más, sobre el total."},
        files=[
            ("attachments", ("b.pdf", chunk, "application/pdf")),
            ("attachments", ("c.pdf", chunk, "application/pdf")),
        ],
    )
    assert second.status_code == 422
    error = page(second.text).select_one("#message-attachments-error")
    assert error is not None
    assert "in total" in error.get_text()
    assert db.scalar(select(func.count(Message.id))) == 1


def test_a_scanned_proof_larger_than_a_form_is_accepted(client: TestClient, db: Session) -> None:
    owner = make_user(db)
    organization = make_organization(db, owner=owner, verified=False)
    sign_in_as(client, owner)
    scan = PDF + b"%" + b"0" * (3 * 1024 * 1024 // 2)  # a 1.5 MB scan: over the form limit
    uploaded = post(
        client,
        f"/organisations/{organization.id}/proof",
        {},
        files={"proof": ("constancia.pdf", scan, "application/pdf")},
    )
    assert uploaded.status_code == 303
    db.expire_all()
    stored = db.get(Organization, organization.id)
    assert stored is not None
    assert stored.proof_sha256 == hashlib.sha256(scan).hexdigest()


@pytest.mark.parametrize(
    ("website", "email"),
    [("https://gmail.com", "ana@gmail.com"), ("com.mx", "ana@cualquiera.com.mx")],
)
def test_a_shared_domain_proves_no_identity(db: Session, website: str, email: str) -> None:
    owner = make_user(db, email=email)
    organization = make_organization(db, owner=owner, verified=False)
    organization.website = website
    assert not organizations.domain_matches(organization, [owner])
    organization.website = "https://datos.example.mx"
    owner.email = "ana@datos.example.mx"
    assert organizations.domain_matches(organization, [owner])
