"""Markdown is rendered and sanitised when written, stored beside its source, never per request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core import markdown
from core.accounts import Role
from core.db import Base, make_engine, make_sessionmaker
from council.cli import app as cli
from guidelines import service
from guidelines.documents import load_version_tree
from guidelines.models import CommenterType, ConsultationComment, Criterion, GuidelineVersion
from guidelines.schemas import CriterionInput
from tests.factories import NOW, make_user
from tests.guidelines.builders import make_draft

REQUIREMENT = "El proveedor **debe** avisar. <script>alert(1)</script>"


def stored(db: Session, criterion_id: int) -> tuple[dict[str, str] | None, int | None]:
    """The HTML and renderer revision the database holds for a criterion."""
    row = db.execute(
        select(Criterion.rendered, Criterion.rendered_revision).where(Criterion.id == criterion_id)
    ).one()
    return row[0], row[1]


@pytest.fixture
def draft(db: Session) -> GuidelineVersion:
    """A draft with one criterion whose requirement holds Markdown and a script."""
    staff = make_user(db, role=Role.secretariat)
    version = make_draft(db, staff, criteria={"TR": ["TR-1"]})
    criterion = version.principles[0].criteria[0]
    service.update_criterion(
        db,
        actor=staff,
        version=version,
        criterion_id=criterion.id,
        data=CriterionInput(
            code="TR-1",
            principle_code="TR",
            title_es="Aviso",
            requirement_es=REQUIREMENT,
            requirement_en="The provider *must* tell.",
            risk_levels=["limited"],
        ),
        expected_revision=None,
        now=NOW,
    )
    db.commit()
    return load_version_tree(db, version.id)


def test_written_text_is_rendered_and_sanitised_on_flush(
    db: Session, draft: GuidelineVersion
) -> None:
    criterion = draft.principles[0].criteria[0]
    html, revision = stored(db, criterion.id)
    assert revision == markdown.RENDERER_REVISION
    assert html is not None
    assert html["requirement_es"] == str(markdown.render_markdown(REQUIREMENT))
    assert "<strong>debe</strong>" in html["requirement_es"]
    assert "<script" not in html["requirement_es"]
    assert html["requirement_en"] == "<p>The provider <em>must</em> tell.</p>\n"
    assert set(html) == set(Criterion.markdown_fields)
    assert criterion.pick_html(lambda es, en: en, "requirement") == html["requirement_en"]


def test_a_changed_source_is_rendered_again_and_the_rest_kept(
    db: Session, draft: GuidelineVersion
) -> None:
    criterion = draft.principles[0].criteria[0]
    before, _ = stored(db, criterion.id)
    criterion.guidance_es = "Véase la [guía](https://ejemplo.mx)."
    db.commit()
    after, revision = stored(db, criterion.id)
    assert before is not None
    assert after is not None
    assert 'href="https://ejemplo.mx"' in after["guidance_es"]
    assert after["requirement_es"] == before["requirement_es"]
    assert revision == markdown.RENDERER_REVISION


def test_bulk_inserted_rows_are_rendered_too(db: Session, draft: GuidelineVersion) -> None:
    db.execute(
        insert(ConsultationComment),
        [
            {
                "version_id": draft.id,
                "target_code": "",
                "email": f"p{n}@ejemplo.mx",
                "commenter_type": CommenterType.individual,
                "body": f"Comentario **{n}**.",
                "locale": "es_MX",
                "created_at": NOW,
                "confirm_token_hash": f"{n:064d}",
                "changed_codes": [],
            }
            for n in range(3)
        ],
    )
    rows = db.execute(
        select(ConsultationComment.rendered, ConsultationComment.rendered_revision).order_by(
            ConsultationComment.id
        )
    ).all()
    assert [((html or {}).get("body"), revision) for html, revision in rows] == [
        (f"<p>Comentario <strong>{n}</strong>.</p>\n", markdown.RENDERER_REVISION) for n in range(3)
    ]


def test_a_new_renderer_revision_is_applied_by_the_command(
    db: Session, draft: GuidelineVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    criterion = draft.principles[0].criteria[0]
    # The sanitiser's rules change: bold is no longer allowed, and the revision is bumped.
    monkeypatch.setattr(markdown, "ALLOWED_TAGS", markdown.ALLOWED_TAGS - {"strong"})
    monkeypatch.setattr(markdown, "RENDERER_REVISION", markdown.RENDERER_REVISION + 1)
    # Until the command runs, stale HTML is never served: it is rendered with the new rules.
    assert "<strong>" not in criterion.html("requirement_es")
    counts = markdown.render_stale(db, Base, batch=2)
    db.commit()
    assert counts["Criterion"] >= 1
    assert counts["GuidelineVersion"] >= 1
    html, revision = stored(db, criterion.id)
    assert revision == markdown.RENDERER_REVISION
    assert html is not None
    assert "<strong>" not in html["requirement_es"]
    assert "debe" in html["requirement_es"]
    assert markdown.render_stale(db, Base) == dict.fromkeys(counts, 0)  # nothing left


def test_pages_read_the_stored_html_and_never_render(
    client: TestClient,
    db: Session,
    draft: GuidelineVersion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    staff = make_user(db, role=Role.secretariat)
    version = load_version_tree(db, draft.id)
    service.open_consultation(
        db,
        actor=staff,
        version=version,
        closes_on=NOW.date() + dt.timedelta(days=30),
        min_days=14,
        now=NOW,
    )
    db.execute(
        insert(ConsultationComment),
        {
            "version_id": draft.id,
            "target_code": "TR-1",
            "email": "ana@ejemplo.mx",
            "commenter_type": CommenterType.academia,
            "body": "Un comentario *enfático*.",
            "locale": "es_MX",
            "created_at": NOW,
            "confirm_token_hash": "c" * 64,
            "confirmed_at": NOW,
            "changed_codes": [],
        },
    )
    db.commit()

    def refuse(*_args: object) -> None:
        raise AssertionError("Markdown rendered during a request")

    monkeypatch.setattr(markdown, "_parser", refuse)
    number = draft.number
    guideline = "/guidelines/etica-ia"
    consultation_page = client.get(f"{guideline}/{number}/consultation")
    assert consultation_page.status_code == 200
    assert "Un comentario <em>enfático</em>." in consultation_page.text
    version_page = client.get(f"{guideline}/{number}")
    assert version_page.status_code == 200
    assert "El proveedor <strong>debe</strong> avisar." in version_page.text


@pytest.fixture
def cli_database(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Engine]:
    """The command line pointed at a fresh database; yields an engine on it."""
    monkeypatch.chdir(tmp_path)  # no stray .env file
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    engine = make_engine(fresh_database_url)
    yield engine
    engine.dispose()


def test_upgrade_and_the_command_render_rows_written_before(cli_database: Engine) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    with make_sessionmaker(cli_database)() as session:
        staff = make_user(session, role=Role.secretariat)
        version = make_draft(session, staff, criteria={"TR": ["TR-1"]})
        # As a row written before its HTML was stored: no HTML, no revision.
        session.execute(update(Criterion).values(rendered=None, rendered_revision=None))
        session.commit()
        criterion_id = version.principles[0].criteria[0].id
    result = runner.invoke(cli, ["markdown", "render"])
    assert result.exit_code == 0, result.output
    assert "Criterion 1" in result.output
    with make_sessionmaker(cli_database)() as session:
        html, revision = stored(session, criterion_id)
    assert revision == markdown.RENDERER_REVISION
    assert html is not None
    assert html["requirement_es"].startswith("<p>")
    again = runner.invoke(cli, ["db", "upgrade"])
    assert again.exit_code == 0
    assert "Markdown rendered" in again.output
