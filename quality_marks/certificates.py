"""Issuing certificates as a certification authority does: number and intent, lint, sign, store.

Issuance runs in short transactions of its own, so it takes a session factory rather than a
session: (1) allocate the number and store the full payload (`issuing`); (2) lint it, voiding it
on any error; (3) render and sign outside any transaction; (4) store the signed PDF and mark it
issued. A crash between the steps leaves an `issuing` certificate that the reconciler finishes or
voids; the number is never given twice and never skipped.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.accounts import Role, User
from core.audit import record_event
from core.db import open_session
from core.errors import N_, Conflict, Forbidden, NotFound
from core.i18n import local_date
from core.mail import queue_mail
from core.signing import CouncilKeys
from core.storage import FileStore
from guidelines.models import Guideline, GuidelineVersion, VersionStatus
from quality_marks.certificate_history import reason_in_both, record_registry_event
from quality_marks.certificate_lifecycle import supersede_certificate
from quality_marks.certificate_models import (
    LIVE_CERTIFICATES,
    Certificate,
    CertificateCounter,
    CertificateStatus,
    RegistryEventKind,
)
from quality_marks.certificate_pdf import (
    LEVEL_LABELS,
    TEMPLATE_VERSION,
    sign_credential,
    signed_certificate,
)
from quality_marks.decisions import may_issue_certificate, years_after
from quality_marks.models import (
    Application,
    ApplicationDecision,
    Decision,
    Evidence,
    Organization,
    OrgRole,
    Product,
)
from quality_marks.organizations import members_of

# Bits in each published status list; every certificate takes one index at random (the W3C
# Bitstring Status List advises random indexes, so a neighbour's status says nothing of one's own).
STATUS_LIST_SIZE = 131072
MAX_PDF_BYTES = 20 * 1024 * 1024
SHA256 = re.compile(r"[0-9a-f]{64}")

# What the public registry says when a certificate is issued, voided or superseded.
ISSUED_REASON = N_("The council issued the certificate by resolution %(resolution)s.")
VOIDED_REASON = N_(
    "The number was given but the certificate was not issued: its checks before signing failed."
)
NOT_GRANTED = N_("Only a granted decision of the council gets a certificate.")
NOT_ISSUED = N_(
    "The certificate could not be issued: its checks before signing failed. "
    "The reasons are listed with the decision."
)
ALREADY_CERTIFIED = N_(
    "The decision already had certificate %(number)s. A certificate withdrawn, expired or "
    "replaced is never issued again: a new certificate needs a new decision."
)

# The lint rules: each breaks issuance on its own and says why.
LINT_NOT_GRANTED = N_("The decision did not grant the mark.")
LINT_BALLOT = N_("The decision's ballot is not closed and passed under its resolution.")
LINT_BALLOT_UNKNOWN = N_("The council's ballot behind the decision could not be checked.")
LINT_CONFLICTED_VOTER = N_(
    "A council member with a conflict of interest cast a position on the decision's ballot."
)
LINT_REVIEWER_VOTED = N_(
    "A reviewer of the decided round cast a position on the decision's ballot."
)
LINT_VERSION = N_("The guideline version is not adopted, or it was withdrawn.")
LINT_DATES = N_("The validity dates do not follow the rule for the validity of the mark.")
LINT_NOT_YET = N_("The certificate would be valid from a day still to come.")
LINT_ENDED = N_("The certificate's validity would end before today.")
LINT_NAMES = N_("The organisation, product or guideline name is empty.")
LINT_PRODUCT_TAKEN = N_("Another live certificate already covers this product.")
LINT_EVIDENCE = N_("An evidence file has no SHA-256 hash, or the hashes differ from the files.")
LINT_PAYLOAD = N_("The certificate's text differs from the decision (level, resolution or dates).")


# Facts about the decision's ballot, read from the council's tables -------------------------


@dataclass(frozen=True)
class BallotFacts:
    """What the council's records say about the ballot that decided an application."""

    closed: bool
    passed: bool  # the resolution exists, its result is passed, and it proposed the grant
    conflicted_voted: bool  # a voter recused for a conflict cast a position anyway
    reviewer_voted: bool  # a reviewer of the decided round cast a position
    validity_years: int | None  # the validity the ballot's terms set for the mark


# Reads the ballot behind a decision; the council registers one (quality_marks cannot import it).
BallotFactsLoader = Callable[[Session, ApplicationDecision], BallotFacts | None]
_ballot_facts: list[BallotFactsLoader] = []


def register_ballot_facts(loader: BallotFactsLoader) -> None:
    """Tell issuance how to read the ballot behind a decision (the council does, on import)."""
    _ballot_facts[:] = [loader]


# Lint --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LintFacts:
    """What the lint checks a stored payload against, loaded from the database."""

    decision: ApplicationDecision
    ballot: BallotFacts | None
    version_status: VersionStatus
    version_withdrawn: bool
    evidence: list[dict[str, str]]  # the decided application's evidence files, as stored
    other_live_for_product: int  # live certificates of the same product, renewed ones aside
    today: dt.date


def _dates_follow_rule(payload: dict[str, Any], facts: LintFacts) -> bool:
    years = facts.ballot.validity_years if facts.ballot else None
    try:
        start = dt.date.fromisoformat(payload["valid_from"])
        end = dt.date.fromisoformat(payload["valid_until"])
    except (KeyError, TypeError, ValueError):
        return False
    return years is not None and end == years_after(start, years)


def _matches_decision(payload: dict[str, Any], decision: ApplicationDecision) -> bool:
    return (
        payload.get("level") == decision.level
        and payload.get("resolution") == decision.resolution
        and decision.valid_from is not None
        and decision.valid_until is not None
        and payload.get("valid_from") == decision.valid_from.isoformat()
        and payload.get("valid_until") == decision.valid_until.isoformat()
    )


def _ballot_problems(ballot: BallotFacts | None) -> list[str]:
    if ballot is None:
        return [LINT_BALLOT_UNKNOWN]
    problems = []
    if not (ballot.closed and ballot.passed):
        problems.append(LINT_BALLOT)
    if ballot.conflicted_voted:
        problems.append(LINT_CONFLICTED_VOTER)
    if ballot.reviewer_voted:
        problems.append(LINT_REVIEWER_VOTED)
    return problems


def lint_certificate(payload: dict[str, Any], facts: LintFacts) -> list[str]:
    """Every reason the stored certificate must not be signed (empty: it may be issued)."""
    problems: list[str] = []
    if facts.decision.outcome != Decision.granted or not facts.decision.level:
        problems.append(LINT_NOT_GRANTED)
    problems += _ballot_problems(facts.ballot)
    if (
        facts.version_status not in (VersionStatus.adopted, VersionStatus.superseded)
        or facts.version_withdrawn
    ):
        problems.append(LINT_VERSION)
    if not _dates_follow_rule(payload, facts):
        problems.append(LINT_DATES)
    elif dt.date.fromisoformat(payload["valid_from"]) > facts.today:
        problems.append(LINT_NOT_YET)
    elif dt.date.fromisoformat(payload["valid_until"]) < facts.today:
        problems.append(LINT_ENDED)
    names = ("organization_name", "product_name", "guideline_title")
    if any(not str(payload.get(name) or "").strip() for name in names):
        problems.append(LINT_NAMES)
    if facts.other_live_for_product:
        problems.append(LINT_PRODUCT_TAKEN)
    stated = payload.get("evidence")
    if (
        not isinstance(stated, list)
        or stated != facts.evidence
        or any(not SHA256.fullmatch(str(item.get("sha256", ""))) for item in stated)
    ):
        problems.append(LINT_EVIDENCE)
    if not _matches_decision(payload, facts.decision):
        problems.append(LINT_PAYLOAD)
    return problems


def _evidence_files(session: Session, application_id: int) -> list[dict[str, str]]:
    """The application's evidence files by name and hash; private ones are named by criterion."""
    rows = session.scalars(
        select(Evidence)
        .where(Evidence.application_id == application_id, Evidence.stored_key.is_not(None))
        .order_by(Evidence.id)
    )
    return [
        {
            "name": e.original_name if e.public else f"{e.criterion_code} #{e.id}",
            "sha256": e.sha256,
        }
        for e in rows
    ]


def load_lint_facts(session: Session, certificate: Certificate, now: dt.datetime) -> LintFacts:
    """The facts the lint weighs for a certificate, read in the current transaction."""
    decision = session.get(ApplicationDecision, certificate.decision_id)
    version = session.get(GuidelineVersion, certificate.guideline_version_id)
    assert decision is not None  # a foreign key
    assert version is not None  # a foreign key
    loader = _ballot_facts[0] if _ballot_facts else None
    others = session.scalars(
        select(Certificate.id).where(
            Certificate.product_id == certificate.product_id,
            Certificate.id != certificate.id,
            Certificate.status.in_(LIVE_CERTIFICATES),
            # The certificate being renewed by this application is superseded on issue.
            (Certificate.renewal_application_id != certificate.application_id)
            | Certificate.renewal_application_id.is_(None),
        )
    ).all()
    return LintFacts(
        decision=decision,
        ballot=loader(session, decision) if loader else None,
        version_status=version.status,
        version_withdrawn=version.withdrawn_at is not None,
        evidence=_evidence_files(session, certificate.application_id),
        other_live_for_product=len(others),
        today=local_date(now),
    )


# Allocation --------------------------------------------------------------------------------


def live_certificate(session: Session, application_id: int) -> Certificate | None:
    """The application's live certificate (issuing, valid or suspended), if it has one."""
    return session.scalar(
        select(Certificate).where(
            Certificate.application_id == application_id,
            Certificate.status.in_(LIVE_CERTIFICATES),
        )
    )


def _next_serial(session: Session, year: int) -> int:
    """The year's next number: the counter row is locked until the transaction ends."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(CertificateCounter).values(year=year, last=0).on_conflict_do_nothing())
    serial = session.scalar(
        update(CertificateCounter)
        .where(CertificateCounter.year == year)
        .values(last=CertificateCounter.last + 1)
        .returning(CertificateCounter.last)
    )
    assert serial is not None
    return int(serial)


def _free_status_index(session: Session) -> int:
    """A random index of the status lists that no certificate holds yet."""
    while True:
        index = secrets.randbelow(STATUS_LIST_SIZE)
        taken = session.scalar(select(Certificate.id).where(Certificate.status_list_index == index))
        if taken is None:
            return index


def _grant_terms(decision: ApplicationDecision) -> tuple[dt.date, dt.date, str]:
    """A grant's validity and level (every granted decision states them)."""
    if decision.valid_from is None or decision.valid_until is None or not decision.level:
        raise Conflict(NOT_GRANTED)
    return decision.valid_from, decision.valid_until, decision.level


def build_payload(
    session: Session,
    *,
    decision: ApplicationDecision,
    application: Application,
    number: str,
    status_list_index: int,
    base_url: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """Every field the certificate states, fixed before anything is signed."""
    organization = session.get(Organization, application.organization_id)
    product = session.get(Product, application.product_id)
    version = session.get(GuidelineVersion, application.guideline_version_id)
    guideline = session.get(Guideline, version.guideline_id) if version else None
    assert organization is not None  # a foreign key
    assert product is not None  # a foreign key
    assert guideline is not None  # a foreign key (and the version's)
    assert version is not None
    base = base_url.rstrip("/")
    valid_from, valid_until, level = _grant_terms(decision)
    return {
        "number": number,
        "organization_name": organization.legal_name,
        "product_name": product.name,
        "product_identifier": product.identifier,
        "level": level,
        "guideline_title": guideline.title_es,
        "guideline_title_en": guideline.title_en,
        "guideline_version": version.number,
        "guideline_url": f"{base}/guidelines/{guideline.slug}/{version.number}",
        "resolution": decision.resolution,
        "decided_on": local_date(decision.decided_at).isoformat(),
        "valid_from": valid_from.isoformat(),
        "valid_until": valid_until.isoformat(),
        "issued_on": local_date(now).isoformat(),
        "verify_url": f"{base}/verify/{number}",
        "evidence": _evidence_files(session, application.id),
        "template_version": TEMPLATE_VERSION,
        "status_list_index": status_list_index,
    }


def allocate_certificate(
    session: Session,
    *,
    decision_id: int,
    base_url: str,
    prefix: str,
    actor: User | None,
    now: dt.datetime,
) -> Certificate:
    """Step 1: give the next number and store the full payload as `issuing` (or return the live
    certificate the application already has)."""
    decision = session.get(ApplicationDecision, decision_id)
    if decision is None:
        raise NotFound()
    existing = live_certificate(session, decision.application_id)
    if existing is not None:
        return existing
    if decision.outcome != Decision.granted:
        raise Conflict(NOT_GRANTED)
    # A decision gives one certificate: once withdrawn, expired or replaced it stays so (only a
    # void number, never signed, may be tried again). A live one that a concurrent request has
    # just committed is left to the unique index, whose loser answers the winner.
    ended = session.scalar(
        select(Certificate.number).where(
            Certificate.decision_id == decision.id,
            Certificate.status.not_in((CertificateStatus.void, *LIVE_CERTIFICATES)),
        )
    )
    if ended is not None:
        raise Conflict(ALREADY_CERTIFIED, number=ended)
    application = session.get(Application, decision.application_id)
    assert application is not None
    year = local_date(now).year
    serial = _next_serial(session, year)
    number = f"{prefix}-{year}-{serial:06d}"
    index = _free_status_index(session)
    payload = build_payload(
        session,
        decision=decision,
        application=application,
        number=number,
        status_list_index=index,
        base_url=base_url,
        now=now,
    )
    valid_from, valid_until, level = _grant_terms(decision)
    certificate = Certificate(
        number=number,
        year=year,
        serial=serial,
        application_id=application.id,
        decision_id=decision.id,
        organization_id=application.organization_id,
        product_id=application.product_id,
        guideline_version_id=application.guideline_version_id,
        level=level,
        status=CertificateStatus.issuing,
        payload=payload,
        template_version=TEMPLATE_VERSION,
        status_list_index=index,
        valid_from=valid_from,
        valid_until=valid_until,
        allocated_at=now,
        status_changed_at=now,
        supersedes_id=session.scalar(
            select(Certificate.id).where(
                Certificate.renewal_application_id == application.id,
                Certificate.status.in_(LIVE_CERTIFICATES),
            )
        ),
    )
    session.add(certificate)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="certificate.allocated",
        object_type="certificate",
        object_id=certificate.number,
        summary={"number": number, "application": application.id, "decision": decision.id},
        now=now,
    )
    return certificate


# Voiding and finishing ---------------------------------------------------------------------


def void_certificate(
    session: Session,
    *,
    certificate: Certificate,
    problems: Sequence[str],
    actor: User | None,
    now: dt.datetime,
) -> None:
    """An `issuing` certificate that must not be signed becomes void; its number stays taken."""
    certificate.status = CertificateStatus.void
    certificate.status_changed_at = now
    # The lint's message ids, translated when shown, in the reader's language.
    certificate.void_reason = json.dumps(list(problems))
    session.flush()
    record_event(
        session,
        actor=actor,
        action="certificate.lint_failed",
        object_type="certificate",
        object_id=certificate.number,
        summary={"number": certificate.number, "errors": list(problems)},
        now=now,
    )
    record_registry_event(
        session,
        kind=RegistryEventKind.voided,
        certificate=certificate,
        public_reason=reason_in_both(VOIDED_REASON),
        now=now,
        details={"number": certificate.number},
    )


def _mail_holders(
    session: Session, certificate: Certificate, *, base_url: str, now: dt.datetime
) -> None:
    for person, role in members_of(session, certificate.organization_id):
        if role != OrgRole.owner:
            continue
        queue_mail(
            session,
            to=person.email,
            template="mail/certificate_issued.txt",
            locale=person.locale,
            context={
                "user_name": person.full_name,
                "number": certificate.number,
                "product": certificate.payload["product_name"],
                "level": LEVEL_LABELS.get(certificate.level, certificate.level),
                "valid_until": certificate.valid_until,
                "link": certificate.payload["verify_url"],
                "pdf_link": f"{base_url.rstrip('/')}/verify/{certificate.number}/certificate.pdf",
            },
            now=now,
        )


def _supersede(session: Session, certificate: Certificate, now: dt.datetime) -> None:
    """The certificate this one renews ends as superseded, by the life cycle's own step."""
    if certificate.supersedes_id is None:
        return
    old = session.get(Certificate, certificate.supersedes_id)
    if old is not None and old.status in (CertificateStatus.valid, CertificateStatus.suspended):
        supersede_certificate(session, certificate=old, by=certificate, now=now)


def mark_issued(
    session: Session,
    *,
    certificate: Certificate,
    pdf: bytes,
    credential: str,
    key_id: str,
    store: FileStore,
    base_url: str,
    actor: User | None,
    now: dt.datetime,
) -> None:
    """Step 4: store the signed PDF with its hash and mark the certificate issued, in public."""
    stored = store.save(
        io.BytesIO(pdf),
        original_name=f"{certificate.number}.pdf",
        max_bytes=MAX_PDF_BYTES,
        session=session,
    )
    certificate.pdf_key = stored.key
    certificate.pdf_sha256 = stored.sha256
    certificate.pdf_size = stored.size
    certificate.key_id = key_id
    certificate.credential = credential
    certificate.issued_at = now
    certificate.status = CertificateStatus.valid
    certificate.status_changed_at = now
    session.flush()
    record_event(
        session,
        actor=actor,
        action="certificate.issued",
        object_type="certificate",
        object_id=certificate.number,
        summary={
            "number": certificate.number,
            "pdf_sha256": stored.sha256,
            "key_id": key_id,
            "application": certificate.application_id,
        },
        now=now,
    )
    resolution = certificate.payload["resolution"]
    record_registry_event(
        session,
        kind=RegistryEventKind.issued,
        certificate=certificate,
        public_reason=reason_in_both(ISSUED_REASON, resolution=resolution),
        now=now,
        resolution=resolution,
        details={"level": certificate.level, "valid_until": certificate.valid_until.isoformat()},
    )
    _supersede(session, certificate, now)
    _mail_holders(session, certificate, base_url=base_url, now=now)


def _locked(session: Session, certificate_id: int) -> Certificate:
    """The certificate row, locked for this transaction where the database locks rows."""
    certificate = session.scalar(
        select(Certificate)
        .where(Certificate.id == certificate_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert certificate is not None
    return certificate


def _actor(session: Session, actor_id: int | None) -> User | None:
    return session.get(User, actor_id) if actor_id is not None else None


def finish_certificate(
    factory: sessionmaker[Session],
    *,
    certificate_id: int,
    keys: CouncilKeys,
    store: FileStore,
    base_url: str,
    actor_id: int | None,
    now: dt.datetime,
) -> Certificate:
    """Steps 2 to 4 for an `issuing` certificate: lint (voiding it on error), sign, store."""
    with open_session(factory, writes=True) as session:
        certificate = _locked(session, certificate_id)
        if certificate.status != CertificateStatus.issuing:
            return certificate
        problems = lint_certificate(certificate.payload, load_lint_facts(session, certificate, now))
        if problems:
            void_certificate(
                session,
                certificate=certificate,
                problems=problems,
                actor=_actor(session, actor_id),
                now=now,
            )
            session.commit()
            return certificate
        payload = dict(certificate.payload)
        session.rollback()  # nothing written: the lint only read
    # Outside any transaction: the slow part, which holds no lock.
    credential = sign_credential(keys, payload, base_url=base_url)
    pdf = signed_certificate(keys, payload, credential)
    with open_session(factory, writes=True) as session:
        certificate = _locked(session, certificate_id)
        if certificate.status != CertificateStatus.issuing or certificate.payload != payload:
            return certificate  # another run finished or voided it meanwhile
        mark_issued(
            session,
            certificate=certificate,
            pdf=pdf,
            credential=credential,
            key_id=keys.kid,
            store=store,
            base_url=base_url,
            actor=_actor(session, actor_id),
            now=now,
        )
        session.commit()
        return certificate


def issue_certificate(
    factory: sessionmaker[Session],
    *,
    decision_id: int,
    keys: CouncilKeys,
    store: FileStore,
    base_url: str,
    prefix: str,
    actor_id: int | None,
    now: dt.datetime,
) -> Certificate:
    """Issue the certificate of a granted decision, or return the one its application has.

    Idempotent: twenty requests at once give one certificate; an `issuing` one is finished.
    """
    with open_session(factory, writes=True) as session:
        try:
            certificate = allocate_certificate(
                session,
                decision_id=decision_id,
                base_url=base_url,
                prefix=prefix,
                actor=_actor(session, actor_id),
                now=now,
            )
            session.commit()
        except IntegrityError:
            # Another request allocated the application's certificate first: take the winner.
            session.rollback()
            decision = session.get(ApplicationDecision, decision_id)
            assert decision is not None
            winner = live_certificate(session, decision.application_id)
            if winner is None:
                raise
            certificate = winner
        certificate_id, status = certificate.id, certificate.status
    if status != CertificateStatus.issuing:
        return certificate
    return finish_certificate(
        factory,
        certificate_id=certificate_id,
        keys=keys,
        store=store,
        base_url=base_url,
        actor_id=actor_id,
        now=now,
    )


def issue_for_application(
    factory: sessionmaker[Session],
    *,
    application_id: int,
    actor: User,
    keys: CouncilKeys,
    store: FileStore,
    base_url: str,
    prefix: str,
    now: dt.datetime,
) -> Certificate:
    """The secretariat issues (or retries) an application's certificate from its latest grant.

    Answers the live certificate the application already has. Raises Forbidden for anyone but
    the secretariat, and Conflict when the application has no granted decision, its
    certificate ended (withdrawn, expired, replaced), or the lint voided it.
    """
    if not actor.has_role(Role.secretariat):
        raise Forbidden()
    with open_session(factory, writes=False) as session:
        if session.get(Application, application_id) is None:
            raise NotFound()
        decision = session.scalar(
            select(ApplicationDecision)
            .where(ApplicationDecision.application_id == application_id)
            .order_by(ApplicationDecision.decided_at.desc(), ApplicationDecision.id.desc())
            .limit(1)
        )
        latest = session.scalar(
            select(Certificate)
            .where(Certificate.application_id == application_id)
            .order_by(Certificate.id.desc())
            .limit(1)
        )
        if decision is None or decision.outcome != Decision.granted:
            raise Conflict(NOT_GRANTED)
        # The rule the decision page's button follows; a live certificate is answered as is.
        if latest is not None and latest.status in (
            CertificateStatus.valid,
            CertificateStatus.suspended,
        ):
            return latest
        if not may_issue_certificate(actor, decision, latest):
            assert latest is not None  # a grant without a certificate may always be issued
            raise Conflict(ALREADY_CERTIFIED, number=latest.number)
        decision_id = decision.id
    certificate = issue_certificate(
        factory,
        decision_id=decision_id,
        keys=keys,
        store=store,
        base_url=base_url,
        prefix=prefix,
        actor_id=actor.id,
        now=now,
    )
    if certificate.status == CertificateStatus.void:
        raise Conflict(NOT_ISSUED)
    return certificate


# The reconciler ----------------------------------------------------------------------------


@dataclass
class ReconcileSummary:
    """What a reconciler run did with the certificates left `issuing`."""

    issued: list[str] = field(default_factory=list)
    voided: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # still issuing: an error to look into


def reconcile_certificates(
    factory: sessionmaker[Session],
    *,
    keys: CouncilKeys,
    store: FileStore,
    base_url: str,
    now: dt.datetime,
) -> ReconcileSummary:
    """Finish (re-lint, render, sign, store) or void every certificate left `issuing`."""
    with open_session(factory, writes=False) as session:
        pending = list(
            session.scalars(
                select(Certificate.id)
                .where(Certificate.status == CertificateStatus.issuing)
                .order_by(Certificate.id)
            )
        )
    summary = ReconcileSummary()
    for certificate_id in pending:
        try:
            done = finish_certificate(
                factory,
                certificate_id=certificate_id,
                keys=keys,
                store=store,
                base_url=base_url,
                actor_id=None,
                now=now,
            )
        except Exception:  # one broken certificate must not stop the others
            summary.failed.append(str(certificate_id))
            continue
        if done.status == CertificateStatus.void:
            summary.voided.append(done.number)
        elif done.status == CertificateStatus.issuing:
            summary.failed.append(done.number)
        else:
            summary.issued.append(done.number)
    return summary


# Reading -----------------------------------------------------------------------------------


# What a certificate number looks like ("MX-CEIA-2026-000123"): anything else names none.
# (The prefix is the setting's: up to 20 capitals, digits and hyphens.)
NUMBER_SHAPE = re.compile(r"[A-Z0-9-]{1,20}-[0-9]{4}-[0-9]{6}")


def is_certificate_number(number: str) -> bool:
    """Whether a text is shaped like a certificate number (checked before any query: a
    database may refuse odd text, such as a NUL byte, with an error of its own)."""
    return NUMBER_SHAPE.fullmatch(number) is not None


def get_certificate(session: Session, number: str) -> Certificate:
    """A certificate by its number (NotFound otherwise)."""
    if not is_certificate_number(number):
        raise NotFound()
    certificate = session.scalar(select(Certificate).where(Certificate.number == number))
    if certificate is None:
        raise NotFound()
    return certificate


def certificate_pdf(store: FileStore, certificate: Certificate) -> bytes:
    """The signed PDF of an issued certificate, as stored (NotFound when it has none)."""
    if certificate.pdf_key is None:
        raise NotFound()
    return store.path_of(certificate.pdf_key).read_bytes()
