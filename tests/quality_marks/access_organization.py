"""Who may call the organisation pages (sign-up, dashboards, colleagues, products).

The lead merges these entries into tests/test_access.py. Reading an organisation or a product
is for applicants and the secretariat (the services answer 404 to people of other
organisations); changing anything is for applicants (the services check owner or editor).
"""

from __future__ import annotations

PUBLIC = "public"
ALL = {PUBLIC, "admin", "secretariat", "council_member", "expert", "applicant"}
APPLICANTS = {"applicant", "admin"}  # admins hold every role
READERS = {"applicant", "secretariat", "admin"}
STAFF = {"secretariat", "admin"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/register"): ALL,
    ("POST", "/register"): ALL,
    ("GET", "/register/sent"): ALL,
    ("GET", "/register/confirm/{token}"): ALL,
    ("POST", "/register/confirm/{token}"): ALL,
    ("POST", "/invitations/{invitation_id}/{answer}"): APPLICANTS,
    ("GET", "/organisations/verification"): STAFF,
    ("POST", "/organisations/{organization_id}/verification"): STAFF,
    ("POST", "/disputes/{dispute_id}"): STAFF,
    ("GET", "/disputes/{dispute_id}/proof"): STAFF,
    ("GET", "/organisations/disputes/new"): APPLICANTS,
    ("POST", "/organisations/disputes"): APPLICANTS,
    ("GET", "/organisations/{organization_id}/proof"): READERS,
    ("POST", "/organisations/{organization_id}/proof"): APPLICANTS,
    ("GET", "/organisation"): APPLICANTS,
    ("GET", "/organisations/new"): APPLICANTS,
    ("POST", "/organisations/new"): APPLICANTS,
    ("GET", "/organisations/{organization_id}"): READERS,
    ("POST", "/organisations/{organization_id}/members"): APPLICANTS,
    ("GET", "/organisations/{organization_id}/products/new"): APPLICANTS,
    ("POST", "/organisations/{organization_id}/products"): APPLICANTS,
    ("GET", "/products/{product_id}"): READERS,
    ("GET", "/products/{product_id}/edit"): APPLICANTS,
    ("POST", "/products/{product_id}"): APPLICANTS,
    ("POST", "/products/{product_id}/applications"): APPLICANTS,
}

SAMPLE_PATH_VALUES: dict[str, str] = {
    "organization_id": "999999",
    "product_id": "999999",
    "token": "not-a-token",
    "invitation_id": "999999",
    "answer": "accept",
    "dispute_id": "999999",
}
