"""Who may call each reviewer-assignment route, for the lead to merge into tests/test_access.py.

The pool and the assignment panel are the secretariat's; a reviewer's list and declining are for
council members and experts (a review that is not theirs answers 404; the sample ids do not exist).
"""

from __future__ import annotations

STAFF = {"admin", "secretariat"}
REVIEWERS = {"admin", "council_member", "expert"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/council/reviewers"): STAFF,
    ("GET", "/council/reviewers/{reviewer_id}"): STAFF,
    ("POST", "/council/reviewers/{reviewer_id}"): STAFF,
    ("GET", "/applications/{application_id}/assignment"): STAFF,
    ("POST", "/applications/{application_id}/assignment"): STAFF,
    ("POST", "/applications/{application_id}/assignment/automatic"): STAFF,
    ("POST", "/reviews/{review_id}/release"): STAFF,
    ("GET", "/reviews"): REVIEWERS,
    ("POST", "/reviews/{review_id}/decline"): REVIEWERS,
    ("GET", "/api/v1/applications/{application_id}/candidates"): STAFF,
    ("POST", "/api/v1/applications/{application_id}/reviewers"): STAFF,
    ("POST", "/api/v1/reviews/{review_id}/decline"): REVIEWERS,
    ("GET", "/api/v1/reviews"): REVIEWERS,
}

SAMPLE_PATH_VALUES: dict[str, str] = {
    "reviewer_id": "999999",
    "review_id": "999999",
}
