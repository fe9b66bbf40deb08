"""Who may call each review page and API route, for the lead to merge into tests/test_access.py.

Those who may review (council members, experts) and the secretariat get past the gate; an
applicant's account is refused there. The service answers 404 to those who may not know the review
or application exists (the sample ids do not exist).
"""

from __future__ import annotations

REVIEWING = {"admin", "secretariat", "council_member", "expert"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/reviews/{review_id}"): REVIEWING,
    ("POST", "/reviews/{review_id}"): REVIEWING,
    ("POST", "/reviews/{review_id}/submit"): REVIEWING,
    ("GET", "/applications/{application_id}/reviews"): REVIEWING,
    ("GET", "/applications/{application_id}/review-notes"): REVIEWING,
    ("POST", "/applications/{application_id}/review-notes"): REVIEWING,
    ("GET", "/api/v1/reviews/{review_id}"): REVIEWING,
    ("PUT", "/api/v1/reviews/{review_id}"): REVIEWING,
    ("POST", "/api/v1/reviews/{review_id}/submit"): REVIEWING,
    ("GET", "/api/v1/applications/{application_id}/reviews"): REVIEWING,
    ("GET", "/api/v1/applications/{application_id}/review-notes"): REVIEWING,
    ("POST", "/api/v1/applications/{application_id}/review-notes"): REVIEWING,
}

SAMPLE_PATH_VALUES: dict[str, str] = {"review_id": "999999", "application_id": "999999"}
