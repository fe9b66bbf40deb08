"""Service configuration, read from the environment and an optional `.env` file."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The council service's configuration; every field is documented in the README."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/council.db",
        description="SQLAlchemy URL; a SQLite file under ./var by default.",
    )
    secret_key: str = Field(
        default="",
        description="Signs session cookies and tokens; generated into ./var/secret_key when unset.",
    )
    var_dir: Path = Field(
        default=Path("var"),
        description="Directory for local state: the SQLite file, the generated secret key.",
    )
    storage_dir: Path = Field(
        default=Path("var/storage"),
        description="Directory for uploaded files, outside the web root.",
    )
    keys_dir: Path = Field(
        default=Path("var/keys"),
        description=(
            "Directory of the council's signing keys (credential keys, PDF signing certificate), "
            "outside the web root; created by `council keys init`, mode 0700."
        ),
    )
    council_name: str = Field(
        default="Consejo de Ética de la Inteligencia Artificial de México",
        min_length=1,
        description=(
            "The council's name as issuer of credentials (its public profile at /issuer) and in "
            "the demo signing certificate that `council keys init` makes."
        ),
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public URL, used in e-mailed links; https turns on Secure cookies.",
    )
    default_locale: str = Field(
        default="es_MX", description="Language used when the visitor has not chosen one."
    )
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server that delivers the outbox.")
    smtp_port: int = Field(default=25, description="SMTP server port.")
    smtp_username: str = Field(default="", description="SMTP user name; empty for no login.")
    smtp_password: str = Field(default="", description="SMTP password.")
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP connection with STARTTLS."
    )
    mail_from: str = Field(
        default="Consejo de Ética de IA <no-responder@ceia.example.mx>",
        description="Sender address of outgoing mail.",
    )
    mail_backend: Literal["smtp", "file", "log"] = Field(
        default="smtp",
        description=(
            "How the outbox delivers: `smtp`; `file` writes each message as an .eml file under "
            "MAIL_DIR; `log` writes it to the log. The demo uses `file` unless told otherwise."
        ),
    )
    mail_dir: Path = Field(
        default=Path("var/mail"),
        description="Directory of the .eml files MAIL_BACKEND=file writes.",
    )
    mail_max_attempts: int = Field(
        default=5, description="Delivery attempts before an outbox message is marked failed."
    )
    max_upload_bytes: int = Field(
        default=10 * 1024 * 1024, description="Largest single uploaded file, in bytes."
    )
    max_application_upload_bytes: int = Field(
        default=50 * 1024 * 1024, description="Largest total of files attached to one application."
    )
    signin_max_failures: int = Field(
        default=5, description="Failed sign-ins for one e-mail address before it is locked."
    )
    signin_lockout_minutes: int = Field(
        default=15, description="Window and lockout length for failed sign-ins, in minutes."
    )
    consultation_min_days: int = Field(
        default=30, ge=1, description="Shortest public consultation on a draft, in days."
    )
    max_message_files: int = Field(
        default=5, description="Most files attached to one message of an application's thread."
    )
    session_idle_minutes: int = Field(
        default=120, description="A session unused for this many minutes ends."
    )
    session_absolute_hours: int = Field(
        default=12, description="A session ends this many hours after sign-in, however used."
    )
    trusted_proxies: str = Field(
        default="",
        description=(
            "Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For and "
            "X-Forwarded-Proto headers are believed; empty believes no one."
        ),
    )
    max_form_bytes: int = Field(
        default=1024 * 1024, description="Largest form or other non-JSON request body, in bytes."
    )
    max_json_bytes: int = Field(
        default=5 * 1024 * 1024, description="Largest JSON request body, in bytes."
    )
    max_upload_request_bytes: int = Field(
        default=55 * 1024 * 1024,
        description="Largest request that carries files (a checklist page, a message), in bytes.",
    )
    reviewers_per_application: int = Field(
        default=2, ge=1, description="Reviewers assigned to each application, one a council member."
    )
    max_open_reviews: int = Field(
        default=4,
        ge=1,
        description="Most open reviews one reviewer carries, unless set per person.",
    )
    review_days: int = Field(default=21, ge=1, description="Days a reviewer has for a review.")
    mark_validity_years: int = Field(
        default=2, ge=1, description="Years a granted quality mark is valid."
    )
    appeal_days: int = Field(
        default=30, ge=1, description="Days after a refusal in which the applicant may appeal."
    )

    certificate_prefix: str = Field(
        default="MX-CEIA",
        pattern=r"^[A-Z0-9-]{1,20}$",
        description="Start of every certificate number, before the year and the serial.",
    )
    expiry_reminder_days: str = Field(
        default="90,30",
        pattern=r"^\d+(,\d+)*$",
        description="Days before a certificate expires on which its holder is reminded.",
    )
    suspension_confirm_days: int = Field(
        default=14,
        ge=1,
        description="Days a ballot has to confirm the chair's urgent suspension before it lapses.",
    )
    reassessment_days: int = Field(
        default=90,
        ge=1,
        description="Days a holder has to re-assess when a new guideline version changes criteria.",
    )

    # Deadlines (issue 14): the due dates the dashboards show and flag when passed.
    screening_working_days: int = Field(
        default=10,
        ge=1,
        description=(
            "Working days (Monday to Friday, less Mexico's official rest days) the secretariat "
            "has to screen a submitted application."
        ),
    )
    disposition_days: int = Field(
        default=30,
        ge=1,
        description="Days after a consultation's last day to give every comment a disposition.",
    )
    information_due_days: int = Field(
        default=30,
        ge=1,
        description="Days an organisation has, unless told otherwise, to answer a request.",
    )

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies must carry the Secure flag."""
        return self.base_url.startswith("https://")


def ensure_secret_key(settings: Settings) -> Settings:
    """Settings with a secret key, generated and stored under var_dir on first start."""
    if settings.secret_key:
        return settings
    key_file = settings.var_dir / "secret_key"
    if key_file.exists():
        key = key_file.read_text().strip()
    else:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)
    return settings.model_copy(update={"secret_key": key})
