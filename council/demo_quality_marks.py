"""Demo companies, products and applications in several states, with small evidence files."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.accounts import User
from core.pdf import render_pdf
from core.storage import FileStore
from guidelines.models import GuidelineVersion
from quality_marks import applications
from quality_marks.models import AnswerValue, Application, OrgSize, VerificationMethod
from quality_marks.organizations import register_organization, verify_organization
from quality_marks.products import create_product
from quality_marks.schemas import AnswerInput, OrganizationInput, ProductInput

MAX_DEMO_FILE = 5 * 1024 * 1024

COMPANIES = {
    "cumplimiento@datasalud.example.mx": OrganizationInput(
        legal_name="DataSalud Analítica, S.A. de C.V.",
        rfc="DSA180523KL9",
        address="Av. Insurgentes Sur 1602, piso 9, Crédito Constructor, Benito Juárez, 03940",
        state="Ciudad de México",
        sector="salud",
        size=OrgSize.medium,
        contact_name="Paola Jiménez Torres",
        contact_email="cumplimiento@datasalud.example.mx",
        contact_phone="+52 55 5555 0142",
        website="https://datasalud.example.mx",
    ),
    "legal@finintel.example.mx": OrganizationInput(
        legal_name="FinIntel Servicios Financieros, S.A.P.I. de C.V.",
        rfc="FSF190312QX4",
        address="Av. Ricardo Margáin Zozaya 444, Valle del Campestre, San Pedro Garza García",
        state="Nuevo León",
        sector="finanzas",
        size=OrgSize.large,
        contact_name="Andrés Morales Luna",
        contact_email="legal@finintel.example.mx",
        contact_phone="+52 81 5555 0199",
        website="https://finintel.example.mx",
    ),
}

NO_RISK = {
    "essential_services": False,
    "rights_and_safety": False,
    "biometrics": False,
    "interacts": False,
    "emotions": False,
}


@dataclass(frozen=True)
class DemoProduct:
    """A demo AI product and how far its application goes."""

    owner: str
    data: ProductInput
    stage: str  # draft | submitted | under_review


PRODUCTS = [
    DemoProduct(
        "cumplimiento@datasalud.example.mx",
        ProductInput(
            name="TriajeIA",
            version="2.3",
            identifier="MX-IA-DSA-TRIAJE",
            intended_purpose=(
                "Apoya al personal de urgencias a priorizar la atención según la gravedad estimada "
                "a partir de signos vitales y motivo de consulta. La decisión final es del médico."
            ),
            sectors=["salud"],
            states=["Ciudad de México", "Jalisco", "Nuevo León"],
            users_affected="Pacientes de urgencias de 14 hospitales privados (≈ 220 000 al año).",
            risk_answers={**NO_RISK, "essential_services": True},
            data_description="Signos vitales, edad, sexo, motivo de consulta y antecedentes.",
            personal_data=True,
            legal_basis="Consentimiento expreso (datos sensibles de salud, art. 9 LFPDPPP).",
            model_type="Gradient boosting (XGBoost) con reglas clínicas de seguridad",
            human_oversight="El médico de triaje confirma o corrige cada prioridad asignada.",
            provider="DataSalud Analítica, S.A. de C.V.",
            deployer="Hospitales de la red Salud Integral",
        ),
        "under_review",
    ),
    DemoProduct(
        "cumplimiento@datasalud.example.mx",
        ProductInput(
            name="Agenda Inteligente",
            version="1.0",
            identifier="MX-IA-DSA-AGENDA",
            intended_purpose="Asistente conversacional para agendar y reprogramar citas médicas.",
            sectors=["salud"],
            states=["Ciudad de México"],
            users_affected="Pacientes que solicitan citas por WhatsApp o en el sitio web.",
            risk_answers={**NO_RISK, "interacts": True},
            data_description="Nombre, teléfono, especialidad y horario solicitados.",
            personal_data=True,
            legal_basis="Consentimiento tácito mediante aviso de privacidad integral.",
            model_type="Modelo de lenguaje con recuperación de información sobre la agenda",
            human_oversight="Las cancelaciones y casos no resueltos pasan a recepción.",
            provider="DataSalud Analítica, S.A. de C.V.",
            deployer="Clínica Salud Integral Del Valle",
        ),
        "draft",
    ),
    DemoProduct(
        "legal@finintel.example.mx",
        ProductInput(
            name="ScoreMX",
            version="4.1",
            identifier="MX-IA-FSF-SCORE",
            intended_purpose=(
                "Estima la probabilidad de impago de solicitudes de crédito personal y propone "
                "una línea de crédito; un analista aprueba las solicitudes de montos altos."
            ),
            sectors=["finanzas"],
            states=["Nuevo León", "Jalisco", "Ciudad de México", "Puebla", "Yucatán"],
            users_affected="Solicitantes de crédito personal (≈ 1.2 millones al año).",
            risk_answers={**NO_RISK, "essential_services": True},
            data_description="Historial crediticio, ingresos declarados, empleo y pagos.",
            personal_data=True,
            legal_basis="Relación contractual y consulta autorizada al buró de crédito.",
            model_type="Regresión logística regularizada y árboles de decisión",
            human_oversight="Revisión humana obligatoria de rechazos y montos sobre $150,000.",
            provider="FinIntel Servicios Financieros, S.A.P.I. de C.V.",
            deployer="FinIntel Servicios Financieros, S.A.P.I. de C.V.",
        ),
        "submitted",
    ),
    DemoProduct(
        "legal@finintel.example.mx",
        ProductInput(
            name="CobranzaBot",
            version="1.2",
            identifier="MX-IA-FSF-COBRANZA",
            intended_purpose=(
                "Decide el canal, el horario y el tono de los recordatorios de pago a clientes "
                "con atraso, y propone planes de pago; los casos de más de 90 días pasan a un "
                "gestor humano."
            ),
            sectors=["finanzas"],
            states=["Nuevo León", "Coahuila", "Tamaulipas"],
            users_affected="Clientes con pagos atrasados (≈ 85 000 al año).",
            risk_answers={**NO_RISK, "interacts": True, "essential_services": True},
            data_description="Historial de pagos, datos de contacto y respuestas a recordatorios.",
            personal_data=True,
            legal_basis="Relación contractual (art. 10 fr. IV LFPDPPP).",
            model_type="Aprendizaje por refuerzo sobre un modelo de respuesta a recordatorios",
            human_oversight="Un gestor revisa cada plan de pago antes de ofrecerlo.",
            provider="FinIntel Servicios Financieros, S.A.P.I. de C.V.",
            deployer="FinIntel Servicios Financieros, S.A.P.I. de C.V.",
        ),
        "under_review",
    ),
    DemoProduct(
        "legal@finintel.example.mx",
        ProductInput(
            name="DetectaFraude",
            version="3.0",
            identifier="MX-IA-FSF-FRAUDE",
            intended_purpose=(
                "Señala operaciones con tarjeta posiblemente fraudulentas para que un analista "
                "las bloquee o las libere."
            ),
            sectors=["finanzas", "seguros"],
            states=["Ciudad de México", "Nuevo León"],
            users_affected="Titulares de tarjetas de crédito y débito (≈ 2 millones).",
            risk_answers={**NO_RISK, "essential_services": True},
            data_description="Operaciones con tarjeta: monto, comercio, lugar, hora y dispositivo.",
            personal_data=True,
            legal_basis="Relación contractual y prevención de fraude (art. 10 LFPDPPP).",
            model_type="Bosques de aislamiento y redes neuronales sobre secuencias de operaciones",
            human_oversight="Ningún bloqueo definitivo sin la confirmación de un analista.",
            provider="FinIntel Servicios Financieros, S.A.P.I. de C.V.",
            deployer="FinIntel Servicios Financieros, S.A.P.I. de C.V.",
        ),
        "under_review",
    ),
    DemoProduct(
        "cumplimiento@datasalud.example.mx",
        ProductInput(
            name="LectorRx",
            version="0.9",
            identifier="MX-IA-DSA-LECTORRX",
            intended_purpose=(
                "Señala hallazgos probables en radiografías de tórax para que el radiólogo los "
                "revise primero; no emite diagnósticos."
            ),
            sectors=["salud"],
            states=["Jalisco"],
            users_affected="Pacientes de radiología de dos hospitales (≈ 40 000 estudios al año).",
            risk_answers={**NO_RISK, "essential_services": True},
            data_description="Radiografías de tórax anonimizadas, edad y sexo.",
            personal_data=True,
            legal_basis="Consentimiento expreso (datos sensibles de salud, art. 9 LFPDPPP).",
            model_type="Red neuronal convolucional (DenseNet) con mapas de atención",
            human_oversight="El radiólogo interpreta todos los estudios, marcados o no.",
            provider="DataSalud Analítica, S.A. de C.V.",
            deployer="Hospital Civil de Guadalajara (piloto)",
        ),
        "under_review",
    ),
]

# Answers other than "meets", by criterion code; the rest meet with a generic justification.
EXCEPTIONS: dict[str, tuple[AnswerValue, str]] = {
    "DM-2": (
        AnswerValue.partly_meets,
        "El aviso está en español y náhuatl; la traducción al maya y al tsotsil está contratada "
        "con entrega en marzo de 2027.",
    ),
    "RC-3": (
        AnswerValue.partly_meets,
        "La auditoría externa de 2026 está en curso; se adjunta el contrato y el plan de trabajo.",
    ),
    "DM-4": (
        AnswerValue.not_applicable,
        "El sistema no usa datos de comunidades indígenas como fuente de entrenamiento.",
    ),
}


def _evidence_pdf(product: str, title: str) -> bytes:
    html = (
        f'<html lang="es-MX"><head><title>{title}</title></head><body>'
        f"<h1>{title}</h1><p>Producto: {product}</p>"
        "<p>Documento de demostración del sistema del Consejo de Ética de IA.</p></body></html>"
    )
    return render_pdf(html)


def _answer_all(
    session: Session,
    application: Application,
    owner: User,
    now: dt.datetime,
    *,
    complete: bool,
) -> None:
    items = applications.checklist(session, application)
    if not complete:
        items = items[: len(items) // 3]
    answers = {}
    for item in items:
        code = item.criterion.code
        value, text = EXCEPTIONS.get(
            code,
            (
                AnswerValue.meets,
                f"Se cumple: {item.criterion.title_es}. Ver la evidencia adjunta y el manual de "
                "operación del sistema.",
            ),
        )
        answers[code] = AnswerInput(
            value=value, justification=text, answer_public=True, justification_public=code < "M"
        )
    applications.save_answers(
        session, actor=owner, application=application, answers=answers, now=now
    )


def _attach(
    session: Session,
    application: Application,
    owner: User,
    store: FileStore,
    product: str,
    now: dt.datetime,
) -> None:
    files = [
        (
            "TR-1",
            "ficha_tecnica_del_modelo.pdf",
            _evidence_pdf(product, "Ficha técnica del modelo"),
            True,
        ),
        (
            "EQ-1",
            "pruebas_de_sesgo_por_entidad.csv",
            "entidad,tasa_error_mujeres,tasa_error_hombres\nCiudad de México,0.041,0.039\n"
            "Jalisco,0.044,0.043\nNuevo León,0.040,0.042\n".encode(),
            False,
        ),
    ]
    codes = {item.criterion.code for item in applications.checklist(session, application)}
    for code, name, data, public in files:
        if code in codes:
            applications.add_evidence_file(
                session,
                actor=owner,
                application=application,
                criterion_code=code,
                stream=io.BytesIO(data),
                filename=name,
                public=public,
                store=store,
                max_file_bytes=MAX_DEMO_FILE,
                max_total_bytes=MAX_DEMO_FILE * 4,
                now=now,
            )


def seed_quality_marks(
    session: Session,
    *,
    people: dict[str, User],
    secretariat: User,
    version: GuidelineVersion,
    store: FileStore,
    base_url: str,
    now: dt.datetime,
) -> dict[str, Application]:
    """Two companies with products in different sectors; their applications by product identifier.

    The applications go as far as their products' stages: a draft, submitted, under review.
    """
    organizations = {
        email: register_organization(session, actor=people[email], data=data, now=now)
        for email, data in COMPANIES.items()
    }
    for organization in organizations.values():
        # Both owners write from the company's web domain, which the secretariat accepts.
        verify_organization(
            session,
            actor=secretariat,
            organization_id=organization.id,
            method=VerificationMethod.domain,
            reason="El correo de la persona titular está en el dominio del sitio de la empresa.",
            base_url=base_url,
            now=now,
        )
    started_applications = {}
    for index, demo in enumerate(PRODUCTS):
        owner = people[demo.owner]
        started = now - dt.timedelta(days=60 - index * 8)
        product = create_product(
            session,
            actor=owner,
            organization_id=organizations[demo.owner].id,
            data=demo.data,
            now=started,
        )
        application = applications.start_application(
            session, actor=owner, product_id=product.id, guideline_version=version, now=started
        )
        started_applications[demo.data.identifier] = application
        complete = demo.stage != "draft"
        _answer_all(session, application, owner, started, complete=complete)
        _attach(session, application, owner, store, demo.data.name, started)
        if not complete:
            continue
        submitted = started + dt.timedelta(days=3)
        applications.submit_application(
            session, actor=owner, application=application, base_url=base_url, now=submitted
        )
        if demo.stage == "under_review":
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
    return started_applications
