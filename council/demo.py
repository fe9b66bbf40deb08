"""Realistic Spanish demo data for trying the system: people, companies and their applicants."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User, create_user
from core.mail import MailStatus, OutboxMessage
from core.settings import Settings
from core.signing import CouncilKeys, KeysMissing, init_keys, load_keys
from core.storage import FileStore
from council import adoption, ballots
from council.demo_decisions import seed_decisions
from council.demo_guidelines import DEMO_COMMENTS, draft_changes, load_demo_document
from council.demo_quality_marks import seed_quality_marks
from council.demo_reviews import seed_reviews
from council.members import appoint_member, declare_interest
from council.models import BallotRule, InterestType, PositionKind, Seat
from guidelines import consultation
from guidelines import service as guidelines
from guidelines.documents import load_version_tree
from guidelines.models import GuidelineVersion
from guidelines.schemas import GuidelineInput

CONFIRM_LINK = re.compile(r"/consultation/confirm/([A-Za-z0-9_-]+)")

DEMO_PASSWORD = "demo-ceia-2026"

DEMO_PEOPLE: list[tuple[str, str, Role]] = [
    ("admin@ceia.gob.mx", "Administración del sistema", Role.admin),
    ("secretaria@ceia.gob.mx", "Mariana López Ortega", Role.secretariat),
    ("presidencia@ceia.gob.mx", "Dra. Elena Ramírez Cruz", Role.council_member),
    ("jgarcia@ceia.gob.mx", "Mtro. Jorge García Salinas", Role.council_member),
    ("lhernandez@ceia.gob.mx", "Dra. Lucía Hernández Vega", Role.council_member),
    ("rmartinez@ceia.gob.mx", "Dr. Ricardo Martínez Soto", Role.council_member),
    ("amendoza@ceia.gob.mx", "Lic. Ana Mendoza Ríos", Role.council_member),
    ("experta.salud@unam.example.mx", "Dra. Sofía Castillo Núñez", Role.expert),
    ("experto.finanzas@itam.example.mx", "Dr. Tomás Aguilar Reyes", Role.expert),
    ("cumplimiento@datasalud.example.mx", "Paola Jiménez Torres (DataSalud)", Role.applicant),
    ("legal@finintel.example.mx", "Andrés Morales Luna (FinIntel)", Role.applicant),
]


def demo_keys(settings: Settings, *, now: dt.datetime) -> CouncilKeys:
    """The council's keys for the demo: those in `keys_dir`, or a new self-signed demo authority."""
    try:
        return load_keys(settings.keys_dir)
    except KeysMissing:
        return init_keys(settings.keys_dir, council_name=settings.council_name, now=now)


def seed_demo(
    session: Session, *, store: FileStore, base_url: str, now: dt.datetime
) -> list[tuple[str, str]]:
    """Seed an empty database; returns the demo sign-ins, or nothing when data already exists."""
    if session.scalar(select(User.id).limit(1)) is not None:
        return []
    accounts = []
    people: dict[str, User] = {}
    for email, name, role in DEMO_PEOPLE:
        people[email] = create_user(
            session,
            email=email,
            full_name=name,
            role=role,
            password=DEMO_PASSWORD,
            actor=None,
            now=now,
        )
        accounts.append((email, role.value))
    secretariat = people["secretaria@ceia.gob.mx"]
    seed_council(session, secretariat=secretariat, people=people, now=now)
    seed_guidelines(session, secretariat=secretariat, people=people, now=now)
    started = seed_quality_marks(
        session,
        people=people,
        secretariat=secretariat,
        version=guidelines.get_version(session, slug="etica-ia", number="1.0", viewer=None),
        store=store,
        base_url=base_url,
        now=now,
    )
    seed_reviews(
        session,
        secretariat=secretariat,
        people=people,
        applications_by_product=started,
        base_url=base_url,
        now=now,
    )
    seed_decisions(
        session,
        secretariat=secretariat,
        people=people,
        applications_by_product=started,
        base_url=base_url,
        now=now,
    )
    return accounts


CURRENT_TERM = (dt.date(2025, 1, 1), dt.date(2028, 12, 31))
# Four members in term; the fifth served until 2025 and can no longer vote.
DEMO_SEATS: list[tuple[str, Seat, list[str], tuple[dt.date, dt.date]]] = [
    ("presidencia@ceia.gob.mx", Seat.chair, ["derechos humanos", "regulación"], CURRENT_TERM),
    ("jgarcia@ceia.gob.mx", Seat.secretary, ["derecho administrativo"], CURRENT_TERM),
    ("lhernandez@ceia.gob.mx", Seat.member, ["aprendizaje automático", "equidad"], CURRENT_TERM),
    ("rmartinez@ceia.gob.mx", Seat.member, ["salud digital"], CURRENT_TERM),
    (
        "amendoza@ceia.gob.mx",
        Seat.member,
        ["protección de datos"],
        (dt.date(2022, 1, 1), dt.date(2025, 6, 30)),
    ),
]

DEMO_INTERESTS: list[tuple[str, str, str, InterestType, dt.date | None, dt.date | None]] = [
    (
        "rmartinez@ceia.gob.mx",
        "DataSalud Analítica, S.A. de C.V.",
        "DSA180523KL9",
        InterestType.consulting,
        dt.date(2023, 3, 1),
        dt.date(2025, 2, 28),
    ),
    (
        "lhernandez@ceia.gob.mx",
        "Universidad Nacional Autónoma de México",
        "",
        InterestType.employment,
        dt.date(2012, 8, 1),
        None,
    ),
    (
        "experta.salud@unam.example.mx",
        "Hospital General de México",
        "",
        InterestType.collaboration,
        dt.date(2024, 1, 15),
        None,
    ),
]


def seed_council(
    session: Session, *, secretariat: User, people: dict[str, User], now: dt.datetime
) -> None:
    """The council's seats and terms, and some declared interests."""
    for email, seat, areas, (starts_on, ends_on) in DEMO_SEATS:
        appoint_member(
            session,
            actor=secretariat,
            user=people[email],
            seat=seat,
            areas=areas,
            starts_on=starts_on,
            ends_on=ends_on,
            now=now,
        )
    for email, organisation, rfc, kind, since, until in DEMO_INTERESTS:
        declare_interest(
            session,
            actor=people[email],
            organisation=organisation,
            rfc=rfc,
            interest_type=kind,
            starts_on=since,
            ends_on=until,
            note="",
            now=now,
        )


# How the council voted on version 1.0 (every adoption goes through a ballot).
DEMO_VOTES = [
    ("presidencia@ceia.gob.mx", PositionKind.yes, ""),
    ("jgarcia@ceia.gob.mx", PositionKind.yes, ""),
    ("lhernandez@ceia.gob.mx", PositionKind.no_objection, "Sin observaciones adicionales."),
    (
        "rmartinez@ceia.gob.mx",
        PositionKind.abstain,
        "Me abstengo: asesoré a una empresa del sector salud durante la consulta.",
    ),
]


# Version 1.0 predates the consultation procedure; its resolution says so.
FIRST_VERSION_WITHOUT_CONSULTATION = (
    "Primera versión: la redactó el grupo de trabajo que dio origen al Consejo, con foros "
    "públicos, antes de que existiera el procedimiento de consulta pública."
)
# The demo's consultation lasts longer than the default minimum.
CONSULTATION_MIN_DAYS: int = Settings.model_fields["consultation_min_days"].default


def adopt_by_ballot(
    session: Session,
    *,
    version: GuidelineVersion,
    people: dict[str, User],
    opened_at: dt.datetime,
    effective_on: dt.date,
    consultation_skipped_reason: str = "",
) -> None:
    """The secretary opens a ballot on a version, the members vote, it closes into a resolution."""
    secretary = people["jgarcia@ceia.gob.mx"]
    closes_at = opened_at + dt.timedelta(days=7)
    ballot = adoption.open_adoption_ballot(
        session,
        actor=secretary,
        version=version,
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=closes_at,
        effective_on=effective_on,
        consultation_skipped_reason=consultation_skipped_reason,
        now=opened_at,
    )
    for index, (email, kind, text) in enumerate(DEMO_VOTES, start=1):
        ballots.cast_position(
            session,
            actor=people[email],
            ballot=ballot,
            kind=kind,
            text=text,
            now=opened_at + dt.timedelta(days=index),
        )
    ballots.close_ballot(session, actor=secretary, ballot=ballot, now=closes_at)


def seed_guidelines(
    session: Session, *, secretariat: User, people: dict[str, User], now: dt.datetime
) -> None:
    """The adopted guideline 1.0 and a 1.1 draft in public consultation."""
    document = load_demo_document()
    drafted_at = now - dt.timedelta(days=240)
    guideline = guidelines.create_guideline(
        session,
        actor=secretariat,
        data=GuidelineInput(
            slug=document.guideline.slug,
            title_es=document.guideline.title.es,
            title_en=document.guideline.title.en,
        ),
        now=drafted_at,
    )
    first = guidelines.get_version(session, slug=guideline.slug, number="1.0", viewer=secretariat)
    guidelines.replace_draft(
        session,
        actor=secretariat,
        version=first,
        document=document,
        expected_revision=None,
        now=drafted_at,
    )
    adopt_by_ballot(
        session,
        version=first,
        people=people,
        opened_at=now - dt.timedelta(days=200),
        effective_on=(now - dt.timedelta(days=180)).date(),
        consultation_skipped_reason=FIRST_VERSION_WITHOUT_CONSULTATION,
    )
    drafted_at = now - dt.timedelta(days=20)
    second = guidelines.start_new_draft(
        session,
        actor=secretariat,
        guideline=guidelines.get_guideline(session, guideline.slug),
        number="1.1",
        now=drafted_at,
    )
    guidelines.replace_draft(
        session,
        actor=secretariat,
        version=load_version_tree(session, second.id),
        document=draft_changes(document),
        expected_revision=None,
        now=drafted_at,
    )
    opened_at = now - dt.timedelta(days=14)
    guidelines.open_consultation(
        session,
        actor=secretariat,
        version=load_version_tree(session, second.id),
        closes_on=(now + dt.timedelta(days=25)).date(),
        min_days=CONSULTATION_MIN_DAYS,
        now=opened_at,
    )
    seed_comments(session, version=load_version_tree(session, second.id), since=opened_at)


def seed_comments(session: Session, *, version: GuidelineVersion, since: dt.datetime) -> None:
    """Public comments on the draft, each confirmed by its author through the e-mailed link."""
    for index, demo in enumerate(DEMO_COMMENTS, start=1):
        sent_at = since + dt.timedelta(days=index, hours=index)
        consultation.submit_comment(
            session,
            version=version,
            target_code=demo.target_code,
            author_name=demo.author_name,
            email=demo.email,
            commenter_type=demo.commenter_type,
            organisation=demo.organisation,
            body=demo.body,
            locale="es_MX",
            client_ip=f"demo-{index}",
            honeypot="",
            base_url="http://demo.invalid",
            now=sent_at,
        )
        mail = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.to_address == demo.email)
            .order_by(OutboxMessage.id.desc())
        ).first()
        assert mail is not None
        token = CONFIRM_LINK.search(mail.body_text)
        assert token is not None
        # In the story the author received the mail and clicked the link.
        mail.status = MailStatus.sent
        mail.sent_at = sent_at
        consultation.confirm_comment(
            session, token=token.group(1), now=sent_at + dt.timedelta(minutes=7)
        )
