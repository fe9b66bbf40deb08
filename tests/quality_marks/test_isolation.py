"""Object-level access: one organisation's people can neither see nor change another's data.

Table-driven over every quality-marks route of the app (API and pages): a route added later is
checked without anyone remembering to, and a path parameter nobody mapped fails the test.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Select, inspect, or_, select
from sqlalchemy.orm import Session

from core.accounts import Role, User, issue_api_token
from core.audit import AuditEvent
from core.auth import now_utc
from core.mail import OutboxMessage
from core.storage import FileStore
from guidelines.models import GuidelineVersion
from quality_marks import applications, organizations
from quality_marks.models import (
    Answer,
    AnswerValue,
    Application,
    ApplicationSnapshot,
    Evidence,
    Message,
    MessageAttachment,
    Organization,
    OrganizationMember,
    Product,
)
from quality_marks.products import RISK_QUESTIONS
from quality_marks.schemas import AnswerInput
from tests.conftest import csrf_of
from tests.factories import NOW, make_user, sign_in_as
from tests.quality_marks import access_api
from tests.quality_marks.factories import (
    make_adopted_version,
    make_application,
    make_organization,
    make_product,
    verify,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# Every route whose path starts with one of these is checked (the singular /organisation is the
# applicant's own dashboard: it takes no id, but must not show another organisation).
PREFIXES = (
    "/organisation",
    "/products",
    "/applications",
    "/api/v1/organisations",
    "/api/v1/products",
    "/api/v1/applications",
)
PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")
# Routes under the prefixes that anonymous visitors may use (none: all of this is private).
PUBLIC_ROUTES: set[tuple[str, str]] = set()
# Unsafe routes without an object id act on the caller's own data; each is named here after
# someone checked that, and is still called to show it neither leaks nor touches A's data.
OWN_DATA_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/organisations"): "registers an organisation owned by the caller",
    ("POST", "/organisations/new"): "registers an organisation owned by the caller",
    ("POST", "/organisations/disputes"): "files the caller's own dispute over an RFC",
}

PRODUCT_BODY: dict[str, Any] = {
    "name": "Producto de B",
    "version": "1.0",
    "intended_purpose": "Un propósito cualquiera para el producto de B.",
    "sectors": ["finanzas"],
    "states": ["Jalisco"],
    "users_affected": "Clientes de B.",
    "risk_answers": {q.key: False for q in RISK_QUESTIONS},
    "data_description": "Datos de B.",
    "personal_data": False,
    "model_type": "Regresión",
    "human_oversight": "Revisión humana de B.",
    "provider": "Beta",
    "deployer": "Beta",
}
ORGANISATION_BODY: dict[str, Any] = {
    "legal_name": "Beta Segunda S.A. de C.V.",
    "rfc": "BSE200101AB1",
    "address": "Calle Falsa 123, Guadalajara",
    "state": "Jalisco",
    "sector": "otro",
    "size": "micro",
    "contact_name": "Persona de Beta",
    "contact_email": "beta@beta.example.mx",
}
# What B sends to the API: bodies a member of A would have had accepted, so that the answer
# comes from the access check and not from validation (a 422 fails the test).
API_REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/organisations"): {"json": ORGANISATION_BODY},
    ("POST", "/api/v1/organisations/{organization_id}/products"): {"json": PRODUCT_BODY},
    ("PUT", "/api/v1/products/{product_id}"): {"json": PRODUCT_BODY},
    ("POST", "/api/v1/products/{product_id}/applications"): {
        "json": {"guideline": "etica-ia", "version": "1.0"}
    },
    ("PUT", "/api/v1/applications/{application_id}/answers/{criterion_code}"): {
        "json": {"value": "does_not_meet", "justification": "Cambiado por B."}
    },
    ("POST", "/api/v1/applications/{application_id}/answers"): {
        "json": {"TR-1": {"value": "does_not_meet", "justification": "Cambiado por B."}}
    },
    ("POST", "/api/v1/applications/{application_id}/evidence"): {
        "data": {"criterion_code": "TR-1"},
        "files": {"file": ("de-b.pdf", PDF, "application/pdf")},
    },
    ("POST", "/api/v1/applications/{application_id}/links"): {
        "json": {"criterion_code": "TR-1", "url": "https://beta.example.mx/"}
    },
    ("POST", "/api/v1/applications/{application_id}/withdraw"): {"json": {"reason": "B"}},
    ("POST", "/api/v1/applications/{application_id}/messages"): {"json": {"body": "Hola de B"}},
    ("POST", "/api/v1/applications/{application_id}/appeal"): {"json": {"grounds": "Apela B."}},
}
# What B posts to pages besides the CSRF token (a page form refused before the lookup would
# answer 422; such a route fails here until its form is given).
PAGE_FORMS: dict[tuple[str, str], dict[str, str]] = {}


@dataclass
class World:
    """One organisation with everything the routes can name."""

    owner: User
    token: str
    organization: Organization
    product: Product
    application: Application
    evidence: Evidence
    message: Message
    attachment: MessageAttachment
    markers: tuple[str, ...]  # text only this organisation's data contains


def build_world(
    db: Session, store: FileStore, version: GuidelineVersion, tag: str, rfc_hint: str
) -> World:
    """An organisation: owner, product, application with an answer, files and a message."""
    owner = make_user(db, role=Role.applicant, full_name=f"Dueña {tag}")
    organization = make_organization(
        db, owner=owner, legal_name=f"Organización {tag} S.C.", verified=False
    )
    organizations.upload_proof(
        db,
        actor=owner,
        organization_id=organization.id,
        stream=io.BytesIO(PDF + tag.encode()),
        filename=f"constancia-{tag}.pdf",
        store=store,
        max_bytes=1024 * 1024,
        now=NOW,
    )
    verify(db, organization.id)
    product = make_product(db, owner, organization, name=f"Producto {tag}")
    application = make_application(db, actor=owner, product=product, version=version)
    justification = f"Justificación secreta {tag} {rfc_hint}"
    applications.save_answers(
        db,
        actor=owner,
        application=application,
        answers={"TR-1": AnswerInput(value=AnswerValue.partly_meets, justification=justification)},
        now=NOW,
    )
    evidence = applications.add_evidence_file(
        db,
        actor=owner,
        application=application,
        criterion_code="TR-1",
        stream=io.BytesIO(PDF + tag.encode()),
        filename=f"evidencia-{tag}.pdf",
        public=False,
        store=store,
        max_file_bytes=1024 * 1024,
        max_total_bytes=1024 * 1024,
        now=NOW,
    )
    message = applications.post_message(
        db,
        actor=owner,
        application=application,
        body=f"Mensaje confidencial {tag}",
        attachments=[(io.BytesIO(PDF), f"adjunto-{tag}.pdf")],
        store=store,
        max_file_bytes=1024 * 1024,
        max_total_bytes=2 * 1024 * 1024,
        max_files=5,
        base_url="http://testserver",
        now=NOW,
    )
    attachment = db.scalars(
        select(MessageAttachment).where(MessageAttachment.message_id == message.id)
    ).one()
    token = issue_api_token(db, user=owner, name=f"token {tag}", now=NOW)[1]
    db.commit()
    markers = (
        organization.legal_name,
        organization.rfc,
        organization.proof_name,
        product.name,
        product.identifier,
        justification,
        evidence.original_name,
        message.body,
        attachment.original_name,
    )
    return World(
        owner, token, organization, product, application, evidence, message, attachment, markers
    )


def path_values(world: World) -> dict[str, str]:
    """Each path parameter a quality-marks route may take, filled with the world's object."""
    return {
        "organization_id": str(world.organization.id),
        "product_id": str(world.product.id),
        "application_id": str(world.application.id),
        "evidence_id": str(world.evidence.id),
        "message_id": str(world.message.id),
        "attachment_id": str(world.attachment.id),
        # Guideline codes are public and shared; the application id makes the route A's.
        "principle_code": "TR",
        "criterion_code": "TR-1",
    }


OBJECT_PARAMS = {
    "organization_id",
    "product_id",
    "application_id",
    "evidence_id",
    "message_id",
    "attachment_id",
}


def concrete(path: str, values: dict[str, str]) -> str:
    """The path with every parameter filled; an unmapped parameter fails loudly."""
    unknown = [name for name in PARAM.findall(path) if name not in values]
    if unknown:
        pytest.fail(f"{path}: no value for path parameter(s) {unknown}; map them in path_values")
    return PARAM.sub(lambda m: values[m.group(1)], path)


@dataclass(frozen=True)
class Route:
    """One method of one quality-marks route."""

    method: str
    path: str
    gates: tuple[tuple[Role, ...], ...]  # roles each `require(...)` dependency admits

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def takes_object(self) -> bool:
        return any(name in OBJECT_PARAMS for name in PARAM.findall(self.path))

    def refusal_for(self, user: User) -> int:
        """404 for an object the caller may not know; 403 when a role gate stops it first."""
        return 403 if any(roles and not user.has_role(*roles) for roles in self.gates) else 404


def _gates(dependant: Dependant) -> Iterator[tuple[Role, ...]]:
    for dependency in dependant.dependencies:
        roles = getattr(dependency.call, "allowed_roles", None)
        if roles is not None:
            yield tuple(roles)
        yield from _gates(dependency)


def quality_mark_routes(app: FastAPI) -> list[Route]:
    """Every method of every route under the quality-marks prefixes."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path
        if isinstance(route, APIRoute) and path and path.startswith(PREFIXES):
            gates = tuple(_gates(route.dependant))
            found += [Route(m, path, gates) for m in sorted((route.methods or set()) - {"HEAD"})]
    return found


# A's data, before and after -----------------------------------------------------------------


def _rows(db: Session, stmt: Select[Any]) -> list[dict[str, Any]]:
    rows = []
    for obj in db.scalars(stmt):
        attrs = inspect(type(obj)).column_attrs
        rows.append({attr.key: getattr(obj, attr.key) for attr in attrs})
    return sorted(rows, key=lambda row: row["id"])


def snapshot(db: Session, world: World, store: FileStore) -> dict[str, Any]:
    """Everything stored about the organisation: rows, audit trail, mail to it, stored files."""
    db.expire_all()
    org_id = world.organization.id
    app_ids = select(Application.id).where(Application.organization_id == org_id)
    product_ids = select(Product.id).where(Product.organization_id == org_id)
    message_ids = select(Message.id).where(Message.application_id.in_(app_ids))
    mail_to = world.owner.email
    state: dict[str, Any] = {
        "organizations": _rows(db, select(Organization).where(Organization.id == org_id)),
        "members": _rows(
            db, select(OrganizationMember).where(OrganizationMember.organization_id == org_id)
        ),
        "products": _rows(db, select(Product).where(Product.organization_id == org_id)),
        "applications": _rows(db, select(Application).where(Application.organization_id == org_id)),
        "answers": _rows(db, select(Answer).where(Answer.application_id.in_(app_ids))),
        "evidence": _rows(db, select(Evidence).where(Evidence.application_id.in_(app_ids))),
        "snapshots": _rows(
            db, select(ApplicationSnapshot).where(ApplicationSnapshot.application_id.in_(app_ids))
        ),
        "messages": _rows(db, select(Message).where(Message.application_id.in_(app_ids))),
        "attachments": _rows(
            db, select(MessageAttachment).where(MessageAttachment.message_id.in_(message_ids))
        ),
        "audit": _rows(
            db,
            select(AuditEvent).where(
                or_(
                    (AuditEvent.object_type == "organization")
                    & (AuditEvent.object_id == str(org_id)),
                    (AuditEvent.object_type == "product")
                    & AuditEvent.object_id.in_([str(i) for i in db.scalars(product_ids)]),
                    (AuditEvent.object_type == "application")
                    & AuditEvent.object_id.in_([str(i) for i in db.scalars(app_ids)]),
                )
            ),
        ),
        "mail": _rows(db, select(OutboxMessage).where(OutboxMessage.to_address == mail_to)),
    }
    keys = [row["stored_key"] for row in state["evidence"] + state["attachments"]]
    state["files"] = {
        key: hashlib.sha256(store.path_of(key).read_bytes()).hexdigest()
        for key in keys
        if key and store.path_of(key).exists()
    }
    return state


# The checks ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def pinned_clock(app: FastAPI) -> None:
    """The API sees the same clock as the data built with the service verbs."""
    app.dependency_overrides[now_utc] = lambda: NOW


@pytest.fixture
def worlds(db: Session, app: FastAPI) -> tuple[World, World]:
    """Organisations A and B, each with a product, an application, evidence and a message."""
    version = make_adopted_version(db)
    store: FileStore = app.state.file_store
    return (
        build_world(db, store, version, "Alfa", "A-7Q2"),
        build_world(db, store, version, "Beta", "B-3K9"),
    )


def _call(client: TestClient, route: Route, url: str, token: str | None) -> Any:
    if route.is_api:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.request(
            route.method, url, headers=headers, **API_REQUESTS.get((route.method, route.path), {})
        )
    if route.method == "GET":
        return client.get(url)
    form = {"csrf_token": csrf_of(client, "/"), **PAGE_FORMS.get((route.method, route.path), {})}
    return client.request(route.method, url, data=form)


def _leaks(text: str, world: World) -> list[str]:
    return [marker for marker in world.markers if marker in text]


def test_every_route_is_checked(app: FastAPI) -> None:
    routes = quality_mark_routes(app)
    api = {(r.method, r.path) for r in routes if r.is_api}
    # Every API route of the access table is here: if not, the prefixes no longer match.
    assert set(access_api.ACCESS) - {("GET", "/api/v1/risk-questionnaire")} <= api
    unlisted = [
        (r.method, r.path)
        for r in routes
        if not r.takes_object and r.method != "GET" and (r.method, r.path) not in OWN_DATA_ROUTES
    ]
    assert unlisted == [], "unsafe routes without an object id: check them, list in OWN_DATA_ROUTES"


def test_other_organisations_people_get_404_and_change_nothing(
    client: TestClient, app: FastAPI, db: Session, worlds: tuple[World, World]
) -> None:
    a, b = worlds
    store: FileStore = app.state.file_store
    sign_in_as(client, b.owner)
    values = path_values(a)
    before = snapshot(db, a, store)
    failures: list[str] = []

    for route in quality_mark_routes(app):
        url = concrete(route.path, values)
        response = _call(client, route, url, b.token)
        label = f"{route.method} {route.path}"
        if route.takes_object:
            expected = route.refusal_for(b.owner)
            if response.status_code != expected:
                failures.append(f"{label}: {response.status_code}, expected {expected}")
            elif route.is_api and response.json().get("error") not in {"not_found", "forbidden"}:
                failures.append(f"{label}: error body {response.text[:200]}")
        elif response.status_code >= 500:
            failures.append(f"{label}: {response.status_code}")
        if leaked := _leaks(response.text, a):
            failures.append(f"{label}: shows A's {leaked}")
        if snapshot(db, a, store) != before:
            failures.append(f"{label}: changed A's data")
        db.rollback()  # production would roll back whatever a refused request left unflushed

    assert failures == []
    assert snapshot(db, a, store) == before


def test_anonymous_callers_are_asked_to_sign_in(
    client: TestClient, app: FastAPI, db: Session, worlds: tuple[World, World]
) -> None:
    a, _b = worlds
    store: FileStore = app.state.file_store
    before = snapshot(db, a, store)
    failures: list[str] = []

    for route in quality_mark_routes(app):
        if (route.method, route.path) in PUBLIC_ROUTES:
            continue
        response = _call(client, route, concrete(route.path, path_values(a)), None)
        label = f"{route.method} {route.path}"
        if route.is_api:
            if response.status_code != 401 or response.json()["error"] != "unauthenticated":
                failures.append(f"{label}: {response.status_code} {response.text[:100]}")
        elif response.status_code != 303 or not response.headers["location"].startswith(
            "/signin?next="
        ):
            failures.append(f"{label}: {response.status_code} {response.headers.get('location')}")
        if leaked := _leaks(response.text, a):
            failures.append(f"{label}: shows A's {leaked}")

    assert failures == []
    assert snapshot(db, a, store) == before


def test_own_organisation_reads_every_object_route(
    client: TestClient, app: FastAPI, worlds: tuple[World, World]
) -> None:
    """The control: the ids the checks use are real, so their 404s come from the access rule."""
    a, _b = worlds
    sign_in_as(client, a.owner)
    failures = []
    for route in quality_mark_routes(app):
        if route.method != "GET" or not route.takes_object:
            continue
        response = _call(client, route, concrete(route.path, path_values(a)), a.token)
        expected = 403 if route.refusal_for(a.owner) == 403 else 200
        if response.status_code != expected:
            failures.append(f"GET {route.path}: {response.status_code}, expected {expected}")
    assert failures == []
