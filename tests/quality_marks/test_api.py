"""The quality-marks API: a company's tooling goes from an account to a submitted application."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import Role, User, issue_api_token
from core.auth import now_utc
from core.i18n import translator
from core.settings import Settings
from guidelines.models import GuidelineVersion
from quality_marks.models import ApplicationSnapshot, ApplicationStatus, OrgRole
from quality_marks.products import RISK_QUESTIONS
from tests.factories import NOW, make_user
from tests.guidelines.builders import make_draft
from tests.quality_marks.factories import (
    make_adopted_version,
    make_application,
    make_member,
    make_organization,
    make_product,
    verify,
)

Json = dict[str, Any]
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ENGLISH = {"Accept-Language": "en"}
# Product "interacts" with people: limited risk, so TR-1, TR-2 and EQ-1 apply, TR-3 and EQ-2 not.
LIMITED_CHECKLIST = ["TR-1", "TR-2", "EQ-1"]

ORGANISATION = {
    "legal_name": "Visión Artificial del Bajío S.A. de C.V.",
    "rfc": "VAB190611QX3",
    "address": "Blvd. Adolfo López Mateos 1200, León",
    "state": "Guanajuato",
    "sector": "comercio",
    "size": "medium",
    "contact_name": "Rosa Hernández",
    "contact_email": "cumplimiento@vab.example.mx",
    "contact_phone": "+52 477 555 0101",
    "website": "https://vab.example.mx",
}


def product_body(**answers: bool) -> Json:
    """A product description whose questionnaire answers are no except those given."""
    return {
        "name": "Asistente de atención a clientes",
        "version": "3.2",
        "intended_purpose": "Responder preguntas de clientes sobre pedidos y devoluciones.",
        "sectors": ["comercio"],
        "states": ["Guanajuato", "Jalisco"],
        "users_affected": "Clientes de tiendas en línea.",
        "risk_answers": {q.key: answers.get(q.key, False) for q in RISK_QUESTIONS},
        "data_description": "Historial de pedidos y conversaciones.",
        "personal_data": True,
        "legal_basis": "Ejecución del contrato de compraventa.",
        "model_type": "Modelo de lenguaje ajustado",
        "human_oversight": "Un agente humano atiende cuando el cliente lo pide.",
        "provider": "Visión Artificial del Bajío",
        "deployer": "Visión Artificial del Bajío",
    }


@pytest.fixture(autouse=True)
def pinned_clock(app: FastAPI) -> None:
    """The API sees the same clock as the data built with the service verbs."""
    app.dependency_overrides[now_utc] = lambda: NOW


@pytest.fixture
def version(db: Session) -> GuidelineVersion:
    """Guideline etica-ia 1.0 in force, with criteria for different risk levels."""
    return make_adopted_version(db)


def bearer(db: Session, user: User) -> dict[str, str]:
    token = issue_api_token(db, user=user, name="herramienta de cumplimiento", now=NOW)[1]
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def ok(response: Response, status: int = 200) -> Json:
    assert response.status_code == status, response.text
    body: Json = response.json()
    return body


def checklist_codes(application: Json) -> list[str]:
    return [item["code"] for item in application["checklist"]]


def started_application(client: TestClient, db: Session) -> tuple[dict[str, str], Json]:
    """An applicant's token, organisation, limited-risk product and draft application."""
    auth = bearer(db, make_user(db, role=Role.applicant))
    org = ok(client.post("/api/v1/organisations", json=ORGANISATION, headers=auth), 201)
    verify(db, org["id"])
    product = ok(
        client.post(
            f"/api/v1/organisations/{org['id']}/products",
            json=product_body(interacts=True),
            headers=auth,
        ),
        201,
    )
    application = ok(
        client.post(
            f"/api/v1/products/{product['id']}/applications",
            json={"guideline": "etica-ia", "version": "1.0"},
            headers=auth,
        ),
        201,
    )
    return auth, application


def answer_everything(client: TestClient, auth: dict[str, str], application_id: int) -> Json:
    return ok(
        client.post(
            f"/api/v1/applications/{application_id}/answers",
            json={
                "TR-1": {"value": "meets"},
                "TR-2": {"value": "partly_meets", "justification": "Falta el registro de 2025."},
                "EQ-1": {"value": "not_applicable", "justification": "No decide sobre personas."},
            },
            headers=auth,
        )
    )


# The journey ---------------------------------------------------------------------------------


def test_company_goes_from_account_to_submitted_application_with_a_token_only(
    client: TestClient, db: Session, version: GuidelineVersion
) -> None:
    auth = bearer(db, make_user(db, role=Role.applicant))

    org = ok(client.post("/api/v1/organisations", json=ORGANISATION, headers=auth), 201)
    assert org["rfc"] == "VAB190611QX3"
    assert org["role"] == "owner"
    assert org["verification"] == "unverified"
    verify(db, org["id"])
    listed = ok(client.get("/api/v1/organisations", headers=auth))
    assert [o["id"] for o in listed["items"]] == [org["id"]]

    questionnaire = ok(client.get("/api/v1/risk-questionnaire"))
    levels = {q["key"]: q["level"] for q in questionnaire["questions"]}
    assert levels["interacts"] == "limited"
    assert levels["essential_services"] == "high"

    product = ok(
        client.post(
            f"/api/v1/organisations/{org['id']}/products",
            json=product_body(interacts=True),
            headers=auth,
        ),
        201,
    )
    assert product["risk_level"] == "limited"
    assert product["identifier"].startswith("MX-IA-")
    assert product["risk_answers"]["interacts"] is True
    products = ok(client.get(f"/api/v1/organisations/{org['id']}/products", headers=auth))
    assert [p["id"] for p in products["items"]] == [product["id"]]

    started = ok(
        client.post(
            f"/api/v1/products/{product['id']}/applications",
            json={"guideline": "etica-ia", "version": "1.0"},
            headers=auth,
        ),
        201,
    )
    application_id = started["id"]
    assert (started["guideline"], started["version"], started["risk_level"]) == (
        "etica-ia",
        "1.0",
        "limited",
    )
    assert started["status"] == "draft"
    assert checklist_codes(started) == LIMITED_CHECKLIST
    assert set(started["missing"]) == set(LIMITED_CHECKLIST)
    assert started["completeness"] == {
        "TR": {"total": 2, "complete": 0},
        "EQ": {"total": 1, "complete": 0},
    }
    assert {"edit", "submit", "withdraw"} <= set(started["next_actions"])

    item = ok(
        client.put(
            f"/api/v1/applications/{application_id}/answers/TR-1",
            json={"value": "meets", "justification": "Publicamos la ficha del modelo."},
            headers=auth,
        )
    )
    assert (item["code"], item["value"], item["missing"]) == ("TR-1", "meets", [])

    answered = answer_everything(client, auth, application_id)
    assert answered["missing"] == {}
    assert answered["completeness"] == {
        "TR": {"total": 2, "complete": 2},
        "EQ": {"total": 1, "complete": 1},
    }

    evidence = ok(
        client.post(
            f"/api/v1/applications/{application_id}/evidence",
            data={"criterion_code": "TR-1", "public": "true"},
            files={"file": ("ficha del modelo.pdf", PDF, "application/pdf")},
            headers=auth,
        ),
        201,
    )
    assert evidence["content_type"] == "application/pdf"
    assert evidence["size"] == len(PDF)
    assert evidence["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert evidence["public"] is True
    download = client.get(
        f"/api/v1/applications/{application_id}/evidence/{evidence['id']}/content", headers=auth
    )
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"

    link = ok(
        client.post(
            f"/api/v1/applications/{application_id}/links",
            json={"criterion_code": "EQ-1", "url": "https://vab.example.mx/equidad"},
            headers=auth,
        ),
        201,
    )
    assert link["url"] == "https://vab.example.mx/equidad"

    current = ok(client.get(f"/api/v1/applications/{application_id}", headers=auth))
    evidence_by_code = {i["code"]: [e["id"] for e in i["evidence"]] for i in current["checklist"]}
    assert evidence_by_code == {"TR-1": [evidence["id"]], "TR-2": [], "EQ-1": [link["id"]]}

    submitted = ok(client.post(f"/api/v1/applications/{application_id}/submit", headers=auth))
    assert submitted["status"] == "submitted"
    assert submitted["submitted_at"] is not None
    assert "submit" not in submitted["next_actions"]
    assert "edit" not in submitted["next_actions"]
    snapshots = db.scalar(
        select(func.count())
        .select_from(ApplicationSnapshot)
        .where(ApplicationSnapshot.application_id == application_id)
    )
    assert snapshots == 1

    mine = ok(client.get("/api/v1/applications", headers=auth))
    assert [(a["id"], a["status"]) for a in mine["items"]] == [(application_id, "submitted")]


def test_messages_are_sent_as_json_or_with_attachments(
    client: TestClient, db: Session, version: GuidelineVersion
) -> None:
    auth, application = started_application(client, db)
    url = f"/api/v1/applications/{application['id']}/messages"

    plain = ok(client.post(url, json={"body": "¿Aceptan evidencia en inglés?"}, headers=auth), 201)
    assert plain["attachments"] == []
    assert plain["from_secretariat"] is False
    with_file = ok(
        client.post(
            url,
            data={"body": "Adjuntamos el acta constitutiva."},
            files=[("attachments", ("acta.pdf", PDF, "application/pdf"))],
            headers=auth,
        ),
        201,
    )
    assert [(a["original_name"], a["size"]) for a in with_file["attachments"]] == [
        ("acta.pdf", len(PDF))
    ]
    empty = client.post(url, json={"body": "  "}, headers=auth)
    assert empty.status_code == 422
    assert "body" in empty.json()["fields"]

    thread = ok(client.get(url, headers=auth))
    assert thread["total"] == 2
    assert [m["body"] for m in thread["items"]] == [
        "¿Aceptan evidencia en inglés?",
        "Adjuntamos el acta constitutiva.",
    ]


# Rules the API enforces ---------------------------------------------------------------------


def test_submission_is_blocked_until_every_criterion_is_complete(
    client: TestClient, db: Session, version: GuidelineVersion
) -> None:
    auth, application = started_application(client, db)
    base = f"/api/v1/applications/{application['id']}"
    ok(
        client.post(
            f"{base}/answers",
            json={"TR-1": {"value": "meets"}, "TR-2": {"value": "does_not_meet"}},
            headers=auth,
        )
    )

    refused = client.post(f"{base}/submit", headers={**auth, **ENGLISH})

    assert refused.status_code == 422
    body = refused.json()
    assert body["error"] == "invalid"
    assert body["fields"] == {
        "TR-2": "Give a justification for this answer.",
        "EQ-1": "Choose an answer.",
    }
    assert ok(client.get(base, headers=auth))["status"] == "draft"


def test_self_assessment_is_frozen_after_submission(
    client: TestClient, db: Session, version: GuidelineVersion
) -> None:
    auth, application = started_application(client, db)
    base = f"/api/v1/applications/{application['id']}"
    answer_everything(client, auth, application["id"])
    ok(client.post(f"{base}/submit", headers=auth))

    changes = [
        client.put(f"{base}/answers/TR-1", json={"value": "does_not_meet"}, headers=auth),
        client.post(f"{base}/answers", json={"TR-1": {"value": "meets"}}, headers=auth),
        client.post(
            f"{base}/evidence",
            data={"criterion_code": "TR-1"},
            files={"file": ("tarde.pdf", PDF, "application/pdf")},
            headers=auth,
        ),
        client.post(
            f"{base}/links",
            json={"criterion_code": "TR-1", "url": "https://vab.example.mx/tarde"},
            headers=auth,
        ),
        client.post(f"{base}/submit", headers=auth),
    ]

    assert [r.status_code for r in changes] == [409] * len(changes)
    assert {r.json()["error"] for r in changes} == {"conflict"}
    after = ok(client.get(base, headers=auth))
    assert [i["value"] for i in after["checklist"]] == ["meets", "partly_meets", "not_applicable"]


def test_evidence_refusals_say_why(
    client: TestClient, app: FastAPI, settings: Settings, db: Session, version: GuidelineVersion
) -> None:
    auth, application = started_application(client, db)
    url = f"/api/v1/applications/{application['id']}/evidence"

    def upload(name: str, content: bytes, code: str = "TR-1") -> Response:
        return client.post(
            url,
            data={"criterion_code": code},
            files={"file": (name, content, "application/octet-stream")},
            headers={**auth, **ENGLISH},
        )

    executable = upload("setup.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" * 20)
    assert executable.status_code == 422
    assert executable.json()["detail"].startswith("This kind of file is not accepted.")
    assert upload("vacio.pdf", b"").json()["detail"] == "The file is empty."
    off_checklist = upload("alto.pdf", PDF, code="TR-3")
    assert off_checklist.status_code == 422
    assert "TR-3" in off_checklist.json()["detail"]

    app.state.settings = settings.model_copy(update={"max_upload_bytes": 1024 * 1024})
    too_large = upload("grande.pdf", PDF + b"0" * (1024 * 1024))
    assert too_large.status_code == 413
    assert too_large.json() == {
        "error": "too_large",
        "detail": "The file is larger than the limit of 1 MB.",
    }
    app.state.settings = settings.model_copy(
        update={"max_upload_bytes": 4096, "max_application_upload_bytes": 4096}
    )
    assert upload("primero.pdf", PDF + b"0" * 3000).status_code == 201
    over_total = upload("segundo.pdf", PDF + b"0" * 3000)
    assert over_total.status_code == 413
    assert "in total" in over_total.json()["detail"]

    current = ok(client.get(f"/api/v1/applications/{application['id']}", headers=auth))
    assert [len(i["evidence"]) for i in current["checklist"]] == [1, 0, 0]


def test_evidence_of_the_open_round_can_be_removed(
    client: TestClient, app: FastAPI, db: Session, version: GuidelineVersion
) -> None:
    auth, application = started_application(client, db)
    base = f"/api/v1/applications/{application['id']}"
    evidence = ok(
        client.post(
            f"{base}/evidence",
            data={"criterion_code": "TR-2"},
            files={"file": ("borrador.pdf", PDF, "application/pdf")},
            headers=auth,
        ),
        201,
    )
    stored = [p for p in app.state.file_store.root.rglob("*") if p.is_file()]
    assert len(stored) == 1

    removed = client.delete(f"{base}/evidence/{evidence['id']}", headers=auth)

    assert removed.status_code == 204
    assert not stored[0].exists()
    assert client.get(f"{base}/evidence/{evidence['id']}/content", headers=auth).status_code == 404
    assert client.delete(f"{base}/evidence/{evidence['id']}", headers=auth).status_code == 404


def test_applications_start_only_on_an_accepted_version(
    client: TestClient, db: Session, version: GuidelineVersion
) -> None:
    make_draft(db, make_user(db, role=Role.secretariat), slug="borrador-ia")
    db.commit()
    auth = bearer(db, make_user(db, role=Role.applicant))
    org = ok(client.post("/api/v1/organisations", json=ORGANISATION, headers=auth), 201)
    verify(db, org["id"])
    product = ok(
        client.post(
            f"/api/v1/organisations/{org['id']}/products", json=product_body(), headers=auth
        ),
        201,
    )
    url = f"/api/v1/products/{product['id']}/applications"

    for choice in (
        {"guideline": "borrador-ia", "version": "1.0"},
        {"guideline": "etica-ia", "version": "9.9"},
        {"guideline": "no-existe", "version": "1.0"},
    ):
        refused = client.post(url, json=choice, headers=auth)
        assert refused.status_code == 422, choice
        assert set(refused.json()["fields"]) == {"version"}

    accepted = {"guideline": "etica-ia", "version": "1.0"}
    started = ok(client.post(url, json=accepted, headers=auth), 201)
    assert started["risk_level"] == "minimal"
    assert checklist_codes(started) == ["TR-1"]
    again = client.post(url, json=accepted, headers=auth)
    assert again.status_code == 409


def test_product_update_recomputes_its_risk_but_not_the_applications(
    client: TestClient, db: Session, version: GuidelineVersion
) -> None:
    auth, application = started_application(client, db)
    url = f"/api/v1/products/{application['product_id']}"

    updated = ok(client.put(url, json=product_body(essential_services=True), headers=auth))

    assert updated["risk_level"] == "high"
    assert ok(client.get(url, headers=auth))["risk_level"] == "high"
    kept = ok(client.get(f"/api/v1/applications/{application['id']}", headers=auth))
    assert kept["risk_level"] == "limited"
    assert checklist_codes(kept) == LIMITED_CHECKLIST


def test_withdrawn_application_cannot_be_submitted(
    client: TestClient, db: Session, version: GuidelineVersion
) -> None:
    auth, application = started_application(client, db)
    base = f"/api/v1/applications/{application['id']}"

    withdrawn = ok(
        client.post(f"{base}/withdraw", json={"reason": "Cambiamos de proveedor."}, headers=auth)
    )

    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["next_actions"] == []
    assert client.post(f"{base}/submit", headers=auth).status_code == 409


def test_viewers_read_but_do_not_change(
    client: TestClient, db: Session, version: GuidelineVersion
) -> None:
    owner = make_user(db, role=Role.applicant)
    org = make_organization(db, owner=owner)
    product = make_product(db, owner, org, risk="limited")
    application = make_application(db, actor=owner, product=product, version=version)
    auth = bearer(db, make_member(db, org, OrgRole.viewer))
    base = f"/api/v1/applications/{application.id}"

    seen = ok(client.get(base, headers=auth))
    assert seen["next_actions"] == []
    assert ok(client.get(f"/api/v1/organisations/{org.id}", headers=auth))["role"] == "viewer"
    refused = [
        client.put(f"{base}/answers/TR-1", json={"value": "meets"}, headers=auth),
        client.post(f"{base}/submit", headers=auth),
        client.put(f"/api/v1/products/{product.id}", json=product_body(), headers=auth),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]


def test_only_applicant_accounts_register_organisations(client: TestClient, db: Session) -> None:
    for role in (Role.expert, Role.secretariat):
        refused = client.post(
            "/api/v1/organisations", json=ORGANISATION, headers=bearer(db, make_user(db, role=role))
        )
        assert refused.status_code == 403
        assert refused.json()["error"] == "forbidden"


# Lists, documents and errors ---------------------------------------------------------------


def test_application_list_is_paginated_and_scoped_to_the_callers_organisations(
    client: TestClient, db: Session, version: GuidelineVersion
) -> None:
    owner = make_user(db, role=Role.applicant)
    org = make_organization(db, owner=owner)
    ids = [
        make_application(
            db, actor=owner, product=make_product(db, owner, org, name=f"P{n}"), version=version
        ).id
        for n in range(3)
    ]
    stranger_org = make_organization(db)
    stranger = make_user(db, role=Role.applicant)
    auth = bearer(db, owner)

    first = ok(client.get("/api/v1/applications?page_size=2", headers=auth))
    second = ok(client.get("/api/v1/applications?page_size=2&page=2", headers=auth))

    # `more` says the total is only a floor (past the counting cap); below it the total is exact.
    assert set(first) == {"items", "total", "page", "page_size", "more"}
    assert (first["total"], first["page"], first["page_size"], len(first["items"])) == (3, 1, 2, 2)
    assert first["more"] is False
    assert (second["page"], len(second["items"])) == (2, 1)
    assert sorted(a["id"] for a in first["items"] + second["items"]) == sorted(ids)
    drafts = ok(client.get("/api/v1/applications?status=draft", headers=auth))
    assert drafts["total"] == 3
    submitted = ok(client.get("/api/v1/applications?status=submitted", headers=auth))
    assert submitted == {"items": [], "total": 0, "page": 1, "page_size": 50, "more": False}

    assert ok(client.get("/api/v1/applications", headers=bearer(db, stranger)))["total"] == 0
    staff = bearer(db, make_user(db, role=Role.secretariat))
    assert ok(client.get("/api/v1/applications", headers=staff))["total"] == 3
    every_org = ok(client.get("/api/v1/organisations", headers=staff))
    assert {org.id, stranger_org.id} <= {o["id"] for o in every_org["items"]}
    assert client.get("/api/v1/applications?page_size=500", headers=auth).status_code == 422
    bad_status = client.get(f"/api/v1/applications?status={ApplicationStatus.draft}x", headers=auth)
    assert bad_status.status_code == 422


def test_openapi_document_describes_the_quality_marks_api(client: TestClient) -> None:
    document = ok(client.get("/api/v1/openapi.json"))

    assert "quality_marks" in {tag["name"] for tag in document["tags"]}
    schemas = document["components"]["schemas"]
    assert {"ProductInput", "ApplicationOut", "AnswerInput", "EvidenceOut", "LinkInput"} <= set(
        schemas
    )
    assert "checklist" in schemas["ApplicationOut"]["properties"]
    application = document["paths"]["/api/v1/applications/{application_id}"]["get"]
    assert application["tags"] == ["quality_marks"]
    assert application["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApplicationOut"
    }
    evidence = document["paths"]["/api/v1/applications/{application_id}/evidence"]["post"]
    assert "multipart/form-data" in evidence["requestBody"]["content"]
    assert "413" in evidence["responses"]
    messages = document["paths"]["/api/v1/applications/{application_id}/messages"]["post"]
    assert {"application/json", "multipart/form-data"} <= set(messages["requestBody"]["content"])


def test_errors_are_json_in_the_house_format(
    client: TestClient, db: Session, version: GuidelineVersion
) -> None:
    anonymous = client.get("/api/v1/applications")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "unauthenticated"

    auth = bearer(db, make_user(db, role=Role.applicant))
    missing = client.get("/api/v1/applications/999999", headers={**auth, **ENGLISH})
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "not_found",
        "detail": "The page or object you asked for does not exist.",
    }
    malformed = client.post("/api/v1/organisations", json={"rfc": "X"}, headers=auth)
    assert malformed.status_code == 422
    assert malformed.headers["content-type"].startswith("application/json")
    assert {"error", "detail", "fields"} <= set(malformed.json())
    assert "legal_name" in malformed.json()["fields"]
    bad_rfc = client.post(
        "/api/v1/organisations", json={**ORGANISATION, "rfc": "NO-ES-RFC-123"}, headers=auth
    )
    assert bad_rfc.status_code == 422
    assert set(bad_rfc.json()["fields"]) == {"rfc"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/applications/99999999999999999999",
        "/api/v1/applications/1/evidence/99999999999999999999/content",
        "/api/v1/organisations/99999999999999999999",
        "/api/v1/products/99999999999999999999",
    ],
)
def test_an_id_too_large_for_the_database_is_a_validation_error(
    client: TestClient, db: Session, path: str
) -> None:
    auth = bearer(db, make_user(db, role=Role.applicant))
    response = client.get(path, headers=auth)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid"


def test_risk_questionnaire_is_public_and_translated(client: TestClient) -> None:
    spanish = ok(client.get("/api/v1/risk-questionnaire"))
    english = ok(client.get("/api/v1/risk-questionnaire", headers=ENGLISH))

    assert spanish["default_level"] == "minimal"
    assert [q["key"] for q in english["questions"]] == [q.key for q in RISK_QUESTIONS]
    assert [q["text"] for q in english["questions"]] == [q.text for q in RISK_QUESTIONS]
    assert [q["text"] for q in spanish["questions"]] == [
        translator("es_MX").gettext(q.text) for q in RISK_QUESTIONS
    ]
