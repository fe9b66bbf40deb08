"""Demo certificates: products granted by ballot whose certificates are valid, suspended,
withdrawn and expired, each reached through the council's own verbs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.accounts import User
from core.db import open_session
from core.errors import N_, Conflict
from core.signing import CouncilKeys
from core.storage import FileStore
from council import ballots
from council import certificate_ballots as cb
from council.demo_decisions import decide_by_ballot
from council.demo_quality_marks import COMPANIES, NO_RISK, _answer_all, _attach
from council.demo_reviews import GRANT_WITH_MINOR_GAPS, review_application
from council.members import users_by_id
from council.models import CouncilMember, PositionKind
from council.schemas import CertificateBallotInput, UrgentSuspensionInput
from guidelines.models import GuidelineVersion
from quality_marks import applications
from quality_marks import certificate_lifecycle as lifecycle
from quality_marks.certificate_models import Certificate, CertificateStatus
from quality_marks.certificates import issue_certificate
from quality_marks.decisions import granted_marks_awaiting_certificate
from quality_marks.models import Application, ApplicationDecision, Organization, Product
from quality_marks.products import create_product
from quality_marks.schemas import ProductInput

# The public reasons the demo's ballots state, and the reason code of its withdrawal.
_REASONS = {
    cb.SUBJECT_SUSPENSION: (
        "Una queja documentada indica que el modelo dejó de cumplir el criterio de "
        "explicabilidad; se suspende mientras se revisa.",
        "A documented complaint shows the model no longer meets the explainability criterion; "
        "suspended while it is reviewed.",
    ),
    cb.SUBJECT_WITHDRAWAL: (
        "La revisión confirmó un incumplimiento grave que el titular no corrigió.",
        "The review confirmed a serious nonconformity the holder did not correct.",
    ),
}
# Superseded comes from issuing a renewal (quality_marks/certificates.py), not from here.
DEMO_UNSUPPORTED = N_("The demo takes certificates to valid, suspended, withdrawn or expired.")
URGENT_REASON = (
    "Riesgo inmediato para las personas usuarias: suspensión urgente de la presidencia.",
    "Immediate risk to users: urgent suspension by the chair.",
)


def _vote_and_close(session: Session, *, ballot_id: int, secretary: User, now: dt.datetime) -> None:
    """Every voter not recused says yes; the ballot closes once all have voted."""
    ballot = ballots.get_ballot(session, ballot_id)
    voters = [v for v in ballot.voters if v.conflict is None]
    members = {
        m.id: m
        for m in session.scalars(
            select(CouncilMember).where(CouncilMember.id.in_([v.member_id for v in voters]))
        )
    }
    people = users_by_id(session, [m.user_id for m in members.values()])
    for offset, voter in enumerate(voters):
        ballots.cast_position(
            session,
            actor=people[members[voter.member_id].user_id],
            ballot=ballot,
            kind=PositionKind.yes,
            text="",
            now=now + dt.timedelta(minutes=offset + 1),
        )
    # Recused members count as voted: the ballot may close now.
    ballots.close_ballot(session, actor=secretary, ballot=ballot, now=now + dt.timedelta(hours=1))


def bring_certificate_to(
    session: Session,
    *,
    certificate: Certificate,
    status: CertificateStatus | str,
    secretary: User,
    chair: User | None = None,
    base_url: str = "",
    now: dt.datetime,
) -> Certificate:
    """Take a valid certificate to a status by the council's own verbs (for the demo).

    - valid: nothing to do.
    - suspended: a suspension ballot, voted and closed; with `chair` given, an urgent
      suspension by the chair instead (its confirmation ballot left open).
    - withdrawn: a withdrawal ballot (nonconformity), voted and closed.
    - expired: the daily job at `now`; the certificate's validity must be over by then
      (issue it with a past `valid_until`), since expiry never comes early.
    """
    target = CertificateStatus(status)
    if target == CertificateStatus.valid:
        return certificate
    if target == CertificateStatus.expired:
        lifecycle.expire_certificates(session, now=now)
        if certificate.status != CertificateStatus.expired:
            raise Conflict(lifecycle.NOT_EXPIRED)
        return certificate
    if target == CertificateStatus.suspended and chair is not None:
        es, en = URGENT_REASON
        cb.suspend_urgently(
            session,
            actor=chair,
            number=certificate.number,
            terms=UrgentSuspensionInput(reason_es=es, reason_en=en),
            base_url=base_url,
            now=now,
        )
        return certificate
    kind = {
        CertificateStatus.suspended: cb.SUBJECT_SUSPENSION,
        CertificateStatus.withdrawn: cb.SUBJECT_WITHDRAWAL,
    }.get(target)
    if kind is None:
        raise Conflict(DEMO_UNSUPPORTED)
    es, en = _REASONS[kind]
    ballot = cb.put_certificate_to_ballot(
        session,
        actor=secretary,
        number=certificate.number,
        terms=CertificateBallotInput.model_validate(
            {
                "kind": kind,
                "reason_es": es,
                "reason_en": en,
                "reason_code": "nonconformity" if kind == cb.SUBJECT_WITHDRAWAL else None,
                "closes_on": (now + dt.timedelta(days=7)).date(),
            }
        ),
        base_url=base_url,
        now=now,
    )
    _vote_and_close(session, ballot_id=ballot.id, secretary=secretary, now=now)
    return certificate


@dataclass(frozen=True)
class GrantStory:
    """A demo product taken from application to a granted mark, decided `days_ago`."""

    owner: str
    data: ProductInput
    days_ago: int
    validity_years: int


GRANT_STORIES = [
    # Granted two and a half months ago; the chair later suspends it urgently.
    GrantStory(
        "cumplimiento@datasalud.example.mx",
        ProductInput(
            name="DermaScan",
            version="3.0",
            identifier="MX-IA-DSA-DERMA",
            intended_purpose=(
                "Clasifica fotografías de lesiones de la piel en tres niveles de urgencia para "
                "priorizar la consulta de dermatología; un dermatólogo revisa cada caso."
            ),
            sectors=["salud"],
            states=["Ciudad de México", "Estado de México"],
            users_affected="Pacientes de consulta externa de dermatología (≈ 40 000 al año).",
            risk_answers={**NO_RISK, "essential_services": True},
            data_description="Fotografías clínicas, edad, sexo y fototipo de piel.",
            personal_data=True,
            legal_basis="Consentimiento expreso (datos sensibles de salud, art. 9 LFPDPPP).",
            model_type="Red neuronal convolucional ajustada con imágenes dermatoscópicas",
            human_oversight="Un dermatólogo confirma la urgencia antes de agendar la cita.",
            provider="DataSalud Analítica, S.A. de C.V.",
            deployer="Hospitales de la red Salud Integral",
        ),
        days_ago=75,
        validity_years=2,
    ),
    # Granted four months ago; withdrawn by ballot for misuse of the mark.
    GrantStory(
        "legal@finintel.example.mx",
        ProductInput(
            name="VozSegura",
            version="2.1",
            identifier="MX-IA-FSF-VOZ",
            intended_purpose=(
                "Verifica la identidad de clientes que llaman al centro de atención comparando "
                "su voz con la registrada; si no coincide, pasa la llamada a un agente."
            ),
            sectors=["finanzas"],
            states=["Nuevo León", "Jalisco"],
            users_affected="Clientes que llaman al centro de atención (≈ 300 000 al año).",
            risk_answers={**NO_RISK, "biometrics": True, "interacts": True},
            data_description="Huella de voz y registro de llamadas.",
            personal_data=True,
            legal_basis="Consentimiento expreso para datos biométricos.",
            model_type="Red neuronal de verificación de hablante (x-vectors)",
            human_oversight="Las verificaciones fallidas pasan a un agente humano.",
            provider="FinIntel Servicios Financieros, S.A.P.I. de C.V.",
            deployer="FinIntel Servicios Financieros, S.A.P.I. de C.V.",
        ),
        days_ago=120,
        validity_years=2,
    ),
    # Granted for one year, thirteen months ago: the daily job has expired it.
    GrantStory(
        "cumplimiento@datasalud.example.mx",
        ProductInput(
            name="PrediCama",
            version="1.4",
            identifier="MX-IA-DSA-CAMAS",
            intended_purpose=(
                "Pronostica la ocupación de camas hospitalarias a siete días para planear altas "
                "e ingresos programados; no decide sobre pacientes concretos."
            ),
            sectors=["salud"],
            states=["Jalisco"],
            users_affected="Personal de gestión de camas de 6 hospitales.",
            risk_answers=NO_RISK,
            data_description="Censos diarios de ocupación agregados, sin datos personales.",
            personal_data=False,
            legal_basis="No trata datos personales.",
            model_type="Modelo de series de tiempo (Prophet) con variables de calendario",
            human_oversight="La jefatura de admisión decide las altas y los ingresos.",
            provider="DataSalud Analítica, S.A. de C.V.",
            deployer="Hospital Civil de Guadalajara",
        ),
        days_ago=400,
        validity_years=1,
    ),
]


def _organization_of(session: Session, owner: str) -> Organization:
    return session.scalars(
        select(Organization).where(Organization.rfc == COMPANIES[owner].rfc)
    ).one()


def seed_grants(
    session: Session,
    *,
    people: dict[str, User],
    secretariat: User,
    version: GuidelineVersion,
    store: FileStore,
    base_url: str,
    now: dt.datetime,
) -> dict[str, Application]:
    """Each story's product applies, is reviewed and granted by ballot; by product identifier."""
    granted = {}
    for story in GRANT_STORIES:
        owner = people[story.owner]
        decided = now - dt.timedelta(days=story.days_ago)
        started = decided - dt.timedelta(days=40)
        product = create_product(
            session,
            actor=owner,
            organization_id=_organization_of(session, story.owner).id,
            data=story.data,
            now=started,
        )
        application = applications.start_application(
            session, actor=owner, product_id=product.id, guideline_version=version, now=started
        )
        _answer_all(session, application, owner, started, complete=True)
        _attach(session, application, owner, store, story.data.name, started)
        submitted = started + dt.timedelta(days=3)
        applications.submit_application(
            session, actor=owner, application=application, base_url=base_url, now=submitted
        )
        applications.start_screening(
            session, actor=secretariat, application=application, now=submitted
        )
        applications.accept_application(
            session,
            actor=secretariat,
            application=application,
            base_url=base_url,
            now=submitted + dt.timedelta(days=2),
        )
        review_application(
            session,
            application=application,
            secretariat=secretariat,
            people=people,
            verdict=GRANT_WITH_MINOR_GAPS,
            stages=("submitted", "submitted"),
            base_url=base_url,
            now=submitted + dt.timedelta(days=6),
        )
        decide_by_ballot(
            session,
            secretariat=secretariat,
            people=people,
            application=application,
            proposal="grant",
            reasons="Las revisiones encontraron el sistema conforme, con observaciones menores.",
            conditions="- Entregar el informe de la auditoría externa al concluirla.",
            validity_years=story.validity_years,
            base_url=base_url,
            now=decided - dt.timedelta(days=2),
        )
        granted[story.data.identifier] = application
    return granted


# What the demo does with each granted product's certificate, and how many days ago.
CERTIFICATE_STORIES: dict[str, tuple[CertificateStatus, int]] = {
    "MX-IA-DSA-TRIAJE": (CertificateStatus.valid, 0),
    "MX-IA-DSA-DERMA": (CertificateStatus.suspended, 3),  # urgently, by the chair
    "MX-IA-FSF-VOZ": (CertificateStatus.withdrawn, 20),
    "MX-IA-DSA-CAMAS": (CertificateStatus.expired, 0),  # the day after its last valid day
}


def _people(session: Session, *emails: str) -> list[User]:
    by_email = {u.email: u for u in session.scalars(select(User).where(User.email.in_(emails)))}
    return [by_email[email] for email in emails]


def certify_demo(
    factory: sessionmaker[Session],
    *,
    keys: CouncilKeys,
    store: FileStore,
    base_url: str,
    prefix: str,
    now: dt.datetime,
) -> list[Certificate]:
    """Issue every granted demo mark's signed certificate an hour after its decision, then take
    them to valid, suspended, withdrawn and expired through the council's verbs."""
    with factory() as session:
        granted = [
            (d.id, d.decided_at, identifier)
            for d, identifier in session.execute(
                select(ApplicationDecision, Product.identifier)
                .join(Application, Application.id == ApplicationDecision.application_id)
                .join(Product, Product.id == Application.product_id)
                .where(
                    ApplicationDecision.id.in_(
                        [d.id for d in granted_marks_awaiting_certificate(session)]
                    )
                )
                .order_by(ApplicationDecision.decided_at)
            )
        ]
    issued = {
        identifier: issue_certificate(
            factory,
            decision_id=decision_id,
            keys=keys,
            store=store,
            base_url=base_url,
            prefix=prefix,
            actor_id=None,
            now=decided_at + dt.timedelta(hours=1),
        )
        for decision_id, decided_at, identifier in granted
    }
    with open_session(factory, writes=True) as session:
        secretary, chair = _people(session, "jgarcia@ceia.gob.mx", "presidencia@ceia.gob.mx")
        for identifier, (status, days_ago) in CERTIFICATE_STORIES.items():
            if identifier not in issued:
                continue
            certificate = session.get_one(Certificate, issued[identifier].id)
            when = now - dt.timedelta(days=days_ago)
            if status == CertificateStatus.expired:
                when = dt.datetime.combine(
                    certificate.valid_until + dt.timedelta(days=1), dt.time(12), tzinfo=dt.UTC
                )
            bring_certificate_to(
                session,
                certificate=certificate,
                status=status,
                secretary=secretary,
                chair=chair if status == CertificateStatus.suspended else None,
                base_url=base_url,
                now=when,
            )
        session.commit()
        return list(session.scalars(select(Certificate).order_by(Certificate.id)))
