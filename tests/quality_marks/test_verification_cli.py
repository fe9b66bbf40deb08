"""`council certificates verify FILE`: each check printed, exit 0 only when all pass."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.db import make_engine
from core.signing import CouncilKeys
from core.storage import FileStore
from council.cli import app
from tests.quality_marks.verification_builders import certificate_pdf, signed_certificate

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

runner = CliRunner()


@pytest.fixture
def issued_pdf(
    fresh_database_url: str,
    council_keys: CouncilKeys,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> tuple[str, bytes]:
    """A certificate committed to a fresh database the command reads; its number and PDF."""
    monkeypatch.chdir(tmp_path)  # no stray .env file
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("KEYS_DIR", str(council_keys.directory))
    engine = make_engine(fresh_database_url)
    with Session(engine) as session:
        certificate, pdf = signed_certificate(session, council_keys, FileStore(tmp_path / "store"))
        session.commit()
        number = certificate.number
    engine.dispose()
    return number, pdf


def _run(tmp_path: Path, data: bytes) -> tuple[int, str]:
    path = tmp_path / "upload.pdf"
    path.write_bytes(data)
    result = runner.invoke(app, ["certificates", "verify", str(path), "--language", "en"])
    return result.exit_code, result.output


def test_the_issued_pdf_passes_every_check_and_exits_0(
    issued_pdf: tuple[str, bytes], tmp_path: Path
) -> None:
    number, pdf = issued_pdf

    code, output = _run(tmp_path, pdf)

    assert code == 0, output
    lines = output.splitlines()
    assert [line.split("]")[0] for line in lines[:4]] == ["[PASS"] * 4
    assert number in output
    assert "Genuine and in force" in lines[4]


def test_one_changed_byte_fails_the_command(issued_pdf: tuple[str, bytes], tmp_path: Path) -> None:
    _number, pdf = issued_pdf
    at = pdf.index(b"/MediaBox")
    changed = pdf[:at] + b"/MediaBoy" + pdf[at + 9 :]

    code, output = _run(tmp_path, changed)

    assert code == 1
    assert "[FAIL] Signed by the council: The file was changed after it was signed" in output
    assert "[FAIL] The file the council issued" in output


def test_a_file_that_is_no_pdf_is_refused_with_a_reason(
    issued_pdf: tuple[str, bytes], tmp_path: Path
) -> None:
    code, output = _run(tmp_path, b"just some text")

    assert code == 2
    assert "This file is not a PDF" in output


def test_a_missing_file_is_an_error_not_a_crash(
    issued_pdf: tuple[str, bytes], tmp_path: Path
) -> None:
    result = runner.invoke(app, ["certificates", "verify", str(tmp_path / "nothing.pdf")])

    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("depth", [5000, 200_000])
def test_a_credential_of_deeply_nested_json_fails_the_command_without_a_crash(
    issued_pdf: tuple[str, bytes], tmp_path: Path, depth: int
) -> None:
    claims = base64.urlsafe_b64encode(b"[" * depth + b"]" * depth).rstrip(b"=").decode()

    code, output = _run(tmp_path, certificate_pdf(f"eyJhbGciOiJFZERTQSJ9.{claims}.AAAA"))

    assert code == 1, output
    assert "[FAIL] The credential inside the file" in output
    assert "Not confirmed" in output
