"""Demo reviews: reviewer profiles, assignments and reviews at every stage of the council's work."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.accounts import User
from core.settings import Settings
from council.assignment import AssignmentRules, assign_automatically, update_reviewer_profile
from quality_marks import applications, reviews
from quality_marks.models import Application, Finding, Recommendation, Review
from quality_marks.schemas import FindingInput

RULES = AssignmentRules.from_settings(Settings(_env_file=None))

# The sectors each reviewer knows; the automatic assignment prefers a match.
PROFILES = {
    "presidencia@ceia.gob.mx": ["gobierno", "justicia"],
    "jgarcia@ceia.gob.mx": ["finanzas", "seguros", "gobierno"],
    "lhernandez@ceia.gob.mx": ["salud", "educación", "empleo"],
    "rmartinez@ceia.gob.mx": ["salud"],
    "experta.salud@unam.example.mx": ["salud"],
    "experto.finanzas@itam.example.mx": ["finanzas", "seguros"],
}

# Findings other than "conforms", by criterion code, with the comment for the applicant.
MINOR_GAPS = {
    "DM-2": "El aviso de privacidad aún no está en las lenguas de las regiones donde se usa.",
    "RC-3": "La auditoría externa sigue en curso; presenten el informe al concluirla.",
}
MAJOR_GAPS = {
    "EQ-1": (
        "Las pruebas de sesgo no cubren la edad ni la zona de residencia, que el modelo usa para "
        "elegir el tono de los recordatorios."
    ),
    "TR-1": "Las personas no saben que el horario y el tono de los mensajes los decide un modelo.",
}
QUESTIONS = {
    "EQ-1": "¿Qué tasas de falsos positivos tiene el modelo por entidad y por edad del titular?",
}


@dataclass(frozen=True)
class Verdict:
    """How a demo reviewer judges an application: gaps found and what they recommend."""

    gaps: dict[str, tuple[Finding, str]]
    recommendation: Recommendation
    summary: str
    conditions: str = ""


def _findings(codes: list[str], verdict: Verdict) -> dict[str, FindingInput]:
    found = {}
    for code in codes:
        finding, comment = verdict.gaps.get(code, (Finding.conforms, ""))
        if finding == Finding.conforms and code == "DM-4":
            finding = Finding.not_applicable_confirmed
        found[code] = FindingInput(finding=finding, comment=comment)
    return found


def write_review(
    session: Session,
    *,
    review: Review,
    reviewer: User,
    verdict: Verdict,
    submit: bool,
    base_url: str,
    now: dt.datetime,
) -> Review:
    """A reviewer records findings on every criterion, and submits them if `submit`."""
    review = reviews.get_review(session, reviewer, review.id)
    saved = reviews.record_review(
        session,
        actor=reviewer,
        review=review,
        findings=_findings(reviews.checklist_codes(session, review), verdict),
        recommendation=verdict.recommendation,
        summary=verdict.summary,
        conditions=verdict.conditions,
        private_note="",
        version=review.version,
        now=now,
    )
    if not submit:
        return saved
    return reviews.submit_review(
        session,
        actor=reviewer,
        review=saved,
        version=saved.version,
        base_url=base_url,
        now=now + dt.timedelta(hours=1),
    )


def seed_profiles(
    session: Session, *, secretariat: User, people: dict[str, User], now: dt.datetime
) -> None:
    """The reviewer pool: the sectors council members and experts know."""
    for email, sectors in PROFILES.items():
        update_reviewer_profile(
            session,
            actor=secretariat,
            user=people[email],
            sectors=sectors,
            max_open_reviews=None,
            available=True,
            now=now,
        )


def review_application(
    session: Session,
    *,
    application: Application,
    secretariat: User,
    people: dict[str, User],
    verdict: Verdict,
    stages: tuple[str, ...],
    base_url: str,
    now: dt.datetime,
) -> list[Review]:
    """Reviewers are assigned automatically; each then submits, saves or leaves their review.

    `stages` says how far each assigned reviewer gets: "submitted", "saved" or "assigned".
    """
    assigned = assign_automatically(
        session, actor=secretariat, application=application, rules=RULES, base_url=base_url, now=now
    )
    by_id = {person.id: person for person in people.values()}
    written = []
    for index, (review, stage) in enumerate(zip(assigned, stages, strict=True)):
        if stage == "assigned":
            written.append(review)
            continue
        written.append(
            write_review(
                session,
                review=review,
                reviewer=by_id[review.reviewer_id],
                verdict=verdict,
                submit=stage == "submitted",
                base_url=base_url,
                now=now + dt.timedelta(days=4 + index),
            )
        )
    return written


GRANT_WITH_MINOR_GAPS = Verdict(
    gaps={code: (Finding.minor_nonconformity, text) for code, text in MINOR_GAPS.items()},
    recommendation=Recommendation.grant_with_conditions,
    summary=(
        "El sistema cumple los criterios de supervisión humana y transparencia. Quedan dos "
        "observaciones menores que pueden atenderse durante la vigencia de la marca."
    ),
    conditions=(
        "- Publicar el aviso de privacidad en náhuatl, maya y tsotsil antes de marzo de 2027.\n"
        "- Entregar el informe de la auditoría externa al concluirla."
    ),
)
REFUSE_FOR_MAJOR_GAPS = Verdict(
    gaps={code: (Finding.major_nonconformity, text) for code, text in MAJOR_GAPS.items()},
    recommendation=Recommendation.refuse,
    summary=(
        "El sistema decide el tono de los recordatorios de cobranza sin pruebas de sesgo por "
        "edad ni aviso a las personas. Son no conformidades mayores."
    ),
)
ASK_FOR_INFORMATION = Verdict(
    gaps={code: (Finding.minor_nonconformity, text) for code, text in QUESTIONS.items()},
    recommendation=Recommendation.request_information,
    summary="Falta información sobre las tasas de error por grupo para poder concluir.",
)


# Each demo product's reviews: the verdict, how far each of its two reviewers got, and when
# (days before the demo's day) they were assigned.
STORIES = [
    # Both submitted, recommending a grant with conditions (granted later by ballot).
    ("MX-IA-DSA-TRIAJE", GRANT_WITH_MINOR_GAPS, ("submitted", "submitted"), 24),
    # Both found major nonconformities and recommend refusing (refused, then appealed).
    ("MX-IA-FSF-COBRANZA", REFUSE_FOR_MAJOR_GAPS, ("submitted", "submitted"), 20),
    # The reviewers need information; the secretariat then asks the company.
    ("MX-IA-FSF-FRAUDE", ASK_FOR_INFORMATION, ("submitted", "submitted"), 12),
    # Just assigned: one reviewer has started, the other has not.
    ("MX-IA-DSA-LECTORRX", GRANT_WITH_MINOR_GAPS, ("saved", "assigned"), 6),
]


def seed_reviews(
    session: Session,
    *,
    secretariat: User,
    people: dict[str, User],
    applications_by_product: dict[str, Application],
    base_url: str,
    now: dt.datetime,
) -> dict[str, list[Review]]:
    """Reviews at every stage: submitted, in progress, and a request for information."""
    seed_profiles(session, secretariat=secretariat, people=people, now=now - dt.timedelta(days=60))
    done = {
        product: review_application(
            session,
            application=applications_by_product[product],
            secretariat=secretariat,
            people=people,
            verdict=verdict,
            stages=stages,
            base_url=base_url,
            now=now - dt.timedelta(days=days_ago),
        )
        for product, verdict, stages, days_ago in STORIES
    }
    fraud = applications_by_product["MX-IA-FSF-FRAUDE"]
    applications.request_information(
        session,
        actor=secretariat,
        application=fraud,
        body=reviews.request_text(reviews.questions_for_applicant(session, fraud)),
        base_url=base_url,
        now=now - dt.timedelta(days=5),
    )
    lector = applications_by_product["MX-IA-DSA-LECTORRX"]
    reviewer = next(p for p in people.values() if p.id == done["MX-IA-DSA-LECTORRX"][0].reviewer_id)
    reviews.post_review_note(
        session,
        actor=reviewer,
        application=lector,
        body="¿Alguien conoce el protocolo de validación clínica del Hospital Civil?",
        now=now - dt.timedelta(days=1),
    )
    return done
