"""The `council` command line: serve, migrate, create users, seed the demo, verify, send mail."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.orm import Session

from core.accounts import Role, create_user
from core.audit import verify_chain, verify_checkpoints
from core.db import (
    Base,
    make_engine,
    make_sessionmaker,
    open_session,
    reading_session,
    utcnow,
)
from core.documents import forget_old_renders
from core.errors import N_, DomainError, Invalid
from core.i18n import LOCALES, translator
from core.mail import deliver_outbox, start_courier, transport_for
from core.markdown import RENDERER_REVISION, render_stale
from core.schema import upgrade_database
from core.settings import Settings
from core.signing import (
    METADATA_FILE,
    KeysExist,
    KeysInvalid,
    KeysMissing,
    describe_keys,
    init_keys,
    load_keys,
    rotate_credential_key,
)
from core.storage import FileStore
from core.transparency import (
    audit_checkpoints,
    check_log,
    checkpoint_audit,
    checkpoints_of,
    current_tree_head,
    tree_head_document,
    verify_log,
)
from council import decisions as _decisions  # noqa: F401  (registers the lint's ballot facts)
from council.assignment import send_review_reminders
from council.ballots import send_ballot_reminders
from council.certificate_ballots import confirmations_open
from council.demo import DEMO_PASSWORD, demo_keys, seed_demo
from council.demo_certificates import certify_demo
from council.demo_scale import Progress, seed_scale
from quality_marks.certificate_batch import BatchTerms, issue_in_batch
from quality_marks.certificate_lifecycle import (
    CertificateRules,
    run_daily,
    send_expiry_reminders,
)
from quality_marks.certificates import ReconcileSummary, reconcile_certificates
from quality_marks.decisions import granted_marks_awaiting_certificate
from quality_marks.verification import MAX_PDF_BYTES, verify_pdf

# How often the demo's server delivers its outbox, in seconds.
DEMO_MAIL_EVERY_SECONDS = 2.0

app = typer.Typer(help="Command line of the AI ethics council's system.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
mail_app = typer.Typer(help="The mail outbox.", no_args_is_help=True)
ballots_app = typer.Typer(help="Council ballots.", no_args_is_help=True)
reviews_app = typer.Typer(help="Reviews of applications.", no_args_is_help=True)
markdown_app = typer.Typer(help="Stored HTML of Markdown texts.", no_args_is_help=True)
certificates_app = typer.Typer(help="Certificates of the quality mark.", no_args_is_help=True)
keys_app = typer.Typer(help="The council's signing keys.", no_args_is_help=True)
transparency_app = typer.Typer(help="The transparency log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(mail_app, name="mail")
app.add_typer(ballots_app, name="ballots")
app.add_typer(reviews_app, name="reviews")
app.add_typer(markdown_app, name="markdown")
app.add_typer(certificates_app, name="certificates")
app.add_typer(keys_app, name="keys")
app.add_typer(transparency_app, name="transparency")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Run the web service with uvicorn, first finishing any certificate a crash left unfinished."""
    settings = Settings()
    if (settings.keys_dir / METADATA_FILE).exists():  # no keys yet: nothing could be signed
        _reconcile(settings)
    trusted = settings.trusted_proxies.strip()
    uvicorn.run(
        "council.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # Forwarded headers say who the client is; only a proxy we run may say it.
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply the Alembic migrations to DATABASE_URL."""
    url = Settings().database_url
    upgrade_database(url, revision)
    typer.echo(f"Database at {revision}.")
    if revision == "head":  # an older schema may lack the columns the HTML is stored in
        _render_markdown(url)
        _forget_old_renders(url)


def _render_markdown(url: str) -> None:
    """Store the HTML of every Markdown text never rendered or rendered by an older revision."""
    engine = make_engine(url)
    with open_session(make_sessionmaker(engine), writes=True) as session:
        counts = render_stale(session, Base)
        session.commit()
    engine.dispose()
    done = ", ".join(f"{model} {count}" for model, count in counts.items() if count) or "none"
    typer.echo(f"Markdown rendered (renderer revision {RENDERER_REVISION}): {done}.")


def _forget_old_renders(url: str) -> None:
    """Drop the stored documents drawn by templates this code no longer has."""
    engine = make_engine(url)
    with open_session(make_sessionmaker(engine), writes=True) as session:
        count = forget_old_renders(session)
        session.commit()
    engine.dispose()
    typer.echo(f"Stored renders of older templates removed: {count}.")


@markdown_app.command("render")
def markdown_render() -> None:
    """(Re)render every stored Markdown text whose HTML is missing or from an older revision."""
    _render_markdown(Settings().database_url)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="E-mail address (the sign-in name).")],
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[Role, typer.Option(help="Role of the account.")],
    password: Annotated[
        str | None, typer.Option(help="Password; asked for when omitted.", show_default=False)
    ] = None,
) -> None:
    """Create an account with a password."""
    if password is None:
        password = getpass.getpass("Password: ")
    engine = make_engine(Settings().database_url)
    with open_session(make_sessionmaker(engine), writes=True) as session:
        try:
            user = create_user(
                session,
                email=email,
                full_name=name,
                role=role,
                password=password,
                actor=None,
                now=utcnow(),
            )
        except DomainError as error:
            fields: dict[str, str] = getattr(error, "fields", {})
            details = "; ".join(f"{name}: {msg % error.params}" for name, msg in fields.items())
            typer.echo(f"Error: {error} {details}".strip(), err=True)
            raise typer.Exit(1) from error
        session.commit()
        typer.echo(f"Created {user.email} ({user.role.value}).")


@app.command()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the web service afterwards.")
    ] = False,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8000,
    scale: Annotated[
        int,
        typer.Option(
            help="Also add this many applications and comments, with the ballots of that much "
            "work and a 300-criterion guideline (e.g. 10000; takes minutes).",
            min=0,
        ),
    ] = 0,
) -> None:
    """Migrate an empty database and seed it with realistic Spanish demo data."""
    settings = Settings()
    upgrade_database(settings.database_url)
    _render_markdown(settings.database_url)
    keys = demo_keys(settings, now=utcnow())
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    store = FileStore(settings.storage_dir)
    with open_session(factory, writes=True) as session:
        now = utcnow()
        accounts = seed_demo(session, store=store, base_url=settings.base_url, now=now)
        if accounts and scale:
            counts = seed_scale(session, scale=scale, now=now, progress=_progress_bar())
            typer.echo(f"\nAdded at scale {scale}: {counts}")
        session.commit()
    if accounts:
        certified = certify_demo(
            factory,
            keys=keys,
            store=store,
            base_url=settings.base_url,
            prefix=settings.certificate_prefix,
            now=now,
        )
        for certificate in certified:
            typer.echo(f"Certificate {certificate.number}: {certificate.status.value}")
    engine.dispose()
    if accounts:
        typer.echo(f"Demo data loaded. Demo sign-ins (password for all: {DEMO_PASSWORD}):")
        for email, role in accounts:
            typer.echo(f"  {role:<15} {email}")
    else:
        typer.echo("The database already holds data; demo data was not loaded again.")
    url = f"http://127.0.0.1:{port}/"
    if serve_after:
        _demo_courier()
        typer.echo(f"Serving on {url}")
        serve(host="127.0.0.1", port=port, workers=1)
    else:
        typer.echo(f"Start the service with `council serve` and open {url}")


def _demo_courier() -> None:
    """Deliver the demo's mail as it is written: to .eml files unless MAIL_BACKEND says else."""
    if "mail_backend" not in Settings().model_fields_set:
        os.environ["MAIL_BACKEND"] = "file"
    settings = Settings()
    start_courier(
        make_sessionmaker(make_engine(settings.database_url)),
        transport=transport_for(settings),
        max_attempts=settings.mail_max_attempts,
        every=DEMO_MAIL_EVERY_SECONDS,
        clock=utcnow,
    )
    if settings.mail_backend == "file":
        typer.echo(f"Mail is written to {settings.mail_dir.resolve()} (one .eml file a message).")
    else:
        typer.echo(f"Mail is delivered by {settings.mail_backend} as it is written.")


def _progress_bar() -> Progress:
    """A one-line progress report per stage of a long seed."""
    shown: dict[str, int] = {}

    def report(stage: str, done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        if shown.get(stage) != percent:
            shown[stage] = percent
            typer.echo(f"\r{stage:<14} {done:>7}/{total:<7} {percent:>3}%", nl=False)
            if done >= total:
                typer.echo("")

    return report


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit hash chain and name the first broken event. The transparency log's
    checkpoints catch a chain truncated or recomputed, and the log is recomputed too."""
    engine = make_engine(Settings().database_url)
    with open_session(make_sessionmaker(engine), writes=False) as session:
        checked, broken = verify_chain(session)
        cut = verify_checkpoints(session, checkpoints_of(audit_checkpoints(session)))
        log_problems = verify_log(session)
    if broken:
        typer.echo(
            f"Audit chain BROKEN at event {broken.event_id}: {broken.reason} "
            f"({checked} events before it are intact).",
            err=True,
        )
    elif cut:
        typer.echo(
            f"Audit chain BROKEN at event {cut.event_id}: {cut.reason}; "
            "the transparency log recorded it.",
            err=True,
        )
    for problem in log_problems:
        typer.echo(f"Transparency log BROKEN at {problem.where}: {problem.reason}.", err=True)
    if broken or cut or log_problems:
        raise typer.Exit(1)
    typer.echo(
        f"Audit chain intact: {checked} events verified. "
        "Every checkpoint in the transparency log matches."
    )


@transparency_app.command("checkpoint")
def transparency_checkpoint() -> None:
    """The daily checkpoint: append the audit chain's head to the log and sign a tree head."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    with open_session(make_sessionmaker(engine), writes=True) as session:
        _checkpoint(session, settings)


def _checkpoint(session: Session, settings: Settings) -> None:
    now = utcnow()
    leaf = checkpoint_audit(session, now=now)
    # Committed before the head is signed: the head is signed in a transaction of its own.
    session.commit()
    # Read beside the writing session: on SQLite it holds the write lock the signing needs.
    with reading_session(session) as reader:
        head = current_tree_head(reader, load_keys(settings.keys_dir), now=now)
    added = "appended" if leaf is not None else "already in the log"
    typer.echo(f"Audit checkpoint {added}; tree head signed at size {head.tree_size}.")


@transparency_app.command("sth")
def transparency_sth() -> None:
    """Print the current signed tree head as JSON (keep it to check the log later)."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    # A reading session: the head, when one is due, is signed in a short writing one of its own.
    with open_session(make_sessionmaker(engine), writes=False) as session:
        head = current_tree_head(session, load_keys(settings.keys_dir), now=utcnow())
        typer.echo(json.dumps(tree_head_document(head), sort_keys=True))


@transparency_app.command("verify")
def transparency_verify(
    certificate: Annotated[
        str | None, typer.Option(help="A certificate number whose events must be in the log.")
    ] = None,
    from_sth: Annotated[
        Path | None,
        typer.Option(help="A tree head saved earlier (JSON) the current one must extend."),
    ] = None,
) -> None:
    """Check the current tree head's signature, that it extends an earlier one, and a
    certificate's inclusion; exit 0 only when every check passes."""
    settings = Settings()
    try:
        keys = load_keys(settings.keys_dir)
        earlier = json.loads(from_sth.read_text()) if from_sth is not None else None
    except (KeysMissing, OSError, ValueError) as error:
        typer.echo(f"{error}", err=True)
        raise typer.Exit(2) from None
    engine = make_engine(settings.database_url)
    with open_session(make_sessionmaker(engine), writes=False) as session:
        head = current_tree_head(session, keys, now=utcnow())
        results = check_log(session, keys, head=head, earlier=earlier, certificate=certificate)
    for passed, message in results:
        typer.echo(f"[{'PASS' if passed else 'FAIL'}] {message}")
    if not all(passed for passed, _ in results):
        raise typer.Exit(1)


@mail_app.command("send")
def mail_send() -> None:
    """Deliver pending outbox messages (MAIL_BACKEND), retrying failures later."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    with open_session(make_sessionmaker(engine), writes=True) as session:
        report = deliver_outbox(
            session,
            smtp=transport_for(settings),
            now=utcnow(),
            max_attempts=settings.mail_max_attempts,
        )
    for problem in report.problems:
        outcome = "failed" if problem.given_up else "will retry"
        typer.echo(
            f"#{problem.message_id} {problem.to_address} ({problem.template}), {outcome}: "
            f"{problem.reason}"
        )
    typer.echo(
        f"Sent {report.sent}, to retry {report.retried}, failed {report.failed} "
        f"(backend: {settings.mail_backend})."
    )
    if report.failed:
        raise typer.Exit(1)


@ballots_app.command("remind")
def ballots_remind() -> None:
    """Queue reminders to members who have not voted on ballots closing within a day."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    with open_session(make_sessionmaker(engine), writes=True) as session:
        queued = send_ballot_reminders(session, base_url=settings.base_url, now=utcnow())
        session.commit()
    typer.echo(f"Queued {queued} reminders; `council mail send` delivers them.")


@reviews_app.command("remind")
def reviews_remind() -> None:
    """Queue reminders to reviewers whose reviews are due within a day or overdue."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    with open_session(make_sessionmaker(engine), writes=True) as session:
        queued = send_review_reminders(session, base_url=settings.base_url, now=utcnow())
        session.commit()
    typer.echo(f"Queued {queued} review reminders; `council mail send` delivers them.")


# How the command marks each check (upper case, so a reader's eye finds the failures).
PASSED = N_("PASS")
FAILED = N_("FAIL")


@certificates_app.command("verify")
def certificates_verify(
    file: Annotated[Path, typer.Argument(help="The certificate PDF to check.", dir_okay=False)],
    language: Annotated[
        str | None, typer.Option(help=f"Language of the explanations: {', '.join(LOCALES)}.")
    ] = None,
) -> None:
    """Check a certificate PDF as the /verify page does; exit 0 only when every check passes."""
    settings = Settings()
    tr = translator(language if language in LOCALES else settings.default_locale)
    try:
        keys = load_keys(settings.keys_dir)
        with file.open("rb") as handle:
            data = handle.read(MAX_PDF_BYTES + 1)
    except (KeysMissing, OSError) as error:
        typer.echo(f"{error}", err=True)
        raise typer.Exit(2) from None
    engine = make_engine(settings.database_url)
    with open_session(make_sessionmaker(engine), writes=False) as session:
        try:
            result = verify_pdf(session, keys, data, now=utcnow())
        except Invalid as error:
            typer.echo(tr.gettext(error.message, **error.params), err=True)
            raise typer.Exit(2) from None
    for check in result.checks:
        mark = tr.gettext(PASSED if check.passed else FAILED)
        typer.echo(f"[{mark}] {tr.gettext(check.title)}: {check.explain(tr)}")
    typer.echo(tr.gettext(result.summary))
    if not result.passed:
        raise typer.Exit(1)


def _reconcile(settings: Settings) -> ReconcileSummary:
    """Finish or void the certificates left `issuing`, and say what became of them."""
    engine = make_engine(settings.database_url)
    summary = reconcile_certificates(
        make_sessionmaker(engine),
        keys=load_keys(settings.keys_dir),
        store=FileStore(settings.storage_dir),
        base_url=settings.base_url,
        now=utcnow(),
    )
    engine.dispose()
    typer.echo(
        f"Certificates left unfinished: {len(summary.issued)} issued, "
        f"{len(summary.voided)} voided, {len(summary.failed)} still failing."
    )
    for number in summary.voided:
        typer.echo(f"  voided {number}")
    for number in summary.failed:
        typer.echo(f"  FAILED {number}", err=True)
    return summary


@certificates_app.command("reconcile")
def certificates_reconcile() -> None:
    """Finish (lint, sign, store) or void every certificate a crash left being issued."""
    if _reconcile(Settings()).failed:
        raise typer.Exit(1)


@certificates_app.command("issue")
def certificates_issue(
    workers: Annotated[
        int, typer.Option(help="Processes that render and sign (0: one per core).", min=0)
    ] = 0,
) -> None:
    """Issue the certificate of every granted mark that has never had one, oldest first."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    with open_session(make_sessionmaker(engine), writes=False) as session:
        waiting = [d.id for d in granted_marks_awaiting_certificate(session)]
    engine.dispose()
    load_keys(settings.keys_dir)  # missing keys stop the batch before any number is given
    terms = BatchTerms(
        database_url=settings.database_url,
        keys_dir=settings.keys_dir,
        storage_dir=settings.storage_dir,
        base_url=settings.base_url,
        prefix=settings.certificate_prefix,
        now=utcnow(),
    )
    counts: dict[str, int] = {}
    for outcome in issue_in_batch(waiting, terms=terms, workers=workers or None):
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        typer.echo(f"{outcome.number or '-'} {outcome.status} {outcome.refused}".rstrip())
    typer.echo(f"Granted marks taken up: {len(waiting)} {counts}")


def _password(variable: str | None) -> bytes | None:
    """A password from the environment variable named, or typed at a prompt; never from argv."""
    if variable:
        value = os.environ.get(variable)
        if value is None:
            typer.echo(f"Error: the environment variable {variable} is not set.", err=True)
            raise typer.Exit(1)
    else:
        value = getpass.getpass("Password of the certificate's key (empty for none): ")
    return value.encode() if value else None


def _show_keys(keys_dir: Path) -> None:
    summary = describe_keys(load_keys(keys_dir))
    typer.echo(f"Keys in {keys_dir}")
    typer.echo(f"  Credential key (kid): {summary.kid}")
    for kid in summary.kids:
        if kid != summary.kid:
            typer.echo(f"  Retired, still published: {kid}")
    typer.echo(f"  PDF signer: {summary.signer}")
    typer.echo(f"  Issued by: {summary.signer_issuer}")
    typer.echo(f"  Signer certificate expires: {summary.signer_expires_at:%Y-%m-%d %H:%M} UTC")
    for authority in summary.authorities:
        typer.echo(f"  Trusted authority: {authority}")


@keys_app.command("init")
def keys_init(
    pkcs12: Annotated[
        Path | None,
        typer.Option(help="PKCS#12 file (.p12, .pfx) with the council's certificate and key."),
    ] = None,
    certificate: Annotated[
        Path | None,
        typer.Option(help="The council's certificate, PEM or DER (the e.firma's .cer file)."),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(help="Its private key, PEM or DER PKCS#8 (the e.firma's .key file)."),
    ] = None,
    password_env: Annotated[
        str | None,
        typer.Option(
            help="Name of the environment variable holding the password of the PKCS#12 file "
            "or key; asked for when omitted."
        ),
    ] = None,
) -> None:
    """Create the council's keys: a demo authority, or the council's own certificate imported."""
    settings = Settings()
    if pkcs12 is not None and (certificate is not None or key is not None):
        typer.echo("Error: give either --pkcs12 or --certificate with --key.", err=True)
        raise typer.Exit(1)
    imported = pkcs12 is not None or key is not None or certificate is not None
    password = _password(password_env) if imported else None
    try:
        init_keys(
            settings.keys_dir,
            council_name=settings.council_name,
            now=utcnow(),
            pkcs12=pkcs12,
            pkcs12_password=password,
            certificate=certificate,
            private_key=key,
            key_password=password,
        )
    except (KeysExist, KeysInvalid, OSError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from error
    if not imported:
        typer.echo("Created a self-signed demo authority: its PDFs are not legally signed.")
    _show_keys(settings.keys_dir)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Make a new credential key current; old ones stay published so their credentials verify."""
    settings = Settings()
    try:
        keys = rotate_credential_key(settings.keys_dir, now=utcnow())
    except KeysMissing as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"New credential key: {keys.kid}")
    typer.echo("Restart the service to sign with it; the old keys stay in the published set.")


@keys_app.command("show")
def keys_show() -> None:
    """Show the credential key ids, the PDF signer, its authority and when it expires."""
    try:
        _show_keys(Settings().keys_dir)
    except KeysMissing as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from error


@certificates_app.command("expire")
def certificates_expire() -> None:
    """The daily job: expire certificates, lapse unconfirmed urgent suspensions, send reminders."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    with open_session(make_sessionmaker(engine), writes=True) as session:
        run = run_daily(
            session,
            base_url=settings.base_url,
            confirming=confirmations_open(session),
            now=utcnow(),
            rules=CertificateRules.from_settings(settings),
        )
        session.commit()
        # The day's audit checkpoint rides on the daily job.
        _checkpoint(session, settings)
    typer.echo(
        f"Expired {run.expired}, urgent suspensions lapsed {run.lapsed}, "
        f"reminders queued {run.reminders}; `council mail send` delivers them."
    )


@certificates_app.command("remind")
def certificates_remind() -> None:
    """Queue the expiry reminders due (90 and 30 days before), once each."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    with open_session(make_sessionmaker(engine), writes=True) as session:
        queued = send_expiry_reminders(
            session,
            base_url=settings.base_url,
            now=utcnow(),
            rules=CertificateRules.from_settings(settings),
        )
        session.commit()
    typer.echo(f"Queued {queued} expiry reminders; `council mail send` delivers them.")
