"""Who may call each verification route, for tests/test_access.py: everyone, the public first.

Sample numbers do not exist, so the certificate routes answer 404 to all alike.
"""

from __future__ import annotations

PUBLIC = "public"
EVERYONE = {PUBLIC, "admin", "secretariat", "council_member", "expert", "applicant"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/verify"): EVERYONE,
    ("POST", "/verify"): EVERYONE,
    ("GET", "/verify/{number}"): EVERYONE,
    ("GET", "/verify/{number}/certificate.pdf"): EVERYONE,
    ("GET", "/verify/{number}/credential.jwt"): EVERYONE,
    ("GET", "/api/v1/certificates/{number}"): EVERYONE,
    ("POST", "/api/v1/verify"): EVERYONE,
}

SAMPLE_PATH_VALUES: dict[str, str] = {}
