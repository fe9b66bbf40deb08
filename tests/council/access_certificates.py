"""Who may call each route of the certificates' life cycle, merged into tests/test_access.py.

The status lists are public. The list of certificates is the secretariat's; a certificate's
management page, urgent suspension (the chair, checked by the verb) and renewal (the holder,
checked by the verb) need a signed-in person; ballots on certificates are opened by the
secretariat. The sample number does not exist, so those let in get 404.
"""

from __future__ import annotations

PUBLIC = "public"
SIGNED_IN = {"admin", "secretariat", "council_member", "expert", "applicant"}
STAFF = {"admin", "secretariat"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/credentials/status/revocation"): {PUBLIC, *SIGNED_IN},
    ("GET", "/credentials/status/suspension"): {PUBLIC, *SIGNED_IN},
    ("GET", "/certificates"): STAFF,
    ("GET", "/certificates/{number}/manage"): SIGNED_IN,
    ("POST", "/certificates/{number}/ballots"): STAFF,
    ("POST", "/certificates/{number}/urgent-suspension"): SIGNED_IN,
    ("POST", "/certificates/{number}/renewal"): SIGNED_IN,
    ("GET", "/api/v1/certificates/{number}/actions"): SIGNED_IN,
    ("POST", "/api/v1/certificates/{number}/ballots"): STAFF,
    ("POST", "/api/v1/certificates/{number}/urgent-suspension"): SIGNED_IN,
    ("POST", "/api/v1/certificates/{number}/renewal"): SIGNED_IN,
}

# "number" is already in the table's samples (9.9): no certificate has it.
SAMPLE_PATH_VALUES: dict[str, str] = {}
