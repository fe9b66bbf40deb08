"""The whole API against its own OpenAPI document, in process, for every role (item 20)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Ok
from sqlalchemy.orm import Session

from core.accounts import find_user_by_email, issue_api_token
from core.db import get_session
from core.storage import FileStore
from council.demo import seed_demo
from tests.factories import NOW

# One demo person per role; None is the anonymous public.
CALLERS: dict[str, str | None] = {
    "anonymous": None,
    "admin": "admin@ceia.gob.mx",
    "secretariat": "secretaria@ceia.gob.mx",
    "council_member": "presidencia@ceia.gob.mx",
    "expert": "experta.salud@unam.example.mx",
    "applicant": "cumplimiento@datasalud.example.mx",
}
MAX_EXAMPLES = 2  # per operation and mode: bounded, and derandomized so runs repeat
# Valid data goes to every caller; invalid data to callers who get past authentication.
RUNS = {
    GenerationMode.POSITIVE: list(CALLERS),
    GenerationMode.NEGATIVE: ["secretariat", "applicant"],
}
# 422 is also how the API refuses schema-valid input that breaks a domain rule no JSON Schema can
# state (the version in force, a slug already taken, every risk question answered).
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]
            }
        }
    }
)


@pytest.fixture
def api_app(app: FastAPI, db: Session, tmp_path: Path) -> FastAPI:
    """The app on the demo data; each request ends as in production (uncommitted work undone)."""
    seed_demo(db, store=FileStore(tmp_path / "demo"), base_url="http://testserver", now=NOW)
    db.commit()

    def session_override() -> Iterator[Session]:
        db.expire_all()
        try:
            yield db
        finally:
            db.rollback()

    app.dependency_overrides[get_session] = session_override
    return app


def _headers(db: Session, email: str | None) -> dict[str, str]:
    if email is None:
        return {}
    user = find_user_by_email(db, email)
    assert user is not None
    token = issue_api_token(db, user=user, name="schemathesis", now=NOW)[1]
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def _conformance(
    operation: APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    callers: dict[str, dict[str, str]],
) -> Callable[[], None]:
    """A bounded, repeatable property test of one operation; each example goes to each caller."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case[Any]) -> None:
        for role, headers in callers.items():
            try:
                case.call_and_validate(headers=headers)
            except (Exception, BaseExceptionGroup) as error:
                error.add_note(f"caller: {role}")
                raise

    return check


def test_every_operation_conforms_for_every_caller(api_app: FastAPI, db: Session) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api_app, config=CONFIG)
    headers = {role: _headers(db, email) for role, email in CALLERS.items()}
    failures: dict[str, str] = {}
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) > 30  # every operation of the document was read
    for operation, mode in itertools.product(operations, RUNS):
        check = _conformance(operation, mode, {role: headers[role] for role in RUNS[mode]})
        try:
            check()
        except Unsatisfiable:
            pass  # nothing to send that breaks the schema (an operation without parameters)
        except (Exception, BaseExceptionGroup) as error:
            notes = "; ".join(getattr(error, "__notes__", []))
            failures[f"{operation.label} [{mode.value}] {notes}"] = str(error)[:1500]
    assert failures == {}, "\n\n".join(f"{k}: {v}" for k, v in failures.items())


def test_a_wrong_method_names_the_allowed_ones(client: TestClient) -> None:
    for path in ("/api/v1/guidelines", "/guidelines"):
        response = client.delete(path)
        assert response.status_code == 405
        assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_every_operation_documents_unreadable_and_oversize_bodies(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert {"400", "413", "422"} <= set(operation["responses"]), (method, path)
    content = document["paths"][
        "/api/v1/applications/{application_id}/evidence/{evidence_id}/content"
    ]["get"]["responses"]["200"]["content"]
    assert list(content) == ["*/*"]  # served with the type its content was checked to be
