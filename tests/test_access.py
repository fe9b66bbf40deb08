"""Who may call each route: a table every new route joins, checked for every role and the public."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.accounts import Role, issue_api_token
from tests.conftest import csrf_of
from tests.core import access_lists, access_mail, access_site, access_transparency
from tests.council import access_assignment, access_certificates
from tests.factories import NOW, make_user, sign_in_as
from tests.quality_marks import (
    access_api,
    access_applications,
    access_complaints,
    access_decisions,
    access_organization,
    access_registry,
    access_registry_public,
    access_reviews,
    access_verification,
)

PUBLIC = "public"
ROLES = [PUBLIC, *[role.value for role in Role]]

# (method, path) -> who gets in; everyone else is refused (sign-in redirect, 401 or 403).
ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/"): set(ROLES),
    ("GET", "/healthz"): set(ROLES),
    ("GET", "/readyz"): set(ROLES),
    ("GET", "/.well-known/jwks.json"): set(ROLES),
    ("GET", "/.well-known/council-signing-certificates.pem"): set(ROLES),
    ("GET", "/issuer"): set(ROLES),
    ("POST", "/language"): set(ROLES),
    ("GET", "/signin"): set(ROLES),
    ("POST", "/signin"): set(ROLES),
    ("POST", "/signout"): set(ROLES),
    ("GET", "/account"): set(ROLES) - {PUBLIC},
    ("GET", "/dashboard"): set(ROLES) - {PUBLIC},
    ("POST", "/account/password"): set(ROLES) - {PUBLIC},
    ("POST", "/account/tokens"): set(ROLES) - {PUBLIC},
    ("POST", "/account/tokens/{token_id}/revoke"): set(ROLES) - {PUBLIC},
    ("POST", "/account/sessions/end-others"): set(ROLES) - {PUBLIC},
    ("GET", "/account/reset"): set(ROLES),
    ("POST", "/account/reset"): set(ROLES),
    ("GET", "/account/reset/{token}"): set(ROLES),
    ("POST", "/account/reset/{token}"): set(ROLES),
    ("GET", "/account/invitation/{token}"): set(ROLES),
    ("POST", "/account/invitation/{token}"): set(ROLES),
    ("GET", "/admin/users"): {"secretariat", "admin"},
    ("POST", "/admin/users/invite"): {"secretariat", "admin"},
    ("POST", "/admin/users/{user_id}/signout"): {"secretariat", "admin"},
    ("GET", "/api/v1/me"): set(ROLES) - {PUBLIC},
    ("GET", "/api/v1/users"): {"secretariat", "admin"},
    ("POST", "/api/v1/users/invitations"): {"secretariat", "admin"},
    # Guidelines: reading is public (drafts answer 404 to those who may not see them).
    ("GET", "/guidelines"): set(ROLES),
    ("GET", "/guidelines/{slug}"): set(ROLES),
    ("GET", "/guidelines/{slug}/{number}"): set(ROLES),
    ("GET", "/guidelines/{slug}/{number}/pdf"): set(ROLES),
    ("GET", "/guidelines/{slug}/{number}/json"): set(ROLES),
    ("GET", "/guidelines/{slug}/compare/versions"): set(ROLES),
    ("GET", "/api/v1/guidelines"): set(ROLES),
    ("GET", "/api/v1/guidelines/{slug}"): set(ROLES),
    ("GET", "/api/v1/guidelines/{slug}/versions/{number}"): set(ROLES),
    ("GET", "/api/v1/guidelines/{slug}/diff"): set(ROLES),
    ("GET", "/api/v1/schemas/guideline-version.json"): set(ROLES),
    # Guidelines: authoring and the life cycle are the secretariat's.
    ("GET", "/guidelines/new"): {"secretariat", "admin"},
    ("POST", "/guidelines"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/drafts"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/import"): {"secretariat", "admin"},
    ("GET", "/guidelines/{slug}/{number}/edit"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/{number}/summary"): {"secretariat", "admin"},
    ("GET", "/guidelines/{slug}/{number}/principles/new"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/{number}/principles"): {"secretariat", "admin"},
    ("GET", "/guidelines/{slug}/{number}/principles/{principle_id}/edit"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/{number}/principles/{principle_id}"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/{number}/principles/{principle_id}/move"): {
        "secretariat",
        "admin",
    },
    ("POST", "/guidelines/{slug}/{number}/principles/{principle_id}/delete"): {
        "secretariat",
        "admin",
    },
    ("GET", "/guidelines/{slug}/{number}/criteria/new"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/{number}/criteria"): {"secretariat", "admin"},
    ("GET", "/guidelines/{slug}/{number}/criteria/{criterion_id}/edit"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/{number}/criteria/{criterion_id}"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/{number}/criteria/{criterion_id}/move"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/{number}/criteria/{criterion_id}/delete"): {
        "secretariat",
        "admin",
    },
    ("GET", "/guidelines/{slug}/{number}/revisions"): {"secretariat", "admin"},
    ("GET", "/guidelines/{slug}/{number}/revisions/{revision_number}"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/{number}/consultation/open"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/{number}/return-to-draft"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/{number}/withdraw"): {"secretariat", "admin"},
    ("GET", "/guidelines/{slug}/{number}/rebase"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/{number}/rebase"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/{number}/consultation/extend"): {"secretariat", "admin"},
    ("POST", "/guidelines/{slug}/{number}/consultation/close"): {"secretariat", "admin"},
    ("POST", "/api/v1/guidelines"): {"secretariat", "admin"},
    ("POST", "/api/v1/guidelines/{slug}/drafts"): {"secretariat", "admin"},
    ("POST", "/api/v1/guidelines/{slug}/versions"): {"secretariat", "admin"},
    ("PUT", "/api/v1/guidelines/{slug}/versions/{number}"): {"secretariat", "admin"},
    ("GET", "/api/v1/guidelines/{slug}/versions/{number}/revisions"): {"secretariat", "admin"},
    ("POST", "/api/v1/guidelines/{slug}/versions/{number}/consultation"): {"secretariat", "admin"},
    ("GET", "/guidelines/{slug}/{number}/consultation"): set(ROLES),
    ("GET", "/guidelines/{slug}/{number}/consultation/comment"): set(ROLES),
    ("POST", "/guidelines/{slug}/{number}/consultation/comments"): set(ROLES),
    ("POST", "/guidelines/{slug}/{number}/consultation/comments/{comment_id}/hide"): {
        "secretariat",
        "admin",
    },
    ("POST", "/guidelines/{slug}/{number}/consultation/comments/{comment_id}/disposition"): {
        "secretariat",
        "admin",
    },
    ("GET", "/guidelines/{slug}/{number}/consultation/report"): set(ROLES),
    ("GET", "/guidelines/{slug}/{number}/consultation/report/pdf"): set(ROLES),
    ("GET", "/consultation/confirm/{token}"): set(ROLES),
    ("GET", "/api/v1/guidelines/{slug}/versions/{number}/comments"): set(ROLES),
    ("POST", "/api/v1/guidelines/{slug}/versions/{number}/comments"): set(ROLES),
    # Council: members and resolutions are public; the rest follows the route's dependency.
    ("GET", "/council"): set(ROLES),
    ("GET", "/council/interests"): {"council_member", "expert", "admin"},
    ("POST", "/council/interests"): {"council_member", "expert", "admin"},
    ("POST", "/council/interests/{declaration_id}"): {"council_member", "expert", "admin"},
    ("POST", "/council/interests/{declaration_id}/retract"): {"council_member", "expert", "admin"},
    ("GET", "/council/members"): {"secretariat", "admin"},
    ("POST", "/council/members"): {"secretariat", "admin"},
    ("POST", "/council/members/{member_id}/terms"): {"secretariat", "admin"},
    ("GET", "/council/conflicts"): {"council_member", "secretariat", "admin"},
    ("POST", "/council/conflicts/dismiss"): {"council_member", "admin"},
    ("GET", "/council/ballots"): {"council_member", "secretariat", "admin"},
    ("GET", "/council/ballots/new"): {"council_member", "secretariat", "admin"},
    ("POST", "/council/ballots"): {"council_member", "secretariat", "admin"},
    ("GET", "/council/ballots/{ballot_id}"): {"council_member", "secretariat", "admin"},
    ("POST", "/council/ballots/{ballot_id}/positions"): {"council_member", "admin"},
    ("POST", "/council/ballots/{ballot_id}/close"): {"council_member", "secretariat", "admin"},
    ("GET", "/council/resolutions"): set(ROLES),
    ("GET", "/council/resolutions/{number}"): set(ROLES),
    ("GET", "/council/resolutions/{number}/pdf"): set(ROLES),
    ("GET", "/api/v1/council/members"): set(ROLES),
    ("GET", "/api/v1/council/ballots/{ballot_id}"): {"council_member", "secretariat", "admin"},
    ("POST", "/api/v1/council/ballots/{ballot_id}/positions"): {"council_member", "admin"},
    ("POST", "/api/v1/council/ballots/{ballot_id}/close"): {
        "council_member",
        "secretariat",
        "admin",
    },
    ("POST", "/api/v1/council/applications/{application_id}/decision-ballot"): {
        "secretariat",
        "admin",
    },
    ("POST", "/api/v1/council/applications/{application_id}/appeal-ballot"): {
        "secretariat",
        "admin",
    },
    ("GET", "/api/v1/council/resolutions"): set(ROLES),
    ("GET", "/api/v1/council/resolutions/{number}"): set(ROLES),
}

# Each quality-marks area keeps its own part of the table beside its tests.
for _part in (
    access_organization,
    access_applications,
    access_api,
    access_reviews,
    access_assignment,
    access_decisions,
    access_verification,
    access_registry,
    access_certificates,
    access_complaints,
    access_registry_public,
    access_transparency,
    access_site,
    access_mail,
    access_lists,
):
    ACCESS.update(_part.ACCESS)

SAMPLE_PATH_VALUES = {
    "token_id": "999999",
    "token": "no-such-token",
    "slug": "no-such-guideline",
    "number": "9.9",
    "comment_id": "999999",
    "principle_id": "999999",
    "criterion_id": "999999",
    "revision_number": "1",
    "declaration_id": "999999",
    "member_id": "999999",
    "ballot_id": "999999",
}
for _part in (
    access_organization,
    access_applications,
    access_api,
    access_reviews,
    access_assignment,
    access_decisions,
    access_verification,
    access_registry,
    access_certificates,
    access_complaints,
    access_registry_public,
    access_transparency,
    access_site,
    access_mail,
    access_lists,
):
    SAMPLE_PATH_VALUES.update(_part.SAMPLE_PATH_VALUES)


def _app_routes(app: FastAPI) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path:
            found.update((method, context.path) for method in (route.methods or set()) - {"HEAD"})
    return found


def test_every_route_is_in_the_access_table(app: FastAPI) -> None:
    assert _app_routes(app) == set(ACCESS)


def _concrete(path: str) -> str:
    for name, value in SAMPLE_PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    return path


def _call(client: TestClient, method: str, path: str, token: str | None) -> tuple[int, str]:
    url = _concrete(path)
    if path.startswith("/api/"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.request(method, url, headers=headers, json={})
    elif method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": csrf_of(client, "/")})
    return response.status_code, response.headers.get("location", "")


def _refusal(who: str, path: str) -> tuple[int, str]:
    """What a refused caller gets: the public is asked to sign in, others are forbidden."""
    if who != PUBLIC:
        return 403, ""
    if path.startswith("/api/"):
        return 401, ""
    return 303, "/signin?next="


@pytest.mark.parametrize("who", ROLES)
def test_access_table_is_enforced(client: TestClient, db: Session, who: str) -> None:
    token = None
    if who != PUBLIC:
        user = make_user(db, role=Role(who))
        sign_in_as(client, user)
        token = issue_api_token(db, user=user, name="access test", now=NOW)[1]
    failures = []
    for (method, path), allowed in sorted(ACCESS.items()):
        if path == "/signout":
            continue  # signing out would end the session the remaining checks rely on
        status, location = _call(client, method, path, token)
        refused_status, refused_location = _refusal(who, path)
        refused = status == refused_status and location.startswith(refused_location)
        if who in allowed and (refused or status in {401, 403}):
            failures.append(f"{who} was refused {method} {path} ({status})")
        if who not in allowed and not refused:
            failures.append(f"{who} was let into {method} {path} ({status} {location})")
    assert failures == []
