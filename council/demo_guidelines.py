"""Demo guideline "Ética en sistemas de IA": version 1.0, a 1.1 draft and consultation comments."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from guidelines.documents import CriterionDoc, LocalizedText, PrincipleDoc, RequiredText, VersionDoc
from guidelines.models import CommenterType, RiskLevel, VersionStatus

DEMO_DOCUMENT_PATH = Path(__file__).parent / "demo_data" / "etica-ia-1.0.json"


def load_demo_document() -> VersionDoc:
    """Version 1.0 of the demo guideline, read from its JSON document."""
    return VersionDoc.model_validate(json.loads(DEMO_DOCUMENT_PATH.read_text(encoding="utf-8")))


def _principle(doc: VersionDoc, code: str) -> PrincipleDoc:
    """The principle with this code (the demo document is known to contain it)."""
    return next(principle for principle in doc.principles if principle.code == code)


def _criterion(doc: VersionDoc, code: str) -> CriterionDoc:
    """The criterion with this code (the demo document is known to contain it)."""
    return next(criterion for _, criterion in doc.criteria() if criterion.code == code)


TR_2_REQUIREMENT = RequiredText(
    es=(
        "Cuando el sistema contribuya a una decisión con efectos jurídicos o significativos sobre "
        "una persona, el proveedor debe entregarle, a solicitud y **sin costo**, una explicación "
        "por escrito en lenguaje llano, a más tardar **10 días hábiles** después de la solicitud, "
        "que indique:\n\n"
        "- los principales factores que influyeron en el resultado y su peso relativo;\n"
        "- las categorías de datos personales utilizadas y su origen; y\n"
        "- cómo solicitar la revisión por una persona (SH-1)."
    ),
    en=(
        "When the system contributes to a decision with legal or similarly significant effects on "
        "a person, the provider must give them, on request and **free of charge**, a written "
        "plain-language explanation no later than **10 business days** after the request, "
        "stating:\n\n"
        "- the main factors that influenced the outcome and their relative weight;\n"
        "- the categories of personal data used and where they came from; and\n"
        "- how to request review by a human (SH-1)."
    ),
)

SH_1_REQUIREMENT = RequiredText(
    es=(
        "Toda persona afectada por una decisión automatizada con efectos jurídicos o "
        "significativos debe poder solicitar, por un medio gratuito y sin necesidad de acudir en "
        "persona, que una persona con facultades para modificar la decisión la revise. El "
        "proveedor debe responder de forma fundada y por escrito en un plazo máximo de "
        "**15 días hábiles**."
    ),
    en=(
        "Every person affected by an automated decision with legal or similarly significant "
        "effects must be able to request, free of charge and without having to appear in person, "
        "that a human with authority to change the decision review it. The provider must give a "
        "reasoned written answer within **15 business days** at the latest."
    ),
)

SG_5 = CriterionDoc(
    code="SG-5",
    title=RequiredText(
        es="Etiquetado de contenido generado por IA",
        en="Labelling of AI-generated content",
    ),
    requirement=RequiredText(
        es=(
            "Los sistemas que generen o modifiquen texto, imagen, audio o video deben:\n\n"
            "- marcar el contenido sintético con metadatos legibles por máquina; y\n"
            "- mostrar una etiqueta visible en español cuando el contenido pueda confundirse con "
            "contenido auténtico de personas, lugares o hechos reales."
        ),
        en=(
            "Systems that generate or alter text, images, audio or video must:\n\n"
            "- mark synthetic content with machine-readable metadata; and\n"
            "- show a visible label in Spanish when the content could be mistaken for authentic "
            "content about real people, places or events."
        ),
    ),
    guidance=LocalizedText(
        es=(
            "Use estándares abiertos de procedencia de contenido y verifique que la marca "
            "sobreviva a la compresión y a los recortes habituales en redes sociales."
        ),
        en=(
            "Use open content-provenance standards and check that the marking survives the "
            "compression and cropping common on social media."
        ),
    ),
    evidence=LocalizedText(
        es=(
            "Descripción del mecanismo de marcado; muestras de contenido etiquetado; pruebas de "
            "persistencia de los metadatos."
        ),
        en=(
            "Description of the marking mechanism; samples of labelled content; metadata "
            "persistence tests."
        ),
    ),
    risk_levels=[RiskLevel.limited, RiskLevel.high],
)

SUMMARY_1_1 = LocalizedText(
    es=(
        "Versión 1.1 en consulta pública: precisa el plazo y el contenido de la explicación a "
        "personas afectadas (TR-2) y de la revisión humana (SH-1), incorpora el etiquetado de "
        "contenido generado por IA (SG-5) y extiende la evaluación de impacto en protección de "
        "datos (PR-3) a los sistemas de riesgo limitado. Se suprime el informe anual de "
        "cumplimiento (RC-4), que duplicaba la vigilancia anual del distintivo de calidad."
    ),
    en=(
        "Version 1.1 in public consultation: it sets the deadline and content of explanations to "
        "affected persons (TR-2) and of human review (SH-1), adds labelling of AI-generated "
        "content (SG-5) and extends the data protection impact assessment (PR-3) to limited-risk "
        "systems. The annual compliance report (RC-4) is removed, as it duplicated the quality "
        "mark's annual surveillance."
    ),
)


def draft_changes(doc: VersionDoc) -> VersionDoc:
    """A deep copy of version 1.0 turned into the 1.1 draft put to public consultation."""
    draft = doc.model_copy(deep=True)
    draft.number = "1.1"
    draft.status = VersionStatus.draft
    draft.effective_on = None
    draft.adoption_resolution = None
    draft.summary = SUMMARY_1_1
    _criterion(draft, "TR-2").requirement = TR_2_REQUIREMENT
    _criterion(draft, "SH-1").requirement = SH_1_REQUIREMENT
    _criterion(draft, "PR-3").risk_levels = [RiskLevel.limited, RiskLevel.high]
    _principle(draft, "SG").criteria.append(SG_5.model_copy(deep=True))
    accountability = _principle(draft, "RC")
    accountability.criteria = [c for c in accountability.criteria if c.code != "RC-4"]
    return VersionDoc.model_validate(draft.model_dump(by_alias=True))


@dataclass(frozen=True)
class DemoComment:
    """A public consultation comment on the 1.1 draft, as a member of the public would send it."""

    target_code: str
    author_name: str
    email: str
    commenter_type: CommenterType
    organisation: str
    body: str
    locale: str = "es"


DEMO_COMMENTS: list[DemoComment] = [
    DemoComment(
        target_code="TR-2",
        author_name="Itzel Hernández Cruz",
        email="contacto@redlenguas.example.org",
        commenter_type=CommenterType.civil_society,
        organisation="Red por los Derechos Lingüísticos de los Pueblos Indígenas",
        body=(
            "Solicitamos que TR-2 obligue a entregar la explicación en la lengua indígena de la "
            "persona afectada cuando ésta lo pida, al menos en las lenguas con más hablantes en la "
            "entidad federativa donde opera el sistema. En Oaxaca, Chiapas y Guerrero hay personas "
            "con dominio limitado del español para quienes una explicación escrita sólo en español "
            "no sirve para impugnar la decisión. Proponemos además que la explicación pueda "
            "entregarse de forma oral."
        ),
    ),
    DemoComment(
        target_code="PR-3",
        author_name="Ing. Rodrigo Salas Medina",
        email="rsalas@analiticabajio.example.mx",
        commenter_type=CommenterType.company,
        organisation="Soluciones Analíticas del Bajío, S.A. de C.V.",
        body=(
            "Extender la evaluación de impacto de PR-3 a los sistemas de riesgo limitado supone un "
            "costo desproporcionado para las micro, pequeñas y medianas empresas; estimamos más de "
            "150 mil pesos por sistema si se contrata asesoría externa. Sugerimos que el Consejo "
            "publique una plantilla simplificada para MIPYMES, o que la obligación aplique en "
            "riesgo limitado sólo cuando se traten datos personales sensibles."
        ),
    ),
    DemoComment(
        target_code="DM-3",
        author_name="Dra. Verónica Ibarra Lozano",
        email="vibarra@ciencia-datos.example.mx",
        commenter_type=CommenterType.academia,
        organisation="Centro de Investigación en Ciencia de Datos del Sureste",
        body=(
            "Apoyamos la desagregación por entidad federativa, pero en estados con poca población, "
            "como Colima, Baja California Sur o Campeche, las muestras de evaluación suelen ser "
            "demasiado pequeñas para estimar diferencias con confianza. Recomendamos que DM-3 "
            "exija reportar intervalos de confianza y un tamaño mínimo de muestra por entidad, y "
            "que las pruebas de sesgo de EQ-2 se hagan con la misma desagregación."
        ),
    ),
    DemoComment(
        target_code="SH-1",
        author_name="",
        email="ciudadano.mty@example.mx",
        commenter_type=CommenterType.individual,
        organisation="",
        body=(
            "Hace unos meses un banco rechazó mi solicitud de crédito con un sistema automático y "
            "nunca supe a quién pedirle una revisión. Me parece bien que SH-1 fije un plazo de 15 "
            "días hábiles, pero debería decir claramente que quien revisa no puede pertenecer al "
            "área que diseñó el sistema. También pediría que, si no hay respuesta en plazo, la "
            "decisión se suspenda."
        ),
    ),
    DemoComment(
        target_code="SG-5",
        author_name="Mtra. Claudia Rojas Pineda",
        email="innovacion@gobierno-estatal.example.mx",
        commenter_type=CommenterType.government,
        organisation="Coordinación Estatal de Innovación Gubernamental",
        body=(
            "Respaldamos la incorporación de SG-5 ante el aumento de audios y videos falsos "
            "durante los procesos electorales locales. Sugerimos precisar qué estándares de "
            "metadatos se consideran aceptables y que la etiqueta visible sea obligatoria también "
            "para el contenido que difundan las dependencias públicas. Convendría coordinar la "
            "redacción final con las autoridades electorales."
        ),
    ),
    DemoComment(
        target_code="",
        author_name="Luis Fernando Ortiz Beltrán",
        email="lortiz@observatorio-tecnologia.example.org",
        commenter_type=CommenterType.civil_society,
        organisation="Observatorio Ciudadano de Tecnología y Derechos",
        body=(
            "En general, el borrador 1.1 mejora la protección de las personas afectadas, sobre "
            "todo con los plazos de TR-2 y SH-1. Nos preocupa, sin embargo, la eliminación de "
            "RC-4: sin un informe anual, la sociedad civil pierde la única fuente periódica de "
            "información sobre incidentes y quejas. Si el Consejo considera que duplica la "
            "vigilancia del distintivo, pedimos que al menos se publique un resumen anual de esos "
            "resultados."
        ),
    ),
    DemoComment(
        target_code="EQ-4",
        author_name="",
        email="lectora.accesible@example.org",
        commenter_type=CommenterType.individual,
        organisation="",
        body=(
            "Como persona con discapacidad visual, encuentro con frecuencia avisos de asistentes "
            "virtuales que mi lector de pantalla no puede leer. Sugiero que EQ-4 exija pruebas con "
            "personas usuarias con discapacidad y no sólo una revisión técnica contra WCAG. El "
            "canal alterno de atención debería ser gratuito y tener el mismo horario que el canal "
            "automatizado."
        ),
    ),
    DemoComment(
        target_code="TR-4",
        author_name="Andrés Morales Luna",
        email="legal@finintel.example.mx",
        commenter_type=CommenterType.company,
        organisation="FinIntel, S.A.P.I. de C.V.",
        body=(
            "Coincidimos con la finalidad del registro público de TR-4, pero el alcance "
            "territorial y la descripción de la finalidad podrían revelar información comercial "
            "sensible sobre nuestros productos de crédito. Proponemos que el Consejo publique un "
            "formato cerrado de resumen no técnico y que la información adicional se entregue de "
            "forma confidencial, conforme a la propia orientación del criterio."
        ),
    ),
]
