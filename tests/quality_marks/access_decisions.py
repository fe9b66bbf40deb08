"""Who may call each decision and appeal route, for the lead to merge into tests/test_access.py.

Decisions are read by the organisation's people, the secretariat and the application's reviewers;
others get 404 (the sample ids do not exist). Ballots on decisions and appeals are opened by the
secretariat; the application a ballot is about is read by its voters. The levels page is public.
"""

from __future__ import annotations

PUBLIC = "public"
SIGNED_IN = {"admin", "secretariat", "council_member", "expert", "applicant"}
STAFF = {"admin", "secretariat"}
VOTERS = {"admin", "secretariat", "council_member"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/marks/levels"): {PUBLIC, *SIGNED_IN},
    ("GET", "/applications/{application_id}/decision"): SIGNED_IN,
    ("POST", "/applications/{application_id}/appeal"): SIGNED_IN,
    ("GET", "/applications/{application_id}/decision-ballot"): STAFF,
    ("POST", "/applications/{application_id}/decision-ballot"): STAFF,
    ("GET", "/applications/{application_id}/appeal-ballot"): STAFF,
    ("POST", "/applications/{application_id}/appeal-ballot"): STAFF,
    ("GET", "/council/ballots/{ballot_id}/application"): VOTERS,
    ("GET", "/api/v1/applications/{application_id}/decision"): SIGNED_IN,
    ("POST", "/api/v1/applications/{application_id}/appeal"): SIGNED_IN,
    # Issuing (or retrying) a granted mark's certificate is the secretariat's.
    ("POST", "/applications/{application_id}/certificate"): STAFF,
    ("POST", "/api/v1/applications/{application_id}/certificate"): STAFF,
}

SAMPLE_PATH_VALUES: dict[str, str] = {"application_id": "999999", "ballot_id": "999999"}
