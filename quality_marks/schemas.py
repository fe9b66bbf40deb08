"""Input and output shapes of organisations, products and applications."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from core.forms import SingleLine
from guidelines.models import RiskLevel
from quality_marks.certificate_models import (
    Certificate,
    CertificateStatus,
    RegistryEventKind,
    WithdrawalReason,
)
from quality_marks.models import (
    AnswerValue,
    AppealStatus,
    ApplicationStatus,
    Decision,
    Finding,
    OrgRole,
    OrgSize,
    OrgVerification,
    Recommendation,
    ReviewStatus,
)


class OrganizationInput(BaseModel):
    """An organisation's registration details."""

    legal_name: SingleLine = Field(min_length=2, max_length=200)
    rfc: SingleLine = Field(min_length=12, max_length=16)
    address: str = Field(min_length=5, max_length=500)
    state: SingleLine = Field(min_length=1, max_length=40)
    sector: SingleLine = Field(min_length=1, max_length=60)
    size: OrgSize
    contact_name: SingleLine = Field(min_length=2, max_length=200)
    contact_email: EmailStr
    contact_phone: SingleLine = Field(default="", max_length=40)
    website: SingleLine = Field(default="", max_length=300)


class ColleagueInput(BaseModel):
    """A colleague invited into an organisation."""

    email: EmailStr
    full_name: SingleLine = Field(min_length=2, max_length=200)
    role: OrgRole = OrgRole.editor


# Examples for the API documentation: a company's workflow, from its product to its submission.
PRODUCT_EXAMPLE: dict[str, Any] = {
    "name": "TriajeIA",
    "version": "2.1",
    "identifier": "triajeia-2.1",
    "intended_purpose": "Orders emergency-room patients by urgency from their symptoms.",
    "sectors": ["salud"],
    "states": ["Jalisco", "Ciudad de México"],
    "users_affected": "Patients arriving at emergency rooms and the nurses who triage them.",
    "risk_answers": {
        "essential_services": True,
        "rights_and_safety": False,
        "biometrics": False,
        "interacts": True,
        "emotions": False,
    },
    "data_description": "Anonymised triage records from three public hospitals, 2019-2024.",
    "personal_data": True,
    "legal_basis": "Consent of the patient, under the hospital's privacy notice.",
    "model_type": "Gradient-boosted decision trees",
    "human_oversight": "A nurse confirms or changes every urgency level proposed.",
    "provider": "DataSalud Analítica, S.A. de C.V.",
    "deployer": "Hospital Civil de Guadalajara",
}


class ProductInput(BaseModel):
    """A product's description; the risk level comes from the questionnaire answers."""

    model_config = ConfigDict(json_schema_extra={"examples": [PRODUCT_EXAMPLE]})

    name: SingleLine = Field(min_length=1, max_length=200)
    version: SingleLine = Field(min_length=1, max_length=40)
    identifier: str = Field(default="", max_length=40, pattern=r"^[A-Za-z0-9._:-]*$")
    intended_purpose: str = Field(min_length=10, max_length=5000)
    sectors: list[Annotated[str, Field(max_length=60)]] = Field(min_length=1, max_length=40)
    states: list[Annotated[str, Field(max_length=40)]] = Field(min_length=1, max_length=40)
    users_affected: str = Field(min_length=3, max_length=2000)
    risk_answers: dict[str, bool]
    data_description: str = Field(min_length=3, max_length=5000)
    personal_data: bool
    legal_basis: str = Field(default="", max_length=2000)
    model_type: SingleLine = Field(min_length=2, max_length=200)
    human_oversight: str = Field(min_length=3, max_length=2000)
    provider: SingleLine = Field(min_length=2, max_length=200)
    deployer: SingleLine = Field(min_length=2, max_length=200)


class AnswerInput(BaseModel):
    """The self-assessment of one criterion."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "value": "meets",
                    "justification": "Every urgency level shown to a nurse names the three "
                    "symptoms that weighed most in it.",
                    "answer_public": True,
                    "justification_public": False,
                }
            ]
        }
    )

    value: AnswerValue | None = None
    justification: str = Field(default="", max_length=10000)
    answer_public: bool = True
    justification_public: bool = False


class ApplicationInput(BaseModel):
    """The guideline version an application is started on: its slug and version number."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"guideline": "etica-ia", "version": "1.0"}]}
    )

    guideline: SingleLine = Field(min_length=1, max_length=80)
    version: SingleLine = Field(min_length=1, max_length=20)


class LinkInput(BaseModel):
    """A link given as evidence."""

    criterion_code: SingleLine = Field(max_length=20)
    url: SingleLine = Field(pattern=r"^https?://", max_length=1000)
    label: SingleLine = Field(default="", max_length=300)
    public: bool = False


class MessageInput(BaseModel):
    """A message for an application's thread (sent as JSON, or as a form with attachments)."""

    body: str = Field(default="", max_length=20000)


class WithdrawInput(BaseModel):
    """Why the organisation withdraws its application."""

    reason: str = Field(default="", max_length=2000)


class OrganizationOut(BaseModel):
    """An organisation."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    legal_name: str
    rfc: str
    state: str
    sector: str
    size: OrgSize
    verification: OrgVerification = Field(
        description="Only organisations the secretariat has verified may submit applications."
    )


class OrganizationDetailOut(OrganizationOut):
    """An organisation with its contact details and the caller's role in it."""

    address: str
    contact_name: str
    contact_email: str
    contact_phone: str
    website: str
    created_at: dt.datetime
    role: OrgRole | None = Field(
        default=None, description="The caller's role; empty for the secretariat."
    )


class ProductOut(BaseModel):
    """A product."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    identifier: str
    name: str
    version: str
    risk_level: RiskLevel
    sectors: list[str]
    states: list[str]
    personal_data: bool


class ProductDetailOut(ProductOut):
    """A product with its whole description and questionnaire answers."""

    intended_purpose: str
    users_affected: str
    risk_answers: dict[str, bool]
    data_description: str
    legal_basis: str
    model_type: str
    human_oversight: str
    provider: str
    deployer: str
    created_at: dt.datetime
    updated_at: dt.datetime


class RiskQuestionOut(BaseModel):
    """A question of the risk questionnaire and the level a yes raises the product to."""

    key: str
    text: str
    level: RiskLevel


class RiskQuestionnaireOut(BaseModel):
    """The risk questionnaire; a product answering no to every question is `default_level`."""

    default_level: RiskLevel
    questions: list[RiskQuestionOut]


class EvidenceOut(BaseModel):
    """A piece of evidence (the file itself is downloaded separately)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    criterion_code: str
    original_name: str
    content_type: str
    size: int
    sha256: str
    url: str
    label: str
    public: bool
    revision: int = 1
    uploaded_at: dt.datetime | None = None


class ChecklistItemOut(BaseModel):
    """One criterion of the checklist with the current answer."""

    code: str
    principle: str
    title: str
    requirement: str = ""
    value: AnswerValue | None
    justification: str
    answer_public: bool
    justification_public: bool
    missing: list[str]
    evidence: list[EvidenceOut]


class ApplicationSummaryOut(BaseModel):
    """An application as a list shows it."""

    id: int
    organization_id: int
    product_id: int
    guideline: str
    version: str
    risk_level: RiskLevel
    status: ApplicationStatus
    decision: Decision | None
    revision: int
    submitted_at: dt.datetime | None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class ApplicationOut(ApplicationSummaryOut):
    """An application, its checklist and what is still missing."""

    return_reason: str | None = None
    next_actions: list[str]
    completeness: dict[str, dict[str, int]]
    missing: dict[str, str] = Field(
        default_factory=dict, description="Criterion code -> what still blocks submission."
    )
    checklist: list[ChecklistItemOut]


class AttachmentOut(BaseModel):
    """A file sent with a message."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    original_name: str
    content_type: str
    size: int
    sha256: str


class MessageOut(BaseModel):
    """A message of the thread."""

    id: int
    author: str
    from_secretariat: bool
    is_request: bool
    # A request for information's answer is due by this day (Mexico City calendar).
    due_on: dt.date | None = None
    body: str
    created_at: dt.datetime
    attachments: list[AttachmentOut]


class OrganizationForm(OrganizationInput):
    """The registration form's organisation: any RFC reaches the service, which names its format."""

    rfc: SingleLine = Field(min_length=1, max_length=20)


class SignUpInput(OrganizationForm):
    """The public sign-up form: a company's first person and their organisation."""

    full_name: SingleLine = Field(min_length=2, max_length=200)
    email: SingleLine = Field(min_length=3, max_length=320)
    password: str = Field(max_length=200)


# Reviews -----------------------------------------------------------------------------------

# A version counter as sent back by the client: bounded like the database's integers.
ReviewVersion = Annotated[int, Field(ge=1, le=2_147_483_647)]


class FindingInput(BaseModel):
    """A reviewer's finding on one criterion: for the applicant, and a note for the council."""

    finding: Finding | None = None
    comment: str = Field(default="", max_length=10000, description="Shown to the applicant.")
    private_note: str = Field(default="", max_length=10000, description="For the council only.")


class ReviewInput(BaseModel):
    """A save of a review: the version it was read at, findings by criterion code, the view."""

    version: ReviewVersion = Field(description="The `version` read; a stale one answers 409.")
    findings: dict[Annotated[str, Field(max_length=20)], FindingInput] = Field(
        default_factory=dict, max_length=1000
    )
    recommendation: Recommendation | None = None
    summary: str = Field(default="", max_length=20000)
    conditions: str = Field(default="", max_length=20000)
    private_note: str = Field(default="", max_length=20000)


class ReviewSubmitInput(BaseModel):
    """The version of the review the reviewer submits."""

    version: ReviewVersion


class ReviewNoteInput(BaseModel):
    """A note for the reviewers' and council's private thread."""

    body: str = Field(default="", max_length=20000)


class FindingOut(BaseModel):
    """A finding on one criterion, as the reviewers and the secretariat read it."""

    criterion_code: str
    finding: Finding | None
    comment: str
    private_note: str


class ReviewOut(BaseModel):
    """One reviewer's review of one round of an application."""

    id: int
    application_id: int
    round: int
    status: ReviewStatus
    version: int
    reviewer: str
    due_on: dt.date
    recommendation: Recommendation | None
    summary: str
    conditions: str
    private_note: str
    submitted_at: dt.datetime | None
    findings: list[FindingOut]
    actions: list[str] = Field(description="What the caller may do next with the review.")


class ReviewNoteOut(BaseModel):
    """A note of the reviewers' private thread."""

    id: int
    author: str
    body: str
    created_at: dt.datetime


class AppealInput(BaseModel):
    """Why the organisation asks the council to reconsider a refusal."""

    grounds: str = Field(min_length=1, max_length=20000)


class DecisionFindingOut(BaseModel):
    """One criterion's finding as the applicant reads it: no reviewer is named."""

    code: str
    finding: Finding
    comments_html: list[str] = Field(description="The reviewers' comments, sanitised HTML.")


class AppealOut(BaseModel):
    """An appeal against a refusal and, once heard, its outcome."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    decision_id: int
    status: AppealStatus
    grounds: str
    filed_at: dt.datetime
    resolution: str | None
    outcome_reason: str
    decided_at: dt.datetime | None


class DecisionDetailOut(BaseModel):
    """The council's decision on an application, as the applicant reads it; never changed."""

    outcome: Decision
    resolution: str
    round: int
    level: str | None
    rule: dict[str, Any]
    reasons: str
    conditions: str
    valid_from: dt.date | None
    valid_until: dt.date | None
    appeal_until: dt.date | None
    decided_at: dt.datetime
    findings: list[DecisionFindingOut]


class DecisionOut(BaseModel):
    """Where an application stands with the council: its latest decision, if any, and appeal."""

    application_id: int
    status: ApplicationStatus
    decision: DecisionDetailOut | None
    appeal: AppealOut | None
    may_appeal: bool


# Certificates as the public verifies them ----------------------------------------------------


class CertificateEventOut(BaseModel):
    """One entry of a certificate's public history."""

    kind: RegistryEventKind
    label: str = Field(description="The kind of event in the caller's language.")
    occurred_at: dt.datetime
    public_reason: dict[str, str] = Field(description='The public reason: {"es": ..., "en": ...}.')
    resolution: str | None = Field(description="The council resolution behind the event, if any.")


class CertificateLinksOut(BaseModel):
    """Where to read and check a certificate."""

    page: str = Field(description="The public verification page (the QR code's target).")
    pdf: str | None = Field(description="The signed PDF.")
    credential: str | None = Field(description="The Open Badges credential, a VC-JWT.")
    resolution: str | None = Field(description="The council resolution that decided it.")
    guideline: str | None = Field(description="The criteria of the guideline version assessed.")
    superseded_by: str | None = Field(description="The certificate that replaced this one.")


class CertificateOut(BaseModel):
    """An issued certificate's public record: what it states, where it stands, its history."""

    number: str
    status: CertificateStatus
    status_label: str = Field(description="The status in the caller's language.")
    status_changed_at: dt.datetime
    status_reason: dict[str, str] = Field(
        description='Why it stands where it does, {"es": ..., "en": ...} (empty when issued).'
    )
    withdrawal_reason: WithdrawalReason | None
    organization_name: str
    product_name: str
    product_identifier: str = Field(description="The product's identifier, as its holder gave it.")
    level: str
    level_label: str
    guideline_title: str
    guideline_title_en: str
    guideline_version: str
    resolution: str
    valid_from: dt.date
    valid_until: dt.date
    issued_on: dt.date | None
    history: list[CertificateEventOut]
    links: CertificateLinksOut


class VerificationCheckOut(BaseModel):
    """One check of a certificate file."""

    name: str = Field(description="signature, file, credential or status.")
    title: str
    passed: bool
    explanation: str = Field(
        description="What was found, in plain words, in the caller's language."
    )


class VerificationOut(BaseModel):
    """What checking a certificate file found: every check and the verdict."""

    verdict: str = Field(description="valid, not_in_force or not_confirmed.")
    passed: bool = Field(description="True only when every check passed.")
    summary: str
    number: str | None = Field(
        description="The certificate the file is, when the council knows it."
    )
    checks: list[VerificationCheckOut]


class CertificateIssuedOut(BaseModel):
    """A certificate as issuance leaves it: its number, status and where anyone checks it."""

    number: str
    status: CertificateStatus
    application_id: int
    level: str
    valid_from: dt.date
    valid_until: dt.date
    issued_at: dt.datetime | None
    pdf_sha256: str | None
    verify_url: str
    pdf_url: str
    credential_url: str

    @classmethod
    def of(cls, certificate: Certificate) -> CertificateIssuedOut:
        """The answer for a certificate (its public addresses from its payload)."""
        verify_url = certificate.payload["verify_url"]
        return cls(
            number=certificate.number,
            status=certificate.status,
            application_id=certificate.application_id,
            level=certificate.level,
            valid_from=certificate.valid_from,
            valid_until=certificate.valid_until,
            issued_at=certificate.issued_at,
            pdf_sha256=certificate.pdf_sha256,
            verify_url=verify_url,
            pdf_url=f"{verify_url}/certificate.pdf",
            credential_url=f"{verify_url}/credential.jwt",
        )
