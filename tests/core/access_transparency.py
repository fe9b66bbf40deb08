"""Who may call each transparency log route, for tests/test_access.py: everyone, the public first.

Sample certificate numbers are in no log, so their proofs answer 404 to all alike.
"""

from __future__ import annotations

PUBLIC = "public"
EVERYONE = {PUBLIC, "admin", "secretariat", "council_member", "expert", "applicant"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/transparency/sth"): EVERYONE,
    ("GET", "/transparency/sth/history"): EVERYONE,
    ("GET", "/api/v1/transparency/leaves"): EVERYONE,
    ("GET", "/api/v1/transparency/proof/inclusion"): EVERYONE,
    ("GET", "/api/v1/transparency/proof/certificate/{number}"): EVERYONE,
    ("GET", "/api/v1/transparency/proof/consistency"): EVERYONE,
}

SAMPLE_PATH_VALUES: dict[str, str] = {}
