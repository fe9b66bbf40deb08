"""Demo certificates: products granted by ballot whose certificates are valid, suspended,
withdrawn and expired, each reached through the council's own verbs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import User
from core.storage import FileStore
from council.demo_decisions import decide_by_ballot
from council.demo_quality_marks import COMPANIES, NO_RISK, _answer_all, _attach
from council.demo_reviews import GRANT_WITH_MINOR_GAPS, review_application
from guidelines.models import GuidelineVersion
from quality_marks import applications
from quality_marks.models import Application, Organization
from quality_marks.products import create_product
from quality_marks.schemas import ProductInput


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
