"""Who may call each quality-marks API route, for the lead to merge into tests/test_access.py.

Routes admitted to every signed-in person answer 404 to those who are neither the organisation's
people nor the secretariat (the object "does not exist" for them); the sample ids do not exist.
Registering an organisation is for applicant accounts (admins pass the gate, the verb refuses
them); the risk questionnaire is public.
"""

from __future__ import annotations

PUBLIC = "public"
SIGNED_IN = {"admin", "secretariat", "council_member", "expert", "applicant"}
EVERYONE = {PUBLIC, *SIGNED_IN}
APPLICANTS = {"applicant", "admin"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/v1/organisations"): SIGNED_IN,
    ("POST", "/api/v1/organisations"): APPLICANTS,
    ("GET", "/api/v1/organisations/{organization_id}"): SIGNED_IN,
    ("GET", "/api/v1/organisations/{organization_id}/products"): SIGNED_IN,
    ("POST", "/api/v1/organisations/{organization_id}/products"): SIGNED_IN,
    ("GET", "/api/v1/products/{product_id}"): SIGNED_IN,
    ("PUT", "/api/v1/products/{product_id}"): SIGNED_IN,
    ("GET", "/api/v1/risk-questionnaire"): EVERYONE,
    ("POST", "/api/v1/products/{product_id}/applications"): SIGNED_IN,
    ("GET", "/api/v1/applications"): SIGNED_IN,
    ("GET", "/api/v1/applications/{application_id}"): SIGNED_IN,
    ("PUT", "/api/v1/applications/{application_id}/answers/{criterion_code}"): SIGNED_IN,
    ("POST", "/api/v1/applications/{application_id}/answers"): SIGNED_IN,
    ("POST", "/api/v1/applications/{application_id}/evidence"): SIGNED_IN,
    ("POST", "/api/v1/applications/{application_id}/links"): SIGNED_IN,
    ("DELETE", "/api/v1/applications/{application_id}/evidence/{evidence_id}"): SIGNED_IN,
    ("GET", "/api/v1/applications/{application_id}/evidence/{evidence_id}/content"): SIGNED_IN,
    ("POST", "/api/v1/applications/{application_id}/submit"): SIGNED_IN,
    ("POST", "/api/v1/applications/{application_id}/withdraw"): SIGNED_IN,
    ("GET", "/api/v1/applications/{application_id}/messages"): SIGNED_IN,
    ("POST", "/api/v1/applications/{application_id}/messages"): SIGNED_IN,
}

SAMPLE_PATH_VALUES: dict[str, str] = {
    "organization_id": "999999",
    "product_id": "999999",
    "application_id": "999999",
    "evidence_id": "999999",
    "criterion_code": "XX-1",
}
