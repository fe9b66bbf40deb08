"""`council keys`: create or import the council's keys, rotate the credential key, show them."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from core.settings import Settings
from core.signing import DEMO_AUTHORITY_NAME, describe_keys, load_keys
from council.cli import app
from council.demo import demo_keys

runner = CliRunner()
PASSWORD = "frase-secreta-del-p12"


@pytest.fixture
def keys_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the CLI keeps keys in this test (no stray .env file is read)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("COUNCIL_NAME", "Consejo de Prueba")
    return tmp_path / "keys"


def _p12(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CONSEJO CON FIRMA PROPIA")])
    start = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"c", key, cert, None, serialization.BestAvailableEncryption(PASSWORD.encode())
        )
    )
    return path


@pytest.mark.parametrize(
    ("args", "purpose"),
    [
        (["keys"], "The council's signing keys."),
        (["keys", "init"], "Create the council's keys: a demo authority, or the council's own"),
        (["keys", "rotate"], "Make a new credential key current"),
        (["keys", "show"], "Show the credential key ids, the PDF signer"),
    ],
)
def test_help_describes_the_keys_commands(args: list[str], purpose: str) -> None:
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert purpose in " ".join(result.output.split())


def test_init_creates_a_demo_authority_and_shows_it(keys_dir: Path) -> None:
    result = runner.invoke(app, ["keys", "init"])

    assert result.exit_code == 0, result.output
    keys = load_keys(keys_dir)
    assert "demo authority" in result.output
    assert f"Credential key (kid): {keys.kid}" in result.output
    assert "PDF signer: Consejo de Prueba" in result.output
    assert DEMO_AUTHORITY_NAME in result.output


def test_init_refuses_to_replace_keys(keys_dir: Path) -> None:
    runner.invoke(app, ["keys", "init"])
    kid = load_keys(keys_dir).kid

    again = runner.invoke(app, ["keys", "init"])

    assert again.exit_code == 1
    assert "already holds" in again.output
    assert load_keys(keys_dir).kid == kid


def test_init_imports_a_pkcs12_with_the_password_from_the_environment(
    keys_dir: Path, tmp_path: Path
) -> None:
    p12 = _p12(tmp_path / "consejo.p12")

    result = runner.invoke(
        app,
        ["keys", "init", "--pkcs12", str(p12), "--password-env", "P12_PASSWORD"],
        env={"P12_PASSWORD": PASSWORD},
    )

    assert result.exit_code == 0, result.output
    assert "PDF signer: CONSEJO CON FIRMA PROPIA" in result.output
    assert "demo authority" not in result.output


def test_init_asks_for_the_password_when_no_variable_is_named(
    keys_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p12 = _p12(tmp_path / "consejo.p12")
    monkeypatch.setattr("council.cli.getpass.getpass", lambda prompt: PASSWORD)

    result = runner.invoke(app, ["keys", "init", "--pkcs12", str(p12)])

    assert result.exit_code == 0, result.output
    assert "CONSEJO CON FIRMA PROPIA" in result.output


def test_a_wrong_password_is_an_error_not_a_traceback(keys_dir: Path, tmp_path: Path) -> None:
    p12 = _p12(tmp_path / "consejo.p12")

    result = runner.invoke(
        app,
        ["keys", "init", "--pkcs12", str(p12), "--password-env", "P12_PASSWORD"],
        env={"P12_PASSWORD": "otra"},
    )

    assert result.exit_code == 1
    assert "Error: cannot read the key material" in result.output
    assert not keys_dir.joinpath("keys.json").exists()


def test_a_password_variable_that_is_not_set_is_an_error(keys_dir: Path, tmp_path: Path) -> None:
    p12 = _p12(tmp_path / "consejo.p12")

    result = runner.invoke(
        app, ["keys", "init", "--pkcs12", str(p12), "--password-env", "NOT_SET_ANYWHERE"]
    )

    assert result.exit_code == 1
    assert "NOT_SET_ANYWHERE is not set" in result.output


def test_the_password_cannot_be_given_on_the_command_line(keys_dir: Path, tmp_path: Path) -> None:
    p12 = _p12(tmp_path / "consejo.p12")

    result = runner.invoke(app, ["keys", "init", "--pkcs12", str(p12), "--password", PASSWORD])

    assert result.exit_code == 2  # no such option: argv is visible to every user of the machine


def test_pkcs12_and_a_certificate_are_not_given_together(keys_dir: Path, tmp_path: Path) -> None:
    p12 = _p12(tmp_path / "consejo.p12")

    result = runner.invoke(app, ["keys", "init", "--pkcs12", str(p12), "--certificate", str(p12)])

    assert result.exit_code == 1
    assert "either --pkcs12 or --certificate" in result.output


def test_rotate_makes_a_new_current_key_and_show_lists_the_retired_one(keys_dir: Path) -> None:
    runner.invoke(app, ["keys", "init"])
    old = load_keys(keys_dir).kid

    rotated = runner.invoke(app, ["keys", "rotate"])
    shown = runner.invoke(app, ["keys", "show"])

    new = load_keys(keys_dir).kid
    assert rotated.exit_code == 0, rotated.output
    assert new != old
    assert f"New credential key: {new}" in rotated.output
    assert f"Credential key (kid): {new}" in shown.output
    assert f"Retired, still published: {old}" in shown.output


@pytest.mark.parametrize("command", ["show", "rotate"])
def test_without_keys_the_commands_say_to_run_init(keys_dir: Path, command: str) -> None:
    result = runner.invoke(app, ["keys", command])

    assert result.exit_code == 1
    assert "council keys init" in result.output


def test_the_demo_makes_keys_once(tmp_path: Path) -> None:
    settings = Settings(keys_dir=tmp_path / "keys", _env_file=None)
    now = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

    first = demo_keys(settings, now=now)
    second = demo_keys(settings, now=now)

    assert first.kid == second.kid
    assert (tmp_path / "keys" / "keys.json").exists()


def test_the_demo_command_creates_the_demo_authority(
    keys_dir: Path, fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)

    result = runner.invoke(app, ["demo", "--no-serve"])

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    summary = describe_keys(load_keys(keys_dir))
    assert summary.authorities == (
        f"Common Name: {DEMO_AUTHORITY_NAME}, Organization: Consejo de Prueba, Country: MX",
    )
