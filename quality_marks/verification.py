"""Verification of certificates by anyone: the public status page and the checks of a PDF file.

A certificate PDF is checked as a relying party would: is it signed by the council and unchanged,
is it the very file the council issued (its SHA-256), does the credential inside it verify and
belong to it, and does the council still stand by it today.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import side_session
from core.errors import N_, Invalid, NotFound
from core.i18n import DISPLAY_ZONE, Translator, local_date
from core.ratelimit import check_limit, record_hit
from core.signing import CouncilKeys, check_pdf_signature, verify_jwt
from core.storage import FileStore, FileTooLarge
from quality_marks.certificate_history import (
    EVENT_LABELS,
    STATUS_LABELS,
    certificate_history,
    reason_in_both,
)
from quality_marks.certificate_lifecycle import EXPIRED_REASON
from quality_marks.certificate_models import (
    ISSUED_CERTIFICATES,
    Certificate,
    CertificateStatus,
    RegistryEvent,
    RegistryEventKind,
    WithdrawalReason,
)
from quality_marks.certificates import certificate_pdf, is_certificate_number
from quality_marks.decisions import LEVEL_LABELS

# A certificate is a few hundred kilobytes; anything much larger is not one.
MAX_PDF_BYTES = 5 * 1024 * 1024
# Uploads of one network address within the window (anyone may check, robots may not hammer).
VERIFY_BUCKET = "certificate_verify_ip"
VERIFY_LIMIT = 60
VERIFY_WINDOW = dt.timedelta(minutes=10)
# The file name under which issuance attaches the credential to the PDF.
CREDENTIAL_ATTACHMENT = "credential.jwt"
# Embedded file name trees deeper than this are not a certificate's (and would be a trap).
MAX_NAME_TREE_DEPTH = 8
# What a certificate number may look like ("MX-CEIA-2026-000123").
NUMBER_SHAPE = re.compile(r"[A-Z0-9-]{1,40}")
_VERIFY_URL = re.compile(r"/verify/([A-Za-z0-9-]{1,40})/?$")
_NUMBER = re.compile(r"^[A-Z0-9-]{1,20}-[0-9]{4}-[0-9]{6}$")
# A certificate's credential is a few kilobytes; a longer "credential" is not read at all.
MAX_CREDENTIAL_CHARS = 64 * 1024

# Events that change what the certificate's status is (a re-assessment request, a complaint's
# triage do not).
_STATUS_EVENTS = frozenset(RegistryEventKind) - {
    RegistryEventKind.reassessment_requested,
    RegistryEventKind.complaint_dismissed,
    RegistryEventKind.complaint_surveillance_opened,
    RegistryEventKind.complaint_closed,
}


# The public page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One public event of a certificate's history, as the registry tells it."""

    kind: RegistryEventKind
    label: str  # msgid
    occurred_at: dt.datetime
    public_reason: dict[str, str]
    resolution: str | None


@dataclass(frozen=True)
class CertificateView:
    """What the public verification page and API say about a certificate: public fields only."""

    number: str
    status: CertificateStatus
    status_label: str  # msgid
    status_changed_at: dt.datetime
    # Why it stands where it does: the public reason of the latest event that set its status.
    status_reason: dict[str, str]
    withdrawal_reason: WithdrawalReason | None
    organization_name: str
    product_name: str
    product_identifier: str
    level: str
    level_label: str  # msgid (or the code itself when the level has no label)
    guideline_title: str
    guideline_title_en: str  # the English title, when the guideline has one
    guideline_version: str
    guideline_url: str
    resolution: str
    valid_from: dt.date
    valid_until: dt.date
    issued_on: dt.date | None
    has_pdf: bool
    has_credential: bool
    superseded_by: str | None
    history: list[HistoryEntry] = field(default_factory=list)

    @property
    def in_force(self) -> bool:
        """Whether the council stands by the certificate today."""
        return self.status == CertificateStatus.valid


def issued_certificate(session: Session, number: str) -> Certificate:
    """A certificate the council issued (whatever became of it); NotFound for any other number.

    A void or still-issuing number was never a certificate, so the public cannot tell it apart
    from a number never given.
    """
    certificate = None
    if is_certificate_number(number):
        certificate = session.scalar(
            select(Certificate).where(
                Certificate.number == number, Certificate.status.in_(ISSUED_CERTIFICATES)
            )
        )
    if certificate is None:
        raise NotFound(N_("No certificate with this number was issued by the council."))
    return certificate


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    return value if isinstance(value, str) else ""


def _day(payload: dict[str, Any], key: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(_text(payload, key))
    except ValueError:
        return None


def _status_reason(history: list[RegistryEvent]) -> dict[str, str]:
    for event in reversed(history):
        if event.kind in _STATUS_EVENTS:
            return dict(event.public_reason)
    return {}


def _superseded_by(session: Session, certificate: Certificate) -> str | None:
    if certificate.status != CertificateStatus.superseded:
        return None
    return session.scalar(
        select(Certificate.number).where(
            Certificate.supersedes_id == certificate.id,
            Certificate.status.in_(ISSUED_CERTIFICATES),
        )
    )


def ended_unrecorded(certificate: Certificate, today: dt.date) -> bool:
    """Whether a certificate recorded as valid is past its end, the daily expiry job not yet run."""
    return certificate.status == CertificateStatus.valid and certificate.valid_until < today


def view_of(session: Session, certificate: Certificate, *, now: dt.datetime) -> CertificateView:
    """The public view of an issued certificate: what it states, where it stands, its history.

    From the day after its validity ends a certificate is shown expired, as the expiry job will
    record it: the public must never read "valid" on a certificate no longer in force.
    """
    payload = certificate.payload
    history = certificate_history(session, certificate.id)
    issued_at = certificate.issued_at
    status, changed_at = certificate.status, certificate.status_changed_at
    reason = _status_reason(history)
    if ended_unrecorded(certificate, local_date(now)):
        status = CertificateStatus.expired
        next_day = certificate.valid_until + dt.timedelta(days=1)
        changed_at = dt.datetime.combine(next_day, dt.time(), DISPLAY_ZONE).astimezone(dt.UTC)
        reason = reason_in_both(EXPIRED_REASON, date=certificate.valid_until.isoformat())
    return CertificateView(
        number=certificate.number,
        status=status,
        status_label=STATUS_LABELS[status],
        status_changed_at=changed_at,
        status_reason=reason,
        withdrawal_reason=certificate.withdrawal_reason,
        organization_name=_text(payload, "organization_name"),
        product_name=_text(payload, "product_name"),
        product_identifier=_text(payload, "product_identifier"),
        level=certificate.level,
        level_label=LEVEL_LABELS.get(certificate.level, certificate.level),
        guideline_title=_text(payload, "guideline_title"),
        guideline_title_en=_text(payload, "guideline_title_en"),
        guideline_version=_text(payload, "guideline_version"),
        guideline_url=_text(payload, "guideline_url"),
        resolution=_text(payload, "resolution"),
        valid_from=certificate.valid_from,
        valid_until=certificate.valid_until,
        issued_on=_day(payload, "issued_on") or (local_date(issued_at) if issued_at else None),
        has_pdf=certificate.pdf_key is not None,
        has_credential=certificate.credential is not None,
        superseded_by=_superseded_by(session, certificate),
        history=[
            HistoryEntry(
                kind=event.kind,
                label=EVENT_LABELS[event.kind],
                occurred_at=event.occurred_at,
                public_reason=dict(event.public_reason),
                resolution=event.resolution,
            )
            for event in history
        ],
    )


def certificate_view(session: Session, number: str, *, now: dt.datetime) -> CertificateView:
    """The public page of a certificate by its number (NotFound unless it was issued)."""
    return view_of(session, issued_certificate(session, number), now=now)


def certificate_number(typed: str) -> str:
    """A certificate number as typed by a reader, tidied (Invalid when it cannot be one)."""
    number = typed.strip().upper()
    if not NUMBER_SHAPE.fullmatch(number):
        raise Invalid(fields={"number": N_("Enter a number such as MX-CEIA-2026-000123.")})
    return number


@dataclass(frozen=True)
class IssuedFile:
    """A certificate's signed PDF as stored when it was issued."""

    content: bytes
    sha256: str


def certificate_file(session: Session, store: FileStore, number: str) -> IssuedFile:
    """The signed PDF of an issued certificate (NotFound when there is none to give)."""
    certificate = issued_certificate(session, number)
    if certificate.pdf_key is None or certificate.pdf_sha256 is None:
        raise NotFound()
    try:
        content = certificate_pdf(store, certificate)
    except (OSError, ValueError) as error:
        raise NotFound() from error
    return IssuedFile(content=content, sha256=certificate.pdf_sha256)


def certificate_credential(session: Session, number: str) -> str:
    """The VC-JWT of an issued certificate (NotFound when there is none)."""
    certificate = issued_certificate(session, number)
    if certificate.credential is None:
        raise NotFound()
    return certificate.credential


@dataclass(frozen=True)
class CertificateSummary:
    """A certificate as a list of its holder's certificates shows it."""

    number: str
    product_name: str
    level: str
    status: CertificateStatus
    valid_until: dt.date
    has_pdf: bool


# The newest certificates an organisation's page lists; older ones stay on their public pages.
ORGANIZATION_CERTIFICATES = 20


def certificates_of_organization(
    session: Session, organization_id: int
) -> list[CertificateSummary]:
    """The certificates issued to an organisation, newest first (at most a page of them)."""
    rows = session.scalars(
        select(Certificate)
        .where(
            Certificate.organization_id == organization_id,
            Certificate.status.in_(ISSUED_CERTIFICATES),
        )
        .order_by(Certificate.id.desc())
        .limit(ORGANIZATION_CERTIFICATES)
    )
    return [
        CertificateSummary(
            number=row.number,
            product_name=_text(row.payload, "product_name"),
            level=row.level,
            status=row.status,
            valid_until=row.valid_until,
            has_pdf=row.pdf_key is not None,
        )
        for row in rows
    ]


# Checking a PDF ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One check of an uploaded certificate: whether it passed, and why, in plain words.

    `message` is a msgid; its parameters may be dates (shown on the reader's calendar), texts
    given in both languages ({"es": ..., "en": ...}), or plain text.
    """

    name: str  # a stable code: signature, file, credential, status
    title: str  # msgid
    passed: bool
    message: str  # msgid
    params: dict[str, Any] = field(default_factory=dict)

    def explain(self, tr: Translator) -> str:
        """The explanation in the reader's language."""
        return tr.gettext(self.message, **{k: _shown(tr, v) for k, v in self.params.items()})


def _shown(tr: Translator, value: Any) -> str:
    if isinstance(value, dt.datetime):
        return tr.format_date(local_date(value))
    if isinstance(value, dt.date):
        return tr.format_date(value)
    if isinstance(value, dict):
        return tr.pick(str(value.get("es", "")), str(value.get("en", "")))
    return str(value)


VERDICTS = {
    "valid": N_(
        "Genuine and in force: this is the certificate the council issued, "
        "and the council stands by it today."
    ),
    "not_in_force": N_(
        "Genuine, but not in force: the council issued this certificate, but it is not valid today."
    ),
    "not_confirmed": N_(
        "Not confirmed: this file cannot be relied on as a certificate of the council."
    ),
}


@dataclass(frozen=True)
class Verification:
    """The result of checking a certificate file: each check and the overall verdict."""

    number: str | None  # the certificate the file claims to be, when the council knows it
    checks: list[Check]

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def verdict(self) -> str:
        """valid, not_in_force (genuine but suspended, withdrawn...) or not_confirmed."""
        if self.passed:
            return "valid"
        if all(check.passed for check in self.checks if check.name != "status"):
            return "not_in_force"
        return "not_confirmed"

    @property
    def summary(self) -> str:
        """The verdict in words (a msgid)."""
        return VERDICTS[self.verdict]


def refuse_unreadable(data: bytes) -> None:
    """Refuse what is not a PDF at all: nothing, too much, or another kind of file."""
    if not data:
        raise Invalid(N_("The file is empty. Choose the certificate's PDF file."))
    if len(data) > MAX_PDF_BYTES:
        raise FileTooLarge(
            N_("The file is larger than the limit of %(limit)s MB."),
            limit=f"{MAX_PDF_BYTES / 1024 / 1024:g}",
        )
    # The header may follow a little junk (ISO 32000-1, 7.5.2 as readers apply it).
    if b"%PDF-" not in data[:1024]:
        raise Invalid(N_("This file is not a PDF. A certificate of the council is a PDF file."))


def _open_pdf(data: bytes) -> PdfFileReader | None:
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        reader.root  # noqa: B018 - reading the catalog is what proves the file can be read
    except Exception:  # a hostile or broken file may fail the parser anywhere: not readable
        return None
    return reader


def _name_tree_files(node: Any, depth: int = 0) -> Iterator[tuple[str, Any]]:
    if depth > MAX_NAME_TREE_DEPTH:
        return
    if "/Names" in node:
        pairs = node["/Names"]
        for i in range(0, len(pairs) - 1, 2):
            yield str(pairs[i]), pairs[i + 1]
    if "/Kids" in node:
        for kid in node["/Kids"]:
            yield from _name_tree_files(kid, depth + 1)


def embedded_credential(reader: PdfFileReader) -> str | None:
    """The credential attached to a certificate PDF (its `credential.jwt`), if there is one."""
    try:
        root = reader.root
        if "/Names" not in root or "/EmbeddedFiles" not in root["/Names"]:
            return None
        found = None
        for name, spec in _name_tree_files(root["/Names"]["/EmbeddedFiles"]):
            if name == CREDENTIAL_ATTACHMENT or (found is None and name.endswith(".jwt")):
                found = spec["/EF"]["/F"].data
                if name == CREDENTIAL_ATTACHMENT:
                    break
        if found is None:
            return None
        if len(found) > MAX_CREDENTIAL_CHARS:
            return None  # far larger than a credential: not read
        token = bytes(found).decode("ascii").strip()
    except Exception:  # a damaged attachment is no credential; the check says so
        return None
    return token if token.count(".") == 2 else None


def unverified_claims(token: str) -> dict[str, Any]:
    """A JWS's claims read without checking the signature, only to find what it speaks about.

    The token comes from an uploaded file: anything that cannot be read (too long, not base64,
    not JSON, JSON nested deep enough to exhaust the parser's recursion) reads as no claims.
    """
    if len(token) > MAX_CREDENTIAL_CHARS:
        return {}
    try:
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _strings(value: Any, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(key, text) for every text in a JSON value, keys of dicts carried down."""
    if depth > 12:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                yield str(key), item
            else:
                yield from _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                yield "", item
            else:
                yield from _strings(item, depth + 1)


def numbers_in(claims: dict[str, Any]) -> list[str]:
    """Certificate numbers a credential names: its verification URL, or a number field."""
    found: list[str] = []
    for key, text in _strings(claims):
        match = _VERIFY_URL.search(text)
        number = (
            match.group(1) if match else text if key == "number" or _NUMBER.match(text) else None
        )
        if number and number not in found:
            found.append(number)
    return found


def _find_certificate(session: Session, token: str | None, digest: str) -> Certificate | None:
    """The issued certificate the file speaks of: by the credential's number, else by its hash."""
    if token:
        for number in filter(is_certificate_number, numbers_in(unverified_claims(token))):
            certificate = session.scalar(
                select(Certificate).where(
                    Certificate.number == number, Certificate.status.in_(ISSUED_CERTIFICATES)
                )
            )
            if certificate is not None:
                return certificate
    return session.scalar(
        select(Certificate).where(
            Certificate.pdf_sha256 == digest, Certificate.status.in_(ISSUED_CERTIFICATES)
        )
    )


SIGNATURE = N_("Signed by the council")
FILE = N_("The file the council issued")
CREDENTIAL = N_("The credential inside the file")
STATUS = N_("Status today")


def _signature_check(keys: CouncilKeys, data: bytes, readable: bool) -> Check:
    def check(passed: bool, message: str, **params: Any) -> Check:
        return Check("signature", SIGNATURE, passed, message, params)

    if not readable:
        return check(False, N_("The file is damaged: it cannot be read as a PDF document."))
    try:
        found = check_pdf_signature(keys, data)
    except Exception:  # a damaged signature dictionary is as good as none
        found = None
    if found is None or not found.signed:
        return check(False, N_("The file carries no digital signature that can be read."))
    if not found.intact:
        return check(
            False,
            N_(
                "The file was changed after it was signed: what it says now is not what was signed."
            ),
        )
    if not found.trusted:
        return check(
            False,
            N_("The file is signed by “%(signer)s”, which is not the council's signing authority."),
            signer=found.signer or "?",
        )
    if found.signed_at is not None:
        return check(
            True,
            N_(
                "The file carries the council's digital signature (%(signer)s), made on "
                "%(date)s, and has not changed since."
            ),
            signer=found.signer,
            date=found.signed_at,
        )
    return check(
        True,
        N_(
            "The file carries the council's digital signature (%(signer)s) and has not "
            "changed since."
        ),
        signer=found.signer,
    )


def _file_check(certificate: Certificate | None, digest: str) -> Check:
    def check(passed: bool, message: str, **params: Any) -> Check:
        return Check("file", FILE, passed, message, params)

    if certificate is None:
        return check(
            False,
            N_("The council has issued no certificate of which this file is a copy."),
        )
    if certificate.pdf_sha256 != digest:
        return check(
            False,
            N_(
                "This file is not the one the council issued for certificate %(number)s: "
                "their fingerprints (SHA-256) differ, so it was altered or made elsewhere."
            ),
            number=certificate.number,
        )
    return check(
        True,
        N_(
            "This file is exactly the one the council issued for certificate %(number)s "
            "(same SHA-256 fingerprint)."
        ),
        number=certificate.number,
    )


def _credential_check(
    keys: CouncilKeys, token: str | None, certificate: Certificate | None
) -> Check:
    def check(passed: bool, message: str, **params: Any) -> Check:
        return Check("credential", CREDENTIAL, passed, message, params)

    if token is None:
        return check(False, N_("The file holds no credential of the council."))
    try:
        verify_jwt(keys, token)
    except Exception:  # any failure to verify is the same answer to the reader
        return check(
            False,
            N_("The credential inside the file does not verify with the council's public keys."),
        )
    if certificate is None or certificate.credential != token:
        return check(
            False,
            N_(
                "The credential inside the file is signed by the council but is not the one "
                "issued with this certificate."
            ),
        )
    return check(
        True,
        N_(
            "The credential inside the file verifies with the council's public keys and is "
            "the one issued with certificate %(number)s."
        ),
        number=certificate.number,
    )


def status_check(session: Session, certificate: Certificate | None, *, now: dt.datetime) -> Check:
    """Whether the council stands by the certificate today, and if not, why not."""

    def check(passed: bool, message: str, **params: Any) -> Check:
        return Check("status", STATUS, passed, message, params)

    if certificate is None:
        return check(False, N_("No certificate of the council was found to check the status of."))
    today = local_date(now)
    reason = _status_reason(certificate_history(session, certificate.id))
    status = certificate.status
    if status == CertificateStatus.valid and certificate.valid_until < today:
        return check(
            False, N_("The certificate expired on %(date)s."), date=certificate.valid_until
        )
    if status == CertificateStatus.valid and certificate.valid_from > today:
        return check(
            False, N_("The certificate is valid only from %(date)s."), date=certificate.valid_from
        )
    if status == CertificateStatus.valid:
        return check(
            True,
            N_("The certificate is valid today; it expires on %(date)s."),
            date=certificate.valid_until,
        )
    since = certificate.status_changed_at
    if status == CertificateStatus.suspended:
        return check(
            False,
            N_("The council suspended this certificate on %(date)s. %(reason)s"),
            date=since,
            reason=reason,
        )
    if status == CertificateStatus.withdrawn:
        return check(
            False,
            N_("The council withdrew this certificate on %(date)s. %(reason)s"),
            date=since,
            reason=reason,
        )
    if status == CertificateStatus.superseded:
        newer = _superseded_by(session, certificate)
        return check(
            False,
            N_("This certificate was replaced on %(date)s by certificate %(newer)s."),
            date=since,
            newer=newer or "—",
        )
    return check(False, N_("The certificate expired on %(date)s."), date=certificate.valid_until)


def _count_attempt(session: Session, *, client_ip: str, now: dt.datetime) -> None:
    """Count an upload against its address's limit, in a short writing transaction of its own:
    the checks that follow parse an untrusted file, and must hold no write lock meanwhile."""
    with side_session(session) as writer:
        check_limit(
            writer,
            bucket=VERIFY_BUCKET,
            key=client_ip,
            limit=VERIFY_LIMIT,
            window=VERIFY_WINDOW,
            now=now,
        )
        record_hit(writer, bucket=VERIFY_BUCKET, key=client_ip, now=now)
        writer.commit()


def verify_pdf(
    session: Session,
    keys: CouncilKeys,
    data: bytes,
    *,
    now: dt.datetime,
    client_ip: str | None = None,
) -> Verification:
    """Check a certificate file: the council's signature, the file issued, its credential, status.

    A file that is no PDF at all is refused (Invalid); a PDF that fails a check is answered with
    the checks. With `client_ip` (a public upload) the attempt counts against a rate limit, in
    a transaction of its own; `session` only reads (it may be a reading session).
    """
    if client_ip is not None:
        _count_attempt(session, client_ip=client_ip, now=now)
    refuse_unreadable(data)
    digest = hashlib.sha256(data).hexdigest()
    reader = _open_pdf(data)
    token = embedded_credential(reader) if reader is not None else None
    signature = _signature_check(keys, data, reader is not None)
    certificate = _find_certificate(session, token, digest)
    return Verification(
        number=certificate.number if certificate is not None else None,
        checks=[
            signature,
            _file_check(certificate, digest),
            _credential_check(keys, token, certificate),
            status_check(session, certificate, now=now),
        ],
    )
