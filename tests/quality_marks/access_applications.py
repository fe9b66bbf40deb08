"""Who may call each application page, for the lead to merge into tests/test_access.py.

Pages admitted to every signed-in person answer 404 to those who are neither the organisation's
people nor the secretariat (the application "does not exist" for them); the sample ids do not exist.
"""

from __future__ import annotations

SIGNED_IN = {"admin", "secretariat", "council_member", "expert", "applicant"}
STAFF = {"admin", "secretariat"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/applications"): STAFF,
    ("GET", "/applications/{application_id}"): SIGNED_IN,
    ("GET", "/applications/{application_id}/checklist/{principle_code}"): SIGNED_IN,
    ("POST", "/applications/{application_id}/checklist/{principle_code}"): SIGNED_IN,
    ("GET", "/applications/{application_id}/evidence/{evidence_id}"): SIGNED_IN,
    ("POST", "/applications/{application_id}/evidence/{evidence_id}/delete"): SIGNED_IN,
    ("GET", "/applications/{application_id}/attachments/{attachment_id}"): SIGNED_IN,
    ("POST", "/applications/{application_id}/submit"): SIGNED_IN,
    ("POST", "/applications/{application_id}/withdraw"): SIGNED_IN,
    ("POST", "/applications/{application_id}/screening"): STAFF,
    ("POST", "/applications/{application_id}/accept"): STAFF,
    ("POST", "/applications/{application_id}/return"): STAFF,
    ("POST", "/applications/{application_id}/request-information"): STAFF,
    ("POST", "/applications/{application_id}/messages"): SIGNED_IN,
    ("POST", "/applications/{application_id}/answer"): SIGNED_IN,
}

SAMPLE_PATH_VALUES: dict[str, str] = {
    "application_id": "999999",
    "principle_code": "XX",
    "evidence_id": "999999",
    "attachment_id": "999999",
}
