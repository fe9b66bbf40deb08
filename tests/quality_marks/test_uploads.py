"""Evidence uploads through the checklist form, and downloads of what was stored."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import Role, User, issue_api_token
from core.settings import Settings
from core.storage import FileStore
from guidelines.documents import load_version_tree
from quality_marks import applications
from quality_marks.models import Answer, Application, Evidence
from tests.factories import NOW, make_user, sign_in_as
from tests.quality_marks.factories import (
    fill,
    form_fields,
    make_adopted_version,
    make_application,
    make_organization,
    make_product,
)

PROJECT = Path(__file__).resolve().parents[2]
PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n"
)
Upload = tuple[str, tuple[str, bytes, str]]


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("carga.sh", "rm -rf /\n")
    return buffer.getvalue()


class Env:
    """An owner's browser on the TR checklist page of a draft application."""

    def __init__(self, app: FastAPI, db: Session, client: TestClient, owner: User) -> None:
        self.app = app
        self.db = db
        self.client = client
        self.owner = owner
        version = make_adopted_version(db)
        organization = make_organization(db, owner=owner)
        product = make_product(db, owner, organization, risk="high")
        self.application: Application = make_application(
            db, actor=owner, product=product, version=version
        )
        self.url = f"/applications/{self.application.id}"
        self.page = f"{self.url}/checklist/TR"

    @property
    def settings(self) -> Settings:
        """The running application's settings."""
        settings: Settings = self.app.state.settings
        return settings

    @property
    def store(self) -> FileStore:
        """The running application's file store."""
        store: FileStore = self.app.state.file_store
        return store

    def send(
        self, uploads: list[Upload], changes: dict[str, str | bool | None] | None = None
    ) -> tuple[int, BeautifulSoup]:
        """Send the checklist form with files chosen, as a browser would."""
        fields = fill(form_fields(self.client.get(self.page).text, self.page), changes or {})
        response = self.client.post(self.page, data=fields, files=uploads)
        return response.status_code, BeautifulSoup(response.text, "html.parser")

    def evidence(self) -> list[Evidence]:
        """The evidence rows, oldest first."""
        self.db.expire_all()
        return list(self.db.scalars(select(Evidence).order_by(Evidence.id)))

    def stored_files(self) -> list[Path]:
        """Every file in the store."""
        root = self.settings.storage_dir
        return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def env(app: FastAPI, db: Session, client: TestClient) -> Env:
    """The owner, signed in (in English, to read the messages), and their draft application."""
    owner = make_user(db, role=Role.applicant)
    client.cookies.set("lang", "en")
    sign_in_as(client, owner)
    return Env(app, db, client, owner)


@pytest.fixture
def small_limits(app: FastAPI) -> None:
    """Files of at most 2,000 bytes, 3,000 bytes per application."""
    app.state.settings = app.state.settings.model_copy(
        update={"max_upload_bytes": 2000, "max_application_upload_bytes": 3000}
    )


def pdf(name: str, content: bytes = PDF, field: str = "files-TR-1") -> Upload:
    """A file part of the checklist form."""
    return (field, (name, content, "application/pdf"))


def test_a_valid_pdf_is_stored_outside_the_web_root(env: Env) -> None:
    status, _page = env.send([pdf("Informe técnico.pdf")], {"files_public-TR-1": True})
    assert status == 303
    (evidence,) = env.evidence()
    assert evidence.sha256 == hashlib.sha256(PDF).hexdigest()
    assert (evidence.content_type, evidence.size) == ("application/pdf", len(PDF))
    assert (evidence.original_name, evidence.public, evidence.revision) == (
        "Informe técnico.pdf",
        True,
        1,
    )
    assert evidence.stored_key is not None
    path = env.store.path_of(evidence.stored_key).resolve()
    assert path.read_bytes() == PDF
    assert path.is_relative_to(env.settings.storage_dir.resolve())
    for web_dir in (PROJECT / "static", PROJECT / "templates"):
        assert not path.is_relative_to(web_dir)
    page = BeautifulSoup(env.client.get(env.page).text, "html.parser")
    row = page.select_one(f"#evidence-{evidence.id}")
    assert row is not None
    assert evidence.sha256[:12] in row.text
    assert row.a["href"] == f"{env.url}/evidence/{evidence.id}"  # type: ignore[index]


@pytest.mark.usefixtures("small_limits")
def test_a_file_too_large_is_refused_and_nothing_typed_is_lost(env: Env) -> None:
    status, page = env.send(
        [pdf("grande.pdf", PDF + b"0" * 2500)],
        {
            "answer-TR-1": "partly_meets",
            "justification-TR-1": "Publicamos la ficha del modelo en 2025.",
            "justification_public-TR-1": True,
            "link_url-TR-1": "https://datos.example.mx/ficha",
            "link_label-TR-1": "Ficha del modelo",
        },
    )
    assert status == 422
    error = page.select_one("#f-files-TR-1-error")
    assert error is not None
    assert "grande.pdf" in error.text
    assert "larger than the limit of 0.00190735 MB" in error.text
    assert page.find("textarea", id="f-justification-TR-1").text == (  # type: ignore[union-attr]
        "Publicamos la ficha del modelo en 2025."
    )
    assert page.find("input", id="f-answer-TR-1-partly_meets").has_attr("checked")  # type: ignore[union-attr]
    assert page.find("input", id="f-justification_public-TR-1").has_attr("checked")  # type: ignore[union-attr]
    assert page.find("input", id="f-link_url-TR-1")["value"] == "https://datos.example.mx/ficha"  # type: ignore[index]
    assert page.find("input", id="f-link_label-TR-1")["value"] == "Ficha del modelo"  # type: ignore[index]
    assert "Your answers have been saved" in page.select_one('[role="alert"]').text  # type: ignore[union-attr]
    # The answers are saved; the evidence of that submission (link included) is not.
    env.db.expire_all()
    saved = env.db.scalars(select(Answer).where(Answer.criterion_code == "TR-1")).one()
    assert saved.justification == "Publicamos la ficha del modelo en 2025."
    assert env.evidence() == []
    assert env.stored_files() == []


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64, id="elf"),
        pytest.param(_zip(), id="zip"),
        pytest.param(
            b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>",
            id="html",
        ),
        pytest.param(b"  <svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", id="svg"),
    ],
)
def test_a_file_disguised_by_its_name_is_refused(env: Env, payload: bytes) -> None:
    status, page = env.send([pdf("informe.pdf", payload)])
    assert status == 422
    assert "not accepted" in page.select_one("#f-files-TR-1-error").text  # type: ignore[union-attr]
    assert env.evidence() == []
    assert env.stored_files() == []


def test_an_empty_file_is_refused(env: Env) -> None:
    status, page = env.send([pdf("vacio.pdf", b"")])
    assert status == 422
    assert "vacio.pdf: The file is empty." in page.select_one("#f-files-TR-1-error").text  # type: ignore[union-attr]
    assert env.evidence() == []


def test_no_file_chosen_adds_nothing(env: Env) -> None:
    status, _page = env.send([("files-TR-1", ("", b"", "application/octet-stream"))])
    assert status == 303
    assert env.evidence() == []


@pytest.mark.usefixtures("small_limits")
def test_the_total_per_application_is_limited(env: Env) -> None:
    first = PDF + b"1" * (1800 - len(PDF))
    assert env.send([pdf("uno.pdf", first)])[0] == 303
    status, page = env.send([pdf("dos.pdf", PDF + b"2" * (1500 - len(PDF)), "files-TR-2")])
    assert status == 422
    error = page.select_one("#f-files-TR-2-error")
    assert error is not None
    assert "may not exceed 0.00286102 MB in total" in error.text
    assert [e.original_name for e in env.evidence()] == ["uno.pdf"]
    assert len(env.stored_files()) == 1


def test_a_refused_file_takes_the_accepted_ones_of_the_same_form_with_it(env: Env) -> None:
    status, page = env.send([pdf("bueno.pdf"), pdf("malo.pdf", b"\x7fELF\x00")])
    assert status == 422
    assert "malo.pdf" in page.select_one("#f-files-TR-1-error").text  # type: ignore[union-attr]
    assert "bueno.pdf" not in page.select_one("#f-files-TR-1-error").text  # type: ignore[union-attr]
    assert env.evidence() == []
    assert env.stored_files() == []


def test_duplicate_names_are_both_stored_under_distinct_keys(env: Env) -> None:
    status, _ = env.send([pdf("informe.pdf"), pdf("informe.pdf", PDF + b"v2")])
    assert status == 303
    first, second = env.evidence()
    assert first.original_name == second.original_name == "informe.pdf"
    assert first.stored_key != second.stored_key
    assert len(env.stored_files()) == 2


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\x.pdf", "x.pdf"),
        ("informe\nfalso.pdf", "informe%0Afalso.pdf"),  # the browser's own escaping
        ("/.hidden.pdf", "hidden.pdf"),
    ],
)
def test_path_characters_in_names_are_harmless(
    env: Env, tmp_path: Path, name: str, shown: str
) -> None:
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    status, _ = env.send([pdf(name)])
    assert status == 303
    (evidence,) = env.evidence()
    assert evidence.original_name == shown
    assert evidence.stored_key is not None
    assert shown not in evidence.stored_key
    assert "." not in evidence.stored_key
    storage = env.settings.storage_dir.resolve()
    created = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    assert created == {env.store.path_of(evidence.stored_key)}
    assert all(p.resolve().is_relative_to(storage) for p in created)


@pytest.mark.parametrize("name", ["informe\r\nX-Evil: 1.pdf", "a\x00b\x1b[31m.pdf", "\n\n"])
def test_control_characters_never_reach_the_stored_name(
    app: FastAPI, db: Session, env: Env, name: str
) -> None:
    evidence = applications.add_evidence_file(
        db,
        actor=env.owner,
        application=env.application,
        criterion_code="TR-1",
        stream=io.BytesIO(PDF),
        filename=name,
        public=False,
        store=env.store,
        max_file_bytes=10_000,
        max_total_bytes=100_000,
        now=NOW,
    )
    assert evidence.original_name
    assert not any(ord(ch) < 32 for ch in evidence.original_name)
    db.commit()
    response = env.client.get(f"{env.url}/evidence/{evidence.id}")
    assert response.status_code == 200
    assert "\n" not in response.headers["content-disposition"]


# Downloads ---------------------------------------------------------------------------------


@pytest.fixture
def stored(env: Env) -> tuple[Env, Evidence]:
    """A PDF with a Spanish name stored as evidence of TR-1."""
    assert env.send([pdf("Informe técnico.pdf")])[0] == 303
    (evidence,) = env.evidence()
    return env, evidence


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    """A second browser with a cookie jar of its own."""
    with ExitStack() as stack:
        yield stack.enter_context(
            TestClient(app, base_url="http://testserver", follow_redirects=False)
        )


def test_the_organisation_downloads_the_exact_bytes_as_an_attachment(
    stored: tuple[Env, Evidence],
) -> None:
    env, evidence = stored
    response = env.client.get(f"{env.url}/evidence/{evidence.id}")
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"Informe tecnico.pdf\"; filename*=UTF-8''Informe%20t%C3%A9cnico.pdf"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize(("role", "status"), [("applicant", 404), ("expert", 404)])
def test_outsiders_cannot_download(
    db: Session,
    browser: TestClient,
    stored: tuple[Env, Evidence],
    role: str,
    status: int,
) -> None:
    env, evidence = stored
    outsider = make_user(db, role=Role(role))
    if role == "applicant":
        make_organization(db, owner=outsider)
    sign_in_as(browser, outsider)
    assert browser.get(f"{env.url}/evidence/{evidence.id}").status_code == status


def test_the_public_is_asked_to_sign_in(browser: TestClient, stored: tuple[Env, Evidence]) -> None:
    env, evidence = stored
    response = browser.get(f"{env.url}/evidence/{evidence.id}")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=")
    assert response.content != PDF


def test_the_secretariat_downloads(
    db: Session, browser: TestClient, stored: tuple[Env, Evidence]
) -> None:
    env, evidence = stored
    sign_in_as(browser, make_user(db, role=Role.secretariat))
    response = browser.get(f"{env.url}/evidence/{evidence.id}")
    assert (response.status_code, response.content) == (200, PDF)


def test_evidence_is_only_found_under_its_own_application(
    db: Session, stored: tuple[Env, Evidence]
) -> None:
    env, evidence = stored
    product = make_product(db, env.owner, make_organization(db, owner=env.owner), name="Otro")
    version = load_version_tree(db, env.application.guideline_version_id)
    other = make_application(db, actor=env.owner, product=product, version=version)
    assert env.client.get(f"/applications/{other.id}/evidence/{evidence.id}").status_code == 404
    assert env.client.get(f"{env.url}/evidence/999999").status_code == 404
    assert db.scalar(select(func.count()).select_from(Evidence)) == 1


def test_a_file_missing_from_the_store_is_not_found_on_pages_and_in_the_api(
    db: Session, stored: tuple[Env, Evidence]
) -> None:
    env, evidence = stored
    assert evidence.stored_key is not None
    env.store.path_of(evidence.stored_key).unlink()
    token = issue_api_token(db, user=env.owner, name="pruebas", now=NOW)[1]
    db.commit()
    assert env.client.get(f"{env.url}/evidence/{evidence.id}").status_code == 404
    api = f"/api/v1/applications/{env.application.id}/evidence/{evidence.id}/content"
    response = env.client.get(api, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_the_api_download_is_the_same_attachment_as_the_page(
    db: Session, stored: tuple[Env, Evidence]
) -> None:
    env, evidence = stored
    token = issue_api_token(db, user=env.owner, name="pruebas", now=NOW)[1]
    db.commit()
    page = env.client.get(f"{env.url}/evidence/{evidence.id}")
    api = env.client.get(
        f"/api/v1/applications/{env.application.id}/evidence/{evidence.id}/content",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.content == page.content == PDF
    for header in (
        "content-type",
        "content-disposition",
        "x-content-type-options",
        "cache-control",
    ):
        assert api.headers[header] == page.headers[header], header
