"""A year or more of the council's work on top of the demo, to try and measure it at size.

`council demo --scale N` adds, with a fixed seed: N applications spread over every status (one
organisation holds a tenth of them), N confirmed consultation comments on the draft in
consultation, N/10 closed ballots with their resolutions (cast and closed through the council's
own verbs) plus N/100 open ones, and a guideline version of 300 criteria. Rows that carry no rule
of their own (answers, comments, open ballots) are written in bulk, so N = 10,000 loads in minutes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.accounts import Role, User, hash_password
from council import adoption, ballots
from council.demo import adopt_by_ballot
from council.members import members_in_term
from council.models import (
    Ballot,
    BallotRule,
    BallotStatus,
    BallotVoter,
    Position,
    PositionKind,
)
from guidelines import consultation
from guidelines import service as guidelines
from guidelines.documents import VersionDoc, load_version_tree
from guidelines.models import (
    CommenterType,
    ConsultationComment,
    Criterion,
    Guideline,
    GuidelineVersion,
    Principle,
    RiskLevel,
)
from guidelines.schemas import GuidelineInput
from quality_marks.models import (
    Answer,
    AnswerValue,
    Application,
    ApplicationStatus,
    Organization,
    OrganizationMember,
    OrgRole,
    OrgSize,
    OrgVerification,
    Product,
    VerificationMethod,
)

SEED = 20261201
LARGE_SLUG = "escala-300"
LARGE_TITLE = "Guía de escala con 300 criterios"
# Ballots are opened by the demo council's secretary, whose term starts on this day.
FIRST_BALLOT_ON = dt.date(2025, 1, 6)
SECRETARY = "jgarcia@ceia.gob.mx"
SECTORS = ["salud", "finanzas", "educacion", "gobierno", "comercio", "transporte", "energia"]
STATES = ["Ciudad de México", "Jalisco", "Nuevo León", "Puebla", "Yucatán", "Sonora", "Oaxaca"]
WORDS = [
    "transparencia",
    "equidad",
    "sesgo",
    "datos",
    "modelo",
    "supervisión",
    "humana",
    "privacidad",
    "riesgo",
    "auditoría",
    "explicabilidad",
    "robustez",
    "seguridad",
    "consentimiento",
    "trazabilidad",
    "impacto",
    "derechos",
    "evaluación",
]
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ScaleCounts:
    """What a scaled seed added."""

    organizations: int
    products: int
    applications: int
    answers: int
    comments: int
    closed_ballots: int
    open_ballots: int
    criteria: int


def _quiet(_stage: str, _done: int, _total: int) -> None:
    """Progress reports nobody reads."""


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _bulk(session: Session, model: Any, rows: Iterable[dict[str, Any]], chunk: int = 5000) -> int:
    """Insert rows in chunks; returns how many."""
    batch: list[dict[str, Any]] = []
    count = 0
    for row in rows:
        batch.append(row)
        if len(batch) == chunk:
            session.execute(insert(model), batch)
            count += len(batch)
            batch = []
    if batch:
        session.execute(insert(model), batch)
        count += len(batch)
    return count


def _version(session: Session, slug: str, number: str) -> GuidelineVersion:
    version = session.scalar(
        select(GuidelineVersion)
        .join(Guideline)
        .where(Guideline.slug == slug, GuidelineVersion.number == number)
    )
    assert version is not None, f"the demo's version {slug} {number} is missing"
    return version


def seed_scale(
    session: Session, *, scale: int, now: dt.datetime, progress: Progress = _quiet
) -> ScaleCounts:
    """Add `scale` applications and comments and the ballots of that much work to the demo."""
    rng = random.Random(SEED)
    adopted = _version(session, "etica-ia", "1.0")
    draft = _version(session, "etica-ia", "1.1")
    codes = list(
        session.scalars(
            select(Criterion.code).where(Criterion.version_id == adopted.id).order_by(Criterion.id)
        )
    )
    organizations, owners = _seed_organizations(session, scale=scale, now=now, progress=progress)
    products = _seed_products(session, rng, organizations, scale=scale, now=now)
    applications, answers = _seed_applications(
        session, rng, products, owners, adopted, codes, scale=scale, now=now, progress=progress
    )
    comments = _seed_comments(session, rng, draft, scale=scale, now=now, progress=progress)
    closed, opened = _seed_ballots(session, rng, draft, scale=scale, now=now, progress=progress)
    criteria = _seed_large_version(session, rng, now=now)
    session.flush()
    return ScaleCounts(
        organizations=len(organizations),
        products=len(products),
        applications=applications,
        answers=answers,
        comments=comments,
        closed_ballots=closed,
        open_ballots=opened,
        criteria=criteria,
    )


def _seed_organizations(
    session: Session, *, scale: int, now: dt.datetime, progress: Progress
) -> tuple[list[int], dict[int, int]]:
    """Verified companies, each with an owner account (the demo password)."""
    count = max(2, scale // 50)
    password = hash_password("demo-ceia-2026")
    organizations: list[int] = []
    owners: dict[int, int] = {}
    for index in range(count):
        user = User(
            email=f"empresa{index:05d}@escala.example.mx",
            full_name=f"Responsable de cumplimiento {index:05d}",
            role=Role.applicant,
            password_hash=password,
            is_active=True,
            locale="es_MX",
            session_version=1,
            created_at=now,
        )
        organization = Organization(
            legal_name=f"Empresa de Escala {index:05d}, S.A. de C.V.",
            rfc=f"ESC{index:06d}AB{index % 10}",
            address=f"Calle {index}, Centro",
            state=STATES[index % len(STATES)],
            sector=SECTORS[index % len(SECTORS)],
            size=OrgSize.medium,
            contact_name=user.full_name,
            contact_email=user.email,
            created_at=now,
            verification=OrgVerification.verified,
            verification_method=VerificationMethod.domain,
            verification_reason="Generada para pruebas de escala.",
            verified_at=now,
        )
        session.add_all([user, organization])
        session.flush()
        session.add(
            OrganizationMember(
                organization_id=organization.id, user_id=user.id, role=OrgRole.owner, created_at=now
            )
        )
        organizations.append(organization.id)
        owners[organization.id] = user.id
        progress("organisations", index + 1, count)
    return organizations, owners


def _seed_products(
    session: Session, rng: random.Random, organizations: list[int], *, scale: int, now: dt.datetime
) -> list[tuple[int, int]]:
    """Products as (organisation, product) pairs; the first organisation owns a tenth of them."""
    count = max(len(organizations), scale // 10)
    rows = []
    for index in range(count):
        large = index < count // 10
        owner = organizations[0] if large else organizations[index % len(organizations)]
        sector = SECTORS[index % len(SECTORS)]
        rows.append(
            {
                "organization_id": owner,
                "identifier": f"MX-IA-ESC-{index:06d}",
                "name": f"Sistema {rng.choice(WORDS).capitalize()} {index}",
                "version": f"{1 + index % 4}.{index % 10}",
                "intended_purpose": _sentence(rng, 14),
                "sectors": [sector],
                "states": [STATES[index % len(STATES)]],
                "users_affected": _sentence(rng, 8),
                "risk_level": RiskLevel.limited,
                "risk_answers": {"interacts": True},
                "data_description": _sentence(rng, 10),
                "personal_data": index % 2 == 0,
                "legal_basis": "",
                "model_type": "Modelo de clasificación",
                "human_oversight": _sentence(rng, 9),
                "provider": "Proveedor de escala",
                "deployer": "Implementador de escala",
                "created_at": now,
                "updated_at": now,
            }
        )
    _bulk(session, Product, rows)
    return [
        (organization_id, product_id)
        for product_id, organization_id in session.execute(
            select(Product.id, Product.organization_id)
            .where(Product.identifier.like("MX-IA-ESC-%"))
            .order_by(Product.id)
        )
    ]


def _seed_applications(
    session: Session,
    rng: random.Random,
    products: list[tuple[int, int]],
    owners: dict[int, int],
    version: GuidelineVersion,
    codes: list[str],
    *,
    scale: int,
    now: dt.datetime,
    progress: Progress,
) -> tuple[int, int]:
    """`scale` applications over every status, spread over two years, with their answers."""
    # An appeal needs a recorded refusal to appeal against, which the scaled rows do not have.
    statuses = [s for s in ApplicationStatus if s != ApplicationStatus.appealed]
    first_id = (session.scalar(select(Application.id).order_by(Application.id.desc())) or 0) + 1
    rows = []
    for index in range(scale):
        organization_id, product_id = products[index % len(products)]
        status = statuses[index % len(statuses)]
        created = now - dt.timedelta(days=730 * (scale - index) / scale, hours=index % 24)
        submitted = status not in (ApplicationStatus.draft,)
        rows.append(
            {
                "id": first_id + index,
                "organization_id": organization_id,
                "product_id": product_id,
                "guideline_version_id": version.id,
                "risk_level": RiskLevel.limited,
                "status": status,
                "revision": 1,
                "created_by_id": owners[organization_id],
                "created_at": created,
                "updated_at": created + dt.timedelta(days=rng.randint(0, 20)),
                "submitted_at": created + dt.timedelta(days=3) if submitted else None,
                "withdrawn_at": now if status == ApplicationStatus.withdrawn else None,
                "decided_at": now if status == ApplicationStatus.decided else None,
            }
        )
    applications = _bulk(session, Application, rows)
    progress("applications", applications, scale)
    values = [AnswerValue.meets, AnswerValue.partly_meets, AnswerValue.meets]

    def answers() -> Iterable[dict[str, Any]]:
        for row in rows:
            answered = codes if row["status"] != ApplicationStatus.draft else codes[:10]
            for code in answered:
                yield {
                    "application_id": row["id"],
                    "criterion_code": code,
                    "value": rng.choice(values),
                    "justification": _sentence(rng, 12),
                    "answer_public": True,
                    "justification_public": False,
                    "updated_at": row["updated_at"],
                }

    return applications, _bulk(session, Answer, answers())


def _seed_comments(
    session: Session,
    rng: random.Random,
    draft: GuidelineVersion,
    *,
    scale: int,
    now: dt.datetime,
    progress: Progress,
) -> int:
    """Confirmed public comments on the draft in consultation, some hidden."""
    targets = [""]
    targets += session.scalars(select(Principle.code).where(Principle.version_id == draft.id))
    targets += session.scalars(select(Criterion.code).where(Criterion.version_id == draft.id))
    opened = draft.consultation_opened_at or now
    kinds = list(CommenterType)

    def rows() -> Iterable[dict[str, Any]]:
        for index in range(scale):
            sent = opened + (now - opened) * (index / scale)
            hidden = index % 40 == 39
            yield {
                "version_id": draft.id,
                "target_code": targets[index % len(targets)],
                "author_name": f"Persona {index:05d}",
                "email": f"persona{index:05d}@consulta.example.mx",
                "commenter_type": kinds[index % len(kinds)],
                "organisation": "",
                "body": f"**{_sentence(rng, 4)}** {_sentence(rng, 30)}\n\n- {_sentence(rng, 8)}",
                "locale": "es_MX",
                "created_at": sent,
                "confirm_token_hash": hashlib.sha256(f"scale-{index}".encode()).hexdigest(),
                "confirmed_at": sent + dt.timedelta(minutes=5),
                "hidden_at": now if hidden else None,
                "hidden_reason": "Contenido ajeno a la consulta." if hidden else None,
            }

    count = _bulk(session, ConsultationComment, rows())
    # Written past the verbs that keep the page's tallies: counted once, here.
    consultation.recount_tallies(session, draft.id)
    progress("comments", count, scale)
    return count


def _seed_ballots(
    session: Session,
    rng: random.Random,
    draft: GuidelineVersion,
    *,
    scale: int,
    now: dt.datetime,
    progress: Progress,
) -> tuple[int, int]:
    """Closed ballots through the council's verbs (each a resolution), then some open ones."""
    closed = max(1, scale // 10)
    secretary = session.scalar(select(User).where(User.email == SECRETARY))
    assert secretary is not None, "the demo's secretary is missing"
    first = dt.datetime.combine(FIRST_BALLOT_ON, dt.time(16), dt.UTC)
    span = (now - dt.timedelta(days=8)) - first
    for index in range(closed):
        opened_at = first + span * (index / closed)
        _closed_ballot(session, rng, secretary, draft, index, opened_at)
        progress("ballots", index + 1, closed)
    return closed, _open_ballots(session, draft, count=max(1, scale // 100), now=now)


def _closed_ballot(
    session: Session,
    rng: random.Random,
    secretary: User,
    draft: GuidelineVersion,
    index: int,
    opened_at: dt.datetime,
) -> None:
    """One ballot opened, voted by every member in term and closed; the discussion fails it."""
    ballot = ballots.open_ballot(
        session,
        actor=secretary,
        subject_type=adoption.SUBJECT_GUIDELINE_VERSION,
        subject_id=draft.id,
        title_es=f"Consulta de trámite {index + 1}",
        title_en=f"Procedural question {index + 1}",
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=opened_at + dt.timedelta(days=7),
        parties=[],
        terms={},
        now=opened_at,
    )
    voters = {
        v.member_id
        for v in session.scalars(select(BallotVoter).where(BallotVoter.ballot_id == ballot.id))
    }
    for member in members_in_term(session, opened_at.date()):
        if member.id not in voters:
            continue
        user = session.get(User, member.user_id)
        assert user is not None
        kind = rng.choice([PositionKind.discuss, PositionKind.abstain, PositionKind.yes])
        ballots.cast_position(
            session,
            actor=user,
            ballot=ballot,
            kind=PositionKind.discuss if member.id == min(voters) else kind,
            text=_sentence(rng, 10),
            now=opened_at + dt.timedelta(hours=2),
        )
    ballots.close_ballot(
        session, actor=secretary, ballot=ballot, now=opened_at + dt.timedelta(days=7)
    )


def _open_ballots(
    session: Session, draft: GuidelineVersion, *, count: int, now: dt.datetime
) -> int:
    """Open ballots awaiting positions (written directly: the verbs allow one per subject)."""
    secretary_id = session.scalar(select(User.id).where(User.email == SECRETARY))
    members = members_in_term(session, now.date())
    for index in range(count):
        ballot = Ballot(
            subject_type=adoption.SUBJECT_GUIDELINE_VERSION,
            subject_id=draft.id,
            title_es=f"Votación abierta {index + 1}",
            title_en=f"Open ballot {index + 1}",
            rule=BallotRule.simple_majority,
            quorum_percent=50,
            terms={},
            status=BallotStatus.open,
            opened_by_id=secretary_id,
            opened_at=now - dt.timedelta(days=1),
            closes_at=now + dt.timedelta(days=6),
        )
        session.add(ballot)
        session.flush()
        for position, member in enumerate(members):
            session.add(BallotVoter(ballot_id=ballot.id, member_id=member.id, conflict=None))
            if position % 2 == 0:
                session.add(
                    Position(
                        ballot_id=ballot.id,
                        member_id=member.id,
                        kind=PositionKind.yes,
                        text="",
                        cast_at=now - dt.timedelta(hours=3),
                    )
                )
    return count


def _large_document(rng: random.Random) -> VersionDoc:
    """A guideline text of 30 principles with 10 criteria each, in both languages."""

    def text(words: int) -> dict[str, str]:
        return {"es": _sentence(rng, words), "en": _sentence(rng, words)}

    principles = []
    for p in range(30):
        code = "".join(chr(ord("A") + int(d)) for d in f"{p:02d}") + "X"
        criteria = [
            {
                "code": f"{code}-{c + 1}",
                "title": text(5),
                "requirement": text(30),
                "guidance": {"es": f"- {_sentence(rng, 12)}\n- {_sentence(rng, 12)}", "en": ""},
                "evidence": text(10),
                "risk_levels": [level.value for level in RiskLevel],
            }
            for c in range(10)
        ]
        principles.append(
            {"code": code, "title": text(3), "description": text(25), "criteria": criteria}
        )
    return VersionDoc.model_validate(
        {
            "guideline": {"slug": LARGE_SLUG, "title": {"es": LARGE_TITLE, "en": LARGE_TITLE}},
            "number": "1.0",
            "summary": text(20),
            "principles": principles,
        }
    )


def _seed_large_version(session: Session, rng: random.Random, *, now: dt.datetime) -> int:
    """A 300-criterion guideline, drafted and adopted by ballot through the council's verbs."""
    people = {
        user.email: user
        for user in session.scalars(select(User).where(User.email.like("%@ceia.gob.mx")))
    }
    secretariat = people["secretaria@ceia.gob.mx"]
    drafted_at = now - dt.timedelta(days=9)
    document = _large_document(rng)
    guideline = guidelines.create_guideline(
        session,
        actor=secretariat,
        data=GuidelineInput(slug=LARGE_SLUG, title_es=LARGE_TITLE, title_en=LARGE_TITLE),
        now=drafted_at,
    )
    draft = guidelines.get_version(session, slug=guideline.slug, number="1.0", viewer=secretariat)
    guidelines.replace_draft(
        session,
        actor=secretariat,
        version=load_version_tree(session, draft.id),
        document=document,
        expected_revision=None,
        now=drafted_at,
    )
    adopt_by_ballot(
        session,
        version=load_version_tree(session, draft.id),
        people=people,
        opened_at=drafted_at + dt.timedelta(hours=1),
        effective_on=(now - dt.timedelta(days=1)).date(),
        consultation_skipped_reason="Texto generado para medir el sistema a escala.",
    )
    return sum(len(principle.criteria) for principle in document.principles)
