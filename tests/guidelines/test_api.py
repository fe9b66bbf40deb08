"""The guidelines API: listing, creation, whole-version documents with ETags, imports, diffs."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import Role, User, issue_api_token
from core.auth import now_utc
from guidelines import versions_api
from guidelines.documents import SCHEMA_ID
from guidelines.models import Guideline, VersionStatus
from tests.factories import NOW, make_user
from tests.guidelines.builders import make_staff
from tests.guidelines.factories import (
    NEW_WORD,
    OLD_WORD,
    SLUG,
    criterion_codes,
    load_version,
    make_adopted,
    make_revised_draft,
    make_saved_draft,
    open_consultation,
    start_draft,
    version_numbers,
)

STAFF_NAME = "Rosa Elena Campos"
Json = dict[str, Any]


@pytest.fixture(autouse=True)
def pinned_clock(app: FastAPI) -> None:
    """The API sees the same clock as the data built with the service verbs."""
    app.dependency_overrides[now_utc] = lambda: NOW


@pytest.fixture
def staff(db: Session) -> User:
    return make_user(db, role=Role.secretariat, full_name=STAFF_NAME)


def bearer(db: Session, user: User) -> dict[str, str]:
    token = issue_api_token(db, user=user, name="pruebas", now=NOW)[1]
    db.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def as_staff(db: Session, staff: User) -> dict[str, str]:
    return bearer(db, staff)


@pytest.fixture
def builder(db: Session) -> User:
    return make_staff(db)


def version_path(number: str = "1.0", slug: str = SLUG) -> str:
    return f"/api/v1/guidelines/{slug}/versions/{number}"


def codes_of(entries: list[Json]) -> list[str]:
    return [entry["criterion"]["code"] for entry in entries]


# Listing and creating ------------------------------------------------------------------------


def test_list_paginates_and_hides_drafts_from_anonymous_callers(
    client: TestClient, db: Session, builder: User, as_staff: dict[str, str]
) -> None:
    for slug in ("etica-ia", "finanzas-ia", "salud-ia"):
        make_adopted(db, builder, slug=slug)
    make_saved_draft(db, builder, slug="borrador-ia")
    start_draft(db, builder, "1.1")

    first = client.get("/api/v1/guidelines", params={"page_size": 2})
    assert first.status_code == 200
    body = first.json()
    assert (body["total"], body["page"], body["page_size"]) == (3, 1, 2)
    assert [g["slug"] for g in body["items"]] == ["etica-ia", "finanzas-ia"]
    etica = body["items"][0]
    assert etica["in_force"] == "1.0"
    assert [v["number"] for v in etica["versions"]] == ["1.0"]

    second = client.get("/api/v1/guidelines", params={"page_size": 2, "page": 2}).json()
    assert (second["total"], second["page"]) == (3, 2)
    assert [g["slug"] for g in second["items"]] == ["salud-ia"]
    assert (
        client.get("/api/v1/guidelines", params={"page": 3, "page_size": 2}).json()["items"] == []
    )
    assert client.get("/api/v1/guidelines/borrador-ia").status_code == 404

    seen_by_staff = client.get("/api/v1/guidelines", headers=as_staff).json()
    assert seen_by_staff["total"] == 4
    assert seen_by_staff["items"][0]["slug"] == "borrador-ia"
    etica = client.get(f"/api/v1/guidelines/{SLUG}", headers=as_staff).json()
    assert [(v["number"], v["status"]) for v in etica["versions"]] == [
        ("1.1", "draft"),
        ("1.0", "adopted"),
    ]


def test_page_size_is_bounded(client: TestClient) -> None:
    response = client.get("/api/v1/guidelines", params={"page_size": 500})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid"


def test_staff_create_a_guideline_with_an_empty_draft(
    client: TestClient, db: Session, as_staff: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/guidelines",
        json={"slug": "nueva-guia", "title_es": "Nueva guía"},
        headers=as_staff,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "nueva-guia"
    assert body["title_en"] == "Nueva guía"
    assert body["in_force"] is None
    assert [(v["number"], v["status"]) for v in body["versions"]] == [("1.0", "draft")]
    assert version_numbers(db, "nueva-guia") == ["1.0"]

    again = client.post(
        "/api/v1/guidelines", json={"slug": "nueva-guia", "title_es": "Otra"}, headers=as_staff
    )
    assert again.status_code == 422
    assert set(again.json()["fields"]) == {"slug"}


def test_only_staff_may_create_guidelines(client: TestClient, db: Session) -> None:
    body = {"slug": "nueva-guia", "title_es": "Nueva guía"}
    applicant = bearer(db, make_user(db, role=Role.applicant))
    refused = client.post("/api/v1/guidelines", json=body, headers=applicant)
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"
    anonymous = client.post("/api/v1/guidelines", json=body)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "unauthenticated"
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert db.scalar(select(func.count(Guideline.id))) == 0


# Whole-version documents ---------------------------------------------------------------------


def test_a_version_document_carries_its_schema_and_an_etag(
    client: TestClient, db: Session, builder: User, as_staff: dict[str, str]
) -> None:
    version = make_saved_draft(db, builder)
    response = client.get(version_path(), headers=as_staff)
    assert response.status_code == 200
    assert response.headers["etag"] == f'"{version.revision_number}"'
    document = response.json()
    assert document["$schema"] == SCHEMA_ID
    assert document["number"] == "1.0"
    assert document["status"] == "draft"
    assert [c["code"] for p in document["principles"] for c in p["criteria"]] == [
        "TR-1",
        "TR-2",
        "EQ-1",
    ]
    assert client.get(version_path()).status_code == 404  # a draft, for the public


def test_put_with_the_current_etag_saves_a_revision(
    client: TestClient, db: Session, builder: User, as_staff: dict[str, str]
) -> None:
    make_saved_draft(db, builder)
    current = client.get(version_path(), headers=as_staff)
    etag = current.headers["etag"]
    revision = int(etag.strip('"'))
    document = current.json()
    document["principles"][0]["criteria"][0]["requirement"]["es"] = "Texto nuevo de TR-1."

    response = client.put(version_path(), json=document, headers={**as_staff, "If-Match": etag})
    assert response.status_code == 200
    assert response.json()["number"] == revision + 1
    assert response.json()["author_label"] == STAFF_NAME
    stored = load_version(db, "1.0")
    assert stored.revision_number == revision + 1
    assert stored.principles[0].criteria[0].requirement_es == "Texto nuevo de TR-1."
    assert client.get(version_path(), headers=as_staff).headers["etag"] == f'"{revision + 1}"'

    # The same document again, as another client that still holds the weak old tag.
    weak = {**as_staff, "If-Match": f'W/"{revision + 1}"'}
    assert client.put(version_path(), json=document, headers=weak).status_code == 200
    assert load_version(db, "1.0").revision_number == revision + 2


def test_put_with_a_stale_etag_is_a_conflict_and_changes_nothing(
    client: TestClient, db: Session, builder: User, as_staff: dict[str, str]
) -> None:
    make_saved_draft(db, builder)
    current = client.get(version_path(), headers=as_staff)
    stale = f'"{int(current.headers["etag"].strip(chr(34))) - 1}"'
    document = current.json()
    document["principles"][0]["criteria"][0]["requirement"]["es"] = "Cambio a ciegas."

    response = client.put(version_path(), json=document, headers={**as_staff, "If-Match": stale})
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "conflict"
    assert body["detail"]
    stored = load_version(db, "1.0")
    assert f'"{stored.revision_number}"' == current.headers["etag"]
    assert stored.principles[0].criteria[0].requirement_es == "El proveedor debe cumplir TR-1."


@pytest.mark.parametrize("tag", ['"99999999999999999999"', '"1.0"', "*"])
def test_put_with_a_malformed_etag_is_a_conflict(
    client: TestClient, db: Session, builder: User, as_staff: dict[str, str], tag: str
) -> None:
    make_saved_draft(db, builder)
    current = client.get(version_path(), headers=as_staff)
    document = current.json()
    document["principles"][0]["criteria"][0]["requirement"]["es"] = "Cambio a ciegas."
    response = client.put(version_path(), json=document, headers={**as_staff, "If-Match": tag})
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert f'"{load_version(db, "1.0").revision_number}"' == current.headers["etag"]


# The test client re-encodes header bytes, so a Latin-1 "²" cannot travel through it.
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('"7"', 7),
        ('W/"7"', 7),
        ('"²"', -1),
        ('"٣"', -1),
        ('"99999999999999999999"', -1),
        (None, None),
    ],
)
def test_if_match_reads_only_plain_revision_numbers(
    header: str | None, expected: int | None
) -> None:
    assert versions_api._if_match(header) == expected


def test_put_on_an_adopted_version_is_a_conflict(
    client: TestClient, db: Session, builder: User, as_staff: dict[str, str]
) -> None:
    make_adopted(db, builder)
    current = client.get(version_path())
    document = current.json()
    document["principles"][0]["criteria"][0]["requirement"]["es"] = "Cambio indebido."
    headers = {**as_staff, "If-Match": current.headers["etag"]}
    response = client.put(version_path(), json=document, headers=headers)
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    stored = load_version(db, "1.0")
    assert stored.status == VersionStatus.adopted
    assert stored.principles[0].criteria[0].requirement_es == "El proveedor debe cumplir TR-1."
    # An adopted version's ETag is its stored document's: the same document, the same tag.
    assert client.get(version_path()).headers["etag"] == current.headers["etag"]


def test_put_needs_staff(client: TestClient, db: Session, builder: User) -> None:
    make_saved_draft(db, builder)
    applicant = bearer(db, make_user(db, role=Role.applicant))
    document = client.get(version_path(), headers=bearer(db, builder)).json()
    assert client.put(version_path(), json=document, headers=applicant).status_code == 403
    assert client.put(version_path(), json=document).status_code == 401


# Imports and new drafts ----------------------------------------------------------------------


def test_importing_a_document_makes_a_new_draft(
    client: TestClient, db: Session, builder: User, as_staff: dict[str, str]
) -> None:
    codes = criterion_codes(make_adopted(db, builder))
    document = client.get(version_path()).json()
    document["number"] = "2.0"
    response = client.post(f"/api/v1/guidelines/{SLUG}/versions", json=document, headers=as_staff)
    assert response.status_code == 201
    body = response.json()
    assert (body["number"], body["status"], body["effective_on"]) == ("2.0", "draft", None)
    imported = load_version(db, "2.0")
    assert imported.status == VersionStatus.draft
    assert criterion_codes(imported) == codes
    assert version_numbers(db) == ["1.0", "2.0"]


def test_importing_a_bad_document_names_the_fields(
    client: TestClient, db: Session, builder: User, as_staff: dict[str, str]
) -> None:
    make_adopted(db, builder)
    document = client.get(version_path()).json()
    document["number"] = "2.0"
    document["principles"][1]["criteria"][0]["code"] = "eq_1"
    path = f"/api/v1/guidelines/{SLUG}/versions"
    response = client.post(path, json=document, headers=as_staff)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid"
    assert list(body["fields"]) == ["principles.1.criteria.0.code"]

    document["principles"][1]["criteria"][0]["code"] = "EQ-1"
    document["guideline"]["slug"] = "otra-guia"
    response = client.post(path, json=document, headers=as_staff)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["guideline.slug"]

    document["guideline"]["slug"] = SLUG
    document["number"] = "1.0"
    response = client.post(path, json=document, headers=as_staff)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["number"]
    assert version_numbers(db) == ["1.0"]


def test_new_draft_and_consultation_through_the_api(
    client: TestClient, db: Session, builder: User, as_staff: dict[str, str]
) -> None:
    make_adopted(db, builder)
    drafts = f"/api/v1/guidelines/{SLUG}/drafts"
    assert client.post(drafts, json={"number": "0.9"}, headers=as_staff).status_code == 422
    response = client.post(drafts, json={"number": "1.1"}, headers=as_staff)
    assert response.status_code == 201
    assert (response.json()["number"], response.json()["status"]) == ("1.1", "draft")

    consultation = version_path("1.1") + "/consultation"
    yesterday = (NOW - dt.timedelta(days=1)).date().isoformat()
    refused = client.post(consultation, json={"closes_on": yesterday}, headers=as_staff)
    assert refused.status_code == 422
    assert list(refused.json()["fields"]) == ["closes_on"]
    in_a_month = (NOW + dt.timedelta(days=30)).date().isoformat()
    opened = client.post(consultation, json={"closes_on": in_a_month}, headers=as_staff)
    assert opened.status_code == 200
    assert opened.json()["status"] == "consultation"
    assert client.get(version_path("1.1")).status_code == 200  # public now

    revisions = client.get(version_path("1.1") + "/revisions", headers=as_staff)
    assert [r["number"] for r in revisions.json()] == [1]
    assert revisions.json()[0]["author_label"] == STAFF_NAME


# The published schema ------------------------------------------------------------------------


def _resolve(root: Json, node: Json) -> Json:
    while "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        node = {**root["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


KINDS: dict[str, type] = {"object": dict, "array": list, "string": str, "null": type(None)}


def _value_errors(node: Json, value: Any, path: str) -> list[str]:
    errors: list[str] = []
    if "const" in node and value != node["const"]:
        errors.append(f"{path}: not {node['const']}")
    if "enum" in node and value not in node["enum"]:
        errors.append(f"{path}: not one of {node['enum']}")
    if "pattern" in node and not re.search(node["pattern"], value):
        errors.append(f"{path}: does not match {node['pattern']}")
    if isinstance(value, str) and len(value) < node.get("minLength", 0):
        errors.append(f"{path}: too short")
    if isinstance(value, list) and len(value) < node.get("minItems", 0):
        errors.append(f"{path}: too few items")
    return errors


def _member_errors(root: Json, node: Json, value: Any, path: str) -> list[str]:
    errors: list[str] = []
    if isinstance(value, dict):
        properties: Json = node.get("properties", {})
        errors += [f"{path}.{k}: missing" for k in node.get("required", []) if k not in value]
        if node.get("additionalProperties") is False:
            errors += [f"{path}.{k}: not allowed" for k in value if k not in properties]
        for key, item in value.items():
            if key in properties:
                errors += schema_errors(root, properties[key], item, f"{path}.{key}")
    if isinstance(value, list):
        for index, item in enumerate(value):
            errors += schema_errors(root, node.get("items", {}), item, f"{path}.{index}")
    return errors


def schema_errors(root: Json, node: Json, value: Any, path: str = "") -> list[str]:
    """Where `value` breaks the schema: the subset of JSON Schema that pydantic emits here."""
    node = _resolve(root, node)
    if "anyOf" in node:
        options = [schema_errors(root, option, value, path) for option in node["anyOf"]]
        return [] if any(not errors for errors in options) else [f"{path}: no option fits"]
    if "type" in node and not isinstance(value, KINDS[node["type"]]):
        return [f"{path}: not {node['type']}"]
    return _value_errors(node, value, path) + _member_errors(root, node, value, path)


def test_the_published_schema_describes_the_exported_documents(
    client: TestClient, db: Session, builder: User
) -> None:
    make_adopted(db, builder)
    response = client.get("/api/v1/schemas/guideline-version.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["$id"] == "urn:ceia:guideline-version:1"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert {"guideline", "number"} <= set(schema["required"])
    document = client.get(version_path()).json()
    assert set(document) <= set(schema["properties"])
    assert set(document["principles"][0]["criteria"][0]) <= set(
        schema["$defs"]["CriterionDoc"]["properties"]
    )
    assert schema_errors(schema, schema, document) == []

    broken = client.get(version_path()).json()
    broken["principles"][0]["criteria"][0]["code"] = "tr-1"
    broken["principles"][0]["criteria"][0]["risk_levels"] = ["extreme"]
    broken["surprise"] = True
    assert sorted(schema_errors(schema, schema, broken)) == [
        ".principles.0.criteria.0.code: does not match ^[A-Z]{2,6}-[0-9]{1,3}[a-z]?$",
        ".principles.0.criteria.0.risk_levels.0: not one of ['minimal', 'limited', 'high']",
        ".surprise: not allowed",
    ]


# Diffs ---------------------------------------------------------------------------------------


def test_diff_between_versions_lists_added_removed_and_changed(
    client: TestClient, db: Session, builder: User, as_staff: dict[str, str]
) -> None:
    make_revised_draft(db, builder)
    path = f"/api/v1/guidelines/{SLUG}/diff"
    response = client.get(path, params={"from": "1.0", "to": "1.1"}, headers=as_staff)
    assert response.status_code == 200
    diff = response.json()
    assert (diff["from_number"], diff["to_number"]) == ("1.0", "1.1")
    assert codes_of(diff["added"]) == ["TR-3"]
    assert codes_of(diff["removed"]) == ["TR-2"]
    assert [change["code"] for change in diff["changed"]] == ["EQ-1"]
    assert diff["unchanged"] == ["TR-1"]
    (requirement,) = [f for f in diff["changed"][0]["fields"] if f["field"] == "requirement.es"]
    segments = {(s["op"], s["text"].strip()) for s in requirement["segments"]}
    assert {("delete", OLD_WORD), ("insert", NEW_WORD)} <= segments
    # 1.1 is a draft: the public may not compare with it.
    assert client.get(path, params={"from": "1.0", "to": "1.1"}).status_code == 404


def test_revision_references_are_for_the_secretariat(
    client: TestClient, db: Session, builder: User, as_staff: dict[str, str]
) -> None:
    open_consultation(db, builder, make_revised_draft(db, builder))
    path = f"/api/v1/guidelines/{SLUG}/diff"
    # 1.1r1 is the copy of 1.0; r2 removed TR-2, r3 added TR-3, r4 reworded EQ-1.
    first = client.get(path, params={"from": "1.1r1", "to": "1.1r2"}, headers=as_staff)
    assert first.status_code == 200
    assert (first.json()["from_number"], first.json()["to_number"]) == ("1.1", "1.1")
    assert codes_of(first.json()["removed"]) == ["TR-2"]
    assert first.json()["added"] == first.json()["changed"] == []
    last = client.get(path, params={"from": "1.1r3", "to": "1.1r4"}, headers=as_staff).json()
    assert [change["code"] for change in last["changed"]] == ["EQ-1"]
    assert last["added"] == last["removed"] == []
    assert (
        client.get(path, params={"from": "1.1r1", "to": "1.1r9"}, headers=as_staff).status_code
        == 404
    )

    assert client.get(path, params={"from": "1.0", "to": "1.1"}).status_code == 200
    assert client.get(path, params={"from": "1.1r1", "to": "1.1r2"}).status_code == 404
    assert client.get(path, params={"from": "1.0", "to": "1.1r4"}).status_code == 404
    compare = f"/guidelines/{SLUG}/compare/versions"
    assert client.get(compare, params={"from": "1.1r1", "to": "1.1r2"}).status_code == 404
