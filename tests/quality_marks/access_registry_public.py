"""Who may call each public registry route, for tests/test_access.py: everyone, the public first.

The sample identifier and organisation hold no certificate, so their pages answer 404 to all
alike; the downloads and the feed answer everyone.
"""

from __future__ import annotations

PUBLIC = "public"
EVERYONE = {PUBLIC, "admin", "secretariat", "council_member", "expert", "applicant"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/registry/products/{identifier}"): EVERYONE,
    ("GET", "/registry/organisations/{organization_id}"): EVERYONE,
    ("GET", "/registry/data"): EVERYONE,
    ("GET", "/registry/data/certificates.{fmt}"): EVERYONE,
    ("GET", "/registry/data/events.{fmt}"): EVERYONE,
    ("GET", "/registry/feed.atom"): EVERYONE,
}

SAMPLE_PATH_VALUES: dict[str, str] = {"identifier": "NO-SUCH-PRODUCT", "fmt": "csv"}
