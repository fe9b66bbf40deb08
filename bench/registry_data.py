"""A registry of many realistic issued certificates, written in bulk beside the demo, to measure.

    .venv/bin/python bench/registry_data.py --count 100000                 # SQLite file
    .venv/bin/python bench/registry_data.py --database-url postgresql://...  # a demo database

The database must already hold the demo (`council demo --no-serve`): each generated row starts as
a copy of one of the demo's issued certificates and the rows around it (its organisation, product,
application, answers, decision and "issued" registry event), so every column the service writes is
there, then takes its own values, drawn with a fixed seed: organisations in the 32 states and the
sectors of the service, products with Spanish names, public justifications in Spanish with accents,
statuses and dates as the lifecycle leaves them. The registry entries are built by the same rules
as `quality_marks.registry.refresh_registry_entry`; the database's own triggers (SQLite) or
generated column (PostgreSQL) index them. Rows go in with Core executemany, thousands at a time:
the service's verbs, one certificate at a time, would take hours for 100,000.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.db import make_engine  # noqa: E402
from guidelines.models import Guideline, GuidelineVersion  # noqa: E402
from quality_marks.certificate_models import (  # noqa: E402
    Certificate,
    CertificateStatus,
    RegistryEvent,
)
from quality_marks.geography import MEXICAN_STATES, SECTORS  # noqa: E402
from quality_marks.models import (  # noqa: E402
    Answer,
    Application,
    ApplicationDecision,
    Organization,
    Product,
)
from quality_marks.registry import _indexable  # noqa: E402
from quality_marks.registry_models import RegistryEntry, RegistryEntrySector  # noqa: E402

SEED = 20261213
CHUNK = 2000
# The word of the worst case: put in the public justifications of this share of the records.
COMMON_WORD = "datos"
COMMON_SHARE = 0.6
# Queries a reader typically types (a brand, a use, a place in a name, without accents too).
TYPICAL_QUERIES = [
    "quetzal triaje",
    "retinopatía",
    "diagnostico radiologico xolotl",
    "fraude tarjetas",
    "crédito jaguar",
    "deserción escolar",
    "tráfico Monterrey",
    "Colibrí Soluciones",
    "triaje",
    "aduanas ceiba",
    "cosecha Oaxaca",
    "MX-IA-0050123",
    "cobranza ámbar",
    "energia solar",
    "Ehécatl Bajío",
    "expedientes judiciales",
]
# Statuses of the issued certificates, as a registry a few years old holds them.
STATUS_SHARES = [
    (CertificateStatus.valid, 0.68),
    (CertificateStatus.expired, 0.14),
    (CertificateStatus.superseded, 0.09),
    (CertificateStatus.suspended, 0.05),
    (CertificateStatus.withdrawn, 0.04),
]
# States weighted roughly by where software companies are.
STATE_WEIGHTS = {
    "Ciudad de México": 22,
    "Jalisco": 10,
    "Nuevo León": 10,
    "Estado de México": 7,
    "Querétaro": 5,
    "Puebla": 4,
    "Guanajuato": 4,
    "Yucatán": 3,
}
BRANDS = [
    "Quetzal", "Xólotl", "Tláloc", "Áurea", "Nopal", "Colibrí", "Jaguar", "Ceiba", "Maguey",
    "Obsidiana", "Cenote", "Ámbar", "Huasteca", "Tonatiuh", "Citlali", "Itzel", "Yaotl", "Coatl",
    "Zapote", "Ocelote", "Mezquite", "Tunal", "Ajolote", "Pirul", "Cacao", "Iztac", "Ehécatl",
    "Tenoch", "Alborada", "Cúspide", "Sierra", "Marea", "Brújula", "Faro", "Vértice", "Lumen",
]  # fmt: skip
KINDS = [
    "Asistente", "Motor", "Plataforma", "Sistema", "Servicio", "Analizador", "Clasificador",
    "Monitor", "Agente", "Predictor",
]  # fmt: skip
# Uses per sector: what the product is for, words a reader searches for.
USES: dict[str, list[str]] = {
    "salud": [
        "de triaje hospitalario", "de diagnóstico radiológico", "de detección de retinopatía",
        "de agenda de consultas", "de lectura de expedientes clínicos",
    ],
    "finanzas": [
        "de evaluación de crédito", "de detección de fraude en tarjetas", "de cobranza",
        "de prevención de lavado de dinero",
    ],
    "seguros": ["de dictamen de siniestros", "de tarificación de pólizas"],
    "educación": ["de alerta de deserción escolar", "de tutoría adaptativa", "de calificación"],
    "empleo": ["de preselección de candidatos", "de análisis de vacantes"],
    "gobierno": [
        "de atención ciudadana", "de revisión en aduanas", "de asignación de apoyos sociales",
    ],
    "justicia": ["de búsqueda de jurisprudencia", "de clasificación de expedientes judiciales"],
    "comercio": ["de recomendación de productos", "de pronóstico de inventario"],
    "telecomunicaciones": ["de atención por voz", "de detección de fallas en la red"],
    "transporte": ["de control de tráfico", "de rutas de reparto", "de mantenimiento de flotas"],
    "energía": ["de pronóstico de energía solar", "de balance de la red eléctrica"],
    "agricultura": ["de pronóstico de cosecha", "de detección de plagas", "de riego"],
    "medios": ["de moderación de contenidos", "de subtitulado automático"],
    "otro": ["de traducción", "de lectura de documentos"],
}  # fmt: skip
ORG_FIRST = [
    "Tecnologías", "Soluciones", "Grupo", "Servicios", "Laboratorio", "Innovación", "Sistemas",
    "Consultoría", "Desarrollos", "Ingeniería",
]  # fmt: skip
ORG_SECOND = [
    "Cognitivas del Bajío", "Analíticas de Occidente", "Digitales Peninsulares",
    "Inteligentes de Monterrey", "Computacionales del Golfo", "Algorítmicas del Pacífico",
    "Cuantitativas de Puebla", "Informáticas del Norte", "Predictivas de Oaxaca",
    "Estadísticas del Centro",
]  # fmt: skip
ORG_SUFFIX = ["S.A. de C.V.", "S.A.P.I. de C.V.", "S. de R.L. de C.V.", "S.C.", "A.C."]
# Public justifications: sentences an applicant writes, some with the common word.
PLAIN_SENTENCES = [
    "El sistema informa a las personas usuarias que interactúan con una herramienta automática.",
    "Se realizó una evaluación de impacto en derechos humanos antes del despliegue.",
    "Un comité de ética revisa cada trimestre las decisiones del modelo.",
    "La supervisión humana permite revertir cualquier recomendación en menos de un día.",
    "Las métricas de equidad se publican por región, género y edad.",
    "El proveedor documentó la trazabilidad de cada versión del modelo.",
    "Existe un canal de quejas en español y en lenguas indígenas.",
    "La explicación de cada resultado se entrega en lenguaje claro.",
    "Las pruebas de robustez incluyen escenarios adversos y fallas de conexión.",
    "El consentimiento se solicita de forma expresa, libre e informada.",
]
COMMON_SENTENCES = [
    "Los datos personales se anonimizan antes del entrenamiento.",
    "Los datos de entrenamiento se revisan para detectar sesgos de representación.",
    "La calidad de los datos se audita cada semestre con una muestra aleatoria.",
]


@dataclass(frozen=True)
class Built:
    """What one build wrote."""

    certificates: int
    organizations: int
    seconds: float


def _template(conn: Connection) -> dict[str, Any]:
    """The demo's first valid certificate and the rows around it, as plain dicts to copy."""
    cert = (
        conn.execute(
            select(Certificate.__table__)
            .where(Certificate.status == CertificateStatus.valid)
            .order_by(Certificate.id)
            .limit(1)
        )
        .mappings()
        .one()
    )
    one: dict[str, Any] = {
        "certificate": dict(cert),
        "organization": dict(
            conn.execute(
                select(Organization.__table__).where(Organization.id == cert["organization_id"])
            )
            .mappings()
            .one()
        ),
        "product": dict(
            conn.execute(select(Product.__table__).where(Product.id == cert["product_id"]))
            .mappings()
            .one()
        ),
        "application": dict(
            conn.execute(
                select(Application.__table__).where(Application.id == cert["application_id"])
            )
            .mappings()
            .one()
        ),
        "decision": dict(
            conn.execute(
                select(ApplicationDecision.__table__).where(
                    ApplicationDecision.id == cert["decision_id"]
                )
            )
            .mappings()
            .one()
        ),
        "answers": [
            dict(row)
            for row in conn.execute(
                select(Answer.__table__)
                .where(Answer.application_id == cert["application_id"])
                .order_by(Answer.id)
            ).mappings()
        ],
        "event": dict(
            conn.execute(
                select(RegistryEvent.__table__)
                .where(RegistryEvent.certificate_id == cert["id"])
                .order_by(RegistryEvent.id)
                .limit(1)
            )
            .mappings()
            .one()
        ),
    }
    version = conn.execute(
        select(GuidelineVersion.number, Guideline.slug, Guideline.title_es, Guideline.title_en)
        .join(Guideline, Guideline.id == GuidelineVersion.guideline_id)
        .where(GuidelineVersion.id == cert["guideline_version_id"])
    ).one()
    one["version"] = version
    one["public_answers"] = sum(
        1 for answer in one["answers"] if answer["justification_public"] and answer["justification"]
    )
    return one


def _next_id(conn: Connection, table: Table) -> int:
    return int(conn.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(table), rows)


def _rfc(rng: random.Random, index: int) -> str:
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
    return f"{letters}{index:06d}{rng.choice('ABC')}{rng.randint(1, 9)}{rng.choice('ABC')}"


def _organizations(rng: random.Random, count: int) -> Iterator[tuple[str, str, str]]:
    """(legal name, state, sector) of each organisation."""
    states = list(MEXICAN_STATES)
    weights = [STATE_WEIGHTS.get(state, 1) for state in states]
    for _index in range(count):
        name = (
            f"{rng.choice(BRANDS)} {rng.choice(ORG_FIRST)} {rng.choice(ORG_SECOND)}, "
            f"{rng.choice(ORG_SUFFIX)}"
        )
        yield name, rng.choices(states, weights)[0], rng.choice(SECTORS)


def _justifications(rng: random.Random, count: int) -> list[str]:
    """The public justifications of one application; the common word in some of them."""
    sentences = rng.sample(PLAIN_SENTENCES, min(count, len(PLAIN_SENTENCES)))
    if sentences and rng.random() < COMMON_SHARE:
        sentences[rng.randrange(len(sentences))] = rng.choice(COMMON_SENTENCES)
    return sentences


def _status(rng: random.Random) -> CertificateStatus:
    roll = rng.random()
    for status, share in STATUS_SHARES:
        if roll < share:
            return status
        roll -= share
    return CertificateStatus.valid


def _insert_organizations(
    conn: Connection,
    rng: random.Random,
    table: Table,
    template: dict[str, Any],
    first_id: int,
    organizations: list[tuple[str, str, str]],
) -> None:
    """The organisations, each a copy of the demo's with its own name, RFC and state."""
    rows = []
    for offset, (name, state, sector) in enumerate(organizations):
        row = dict(template["organization"])
        row.update(
            id=first_id + offset,
            legal_name=name,
            rfc=_rfc(rng, first_id + offset),
            state=state,
            sector=sector,
            address=f"Av. Reforma {rng.randint(1, 999)}, {state}",
            contact_email=f"cumplimiento{first_id + offset}@empresa.example.mx",
        )
        rows.append(row)
        if len(rows) == CHUNK:
            _insert(conn, table, rows)
            rows = []
    _insert(conn, table, rows)


def _dates(
    rng: random.Random, status: CertificateStatus, today: dt.date
) -> tuple[dt.date, dt.date]:
    """Issued in the last four years, valid one to three; only expired ones have ended."""
    issued_on = today - dt.timedelta(days=rng.randint(1, 4 * 365))
    valid_until = issued_on + dt.timedelta(days=365 * rng.choice([1, 2, 3]))
    if status == CertificateStatus.expired and valid_until >= today:
        issued_on = today - dt.timedelta(days=rng.randint(400, 4 * 365))
        valid_until = issued_on + dt.timedelta(days=365)
    elif status != CertificateStatus.expired and valid_until < today:
        valid_until = today + dt.timedelta(days=rng.randint(30, 700))
    return issued_on, valid_until


def build(url: str, *, count: int, today: dt.date, progress: bool = True) -> Built:
    """Write `count` issued certificates with everything around them into the demo database."""
    started = time.perf_counter()
    rng = random.Random(SEED)
    engine = make_engine(url)
    tables: dict[str, Table] = {
        "organization": Organization.__table__,  # type: ignore[dict-item]
        "product": Product.__table__,  # type: ignore[dict-item]
        "application": Application.__table__,  # type: ignore[dict-item]
        "decision": ApplicationDecision.__table__,  # type: ignore[dict-item]
        "answer": Answer.__table__,  # type: ignore[dict-item]
        "certificate": Certificate.__table__,  # type: ignore[dict-item]
        "event": RegistryEvent.__table__,  # type: ignore[dict-item]
        "entry": RegistryEntry.__table__,  # type: ignore[dict-item]
        "sector": RegistryEntrySector.__table__,  # type: ignore[dict-item]
    }
    with engine.begin() as conn:
        template = _template(conn)
        ids = {name: _next_id(conn, table) for name, table in tables.items() if "id" in table.c}
        first_list_index = (
            int(conn.scalar(select(func.max(Certificate.status_list_index))) or 0) + 1
        )
        serials: dict[int, int] = {
            int(year): int(last)
            for year, last in conn.execute(
                select(Certificate.year, func.max(Certificate.serial)).group_by(Certificate.year)
            )
        }
        version_number, slug, title_es, title_en = template["version"]
        org_count = max(1, count // 12)
        org_base = ids["organization"]
        organizations = list(_organizations(rng, org_count))
        _insert_organizations(conn, rng, tables["organization"], template, org_base, organizations)
        batch: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
        for index in range(count):
            # A few organisations hold many certificates, most hold a handful.
            org_offset = int(org_count * rng.random() ** 2)
            org_id = org_base + org_offset
            org_name, org_state, org_sector = organizations[org_offset]
            sectors = list(dict.fromkeys([org_sector, *rng.sample(SECTORS, rng.choice([0, 0, 1]))]))
            brand, kind = rng.choice(BRANDS), rng.choice(KINDS)
            product_name = f"{kind} {rng.choice(USES[sectors[0]])} {brand}"
            identifier = f"MX-IA-{index + ids['product']:07d}"
            provider = org_name if rng.random() < 0.6 else f"{rng.choice(BRANDS)} Labs, S.A."
            deployer = org_name if rng.random() < 0.7 else f"Gobierno de {org_state}"
            status = _status(rng)
            issued_on, valid_until = _dates(rng, status, today)
            year = issued_on.year
            serials[year] = serials.get(year, 0) + 1
            number = f"MX-CEIA-{year}-{serials[year]:06d}"
            resolution = f"CEIA-{year}-{rng.randint(100, 999)}"
            level = rng.choice(["A", "A", "B"])
            issued_at = dt.datetime.combine(issued_on, dt.time(17, 0), tzinfo=dt.UTC)
            app_id, decision_id = ids["application"] + index, ids["decision"] + index
            cert_id, product_id = ids["certificate"] + index, ids["product"] + index
            product = dict(template["product"])
            product.update(
                id=product_id,
                organization_id=org_id,
                identifier=identifier,
                name=product_name,
                sectors=sectors,
                states=[org_state],
                provider=provider,
                deployer=deployer,
            )
            batch["product"].append(product)
            application = dict(template["application"])
            application.update(
                id=app_id,
                organization_id=org_id,
                product_id=product_id,
                decision_resolution=resolution,
                decided_at=issued_at,
            )
            batch["application"].append(application)
            decision = dict(template["decision"])
            decision.update(
                rendered=None,
                rendered_revision=None,
                id=decision_id,
                application_id=app_id,
                level=level,
                resolution=resolution,
                valid_from=issued_on,
                valid_until=valid_until,
                decided_at=issued_at,
            )
            batch["decision"].append(decision)
            sentences = iter(_justifications(rng, template["public_answers"]))
            public: list[str] = []
            for answer_template in template["answers"]:
                answer = dict(answer_template)
                answer.pop("id")
                # The rendered HTML is a cache the service fills when a page first shows it.
                answer.update(application_id=app_id, rendered=None, rendered_revision=None)
                if answer["justification_public"] and answer["justification"]:
                    answer["justification"] = next(sentences, "Se cumple.")
                    public.append(answer["justification"])
                batch["answer"].append(answer)
            payload = dict(template["certificate"]["payload"])
            payload.update(
                number=number,
                organization_name=org_name,
                product_name=product_name,
                product_identifier=identifier,
                level=level,
                resolution=resolution,
                decided_on=issued_on.isoformat(),
                valid_from=issued_on.isoformat(),
                valid_until=valid_until.isoformat(),
                issued_on=issued_on.isoformat(),
                verify_url=payload.get("verify_url", "").rsplit("/", 1)[0] + f"/{number}",
                status_list_index=first_list_index + index,
            )
            certificate = dict(template["certificate"])
            certificate.update(
                id=cert_id,
                number=number,
                year=year,
                serial=serials[year],
                application_id=app_id,
                decision_id=decision_id,
                organization_id=org_id,
                product_id=product_id,
                level=level,
                status=status,
                payload=payload,
                status_list_index=first_list_index + index,
                valid_from=issued_on,
                valid_until=valid_until,
                allocated_at=issued_at,
                issued_at=issued_at,
                status_changed_at=issued_at,
            )
            batch["certificate"].append(certificate)
            event = dict(template["event"])
            event.pop("id")
            event.update(
                certificate_id=cert_id,
                occurred_at=issued_at,
                resolution=resolution,
                public_reason={
                    "es": f"El consejo emitió el certificado por la resolución {resolution}.",
                    "en": f"The council issued the certificate by resolution {resolution}.",
                },
                details={"level": level, "valid_until": valid_until.isoformat()},
            )
            batch["event"].append(event)
            batch["entry"].append(
                {
                    "certificate_id": cert_id,
                    "number": number,
                    "status": status.value,
                    "level": level,
                    "sectors": sectors,
                    "primary_sector": sectors[0],
                    "state": org_state,
                    "guideline_slug": slug,
                    "guideline_version": version_number,
                    "guideline_title_es": title_es,
                    "guideline_title_en": title_en,
                    "issued_year": year,
                    "issued_on": issued_on,
                    "valid_until": valid_until,
                    "organization_id": org_id,
                    "organization_name": org_name,
                    "product_id": product_id,
                    "product_name": product_name,
                    "product_identifier": identifier,
                    "search_text": _indexable(
                        [
                            product_name,
                            identifier,
                            org_name,
                            provider,
                            deployer,
                            *sectors,
                            title_es,
                            *public,
                        ]
                    ),
                }
            )
            batch["sector"].extend({"certificate_id": cert_id, "sector": s} for s in sectors)
            if len(batch["certificate"]) == CHUNK or index == count - 1:
                # Parents first: the foreign keys hold at every step.
                for name in (
                    "product",
                    "application",
                    "decision",
                    "answer",
                    "certificate",
                    "event",
                    "entry",
                    "sector",
                ):
                    _insert(conn, tables[name], batch[name])
                    batch[name] = []
                if progress:
                    print(f"  {index + 1:>7} certificates", end="\r", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)
    engine.dispose()
    return Built(count, org_count, time.perf_counter() - started)


def main() -> None:
    """Build the registry into a demo database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    built = build(args.database_url, count=args.count, today=dt.date.today())
    print(f"{built.certificates} certificates, {built.organizations} organisations")
    print(f"in {built.seconds:.1f} s")


if __name__ == "__main__":
    main()
