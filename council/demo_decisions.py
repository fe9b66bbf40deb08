"""Demo decisions: a mark granted by ballot with a member recused, a refusal under appeal."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from core.accounts import User
from core.settings import Settings
from council import ballots
from council.decisions import open_appeal_ballot, open_decision_ballot
from council.members import member_of
from council.models import Ballot, BallotRule, PositionKind
from quality_marks import decisions
from quality_marks.models import Application

SETTINGS = Settings(_env_file=None)
VOTING = dt.timedelta(days=7)


def _vote_all(
    session: Session, *, ballot: Ballot, people: dict[str, User], now: dt.datetime
) -> None:
    """Every member called to vote and not recused says yes, a day apart."""
    callable_members = {v.member_id for v in ballot.voters if v.conflict is None}
    for offset, person in enumerate(people.values()):
        member = member_of(session, person)
        if member is None or member.id not in callable_members:
            continue
        ballots.cast_position(
            session,
            actor=person,
            ballot=ballot,
            kind=PositionKind.yes,
            text="",
            now=now + dt.timedelta(hours=6 * (offset + 1)),
        )


def decide_by_ballot(
    session: Session,
    *,
    secretariat: User,
    people: dict[str, User],
    application: Application,
    proposal: str,
    reasons: str,
    conditions: str,
    base_url: str,
    now: dt.datetime,
    validity_years: int = SETTINGS.mark_validity_years,
) -> Ballot:
    """The secretariat puts the application to the council, every voter agrees, it is closed."""
    ballot = open_decision_ballot(
        session,
        actor=secretariat,
        application=application,
        proposal=proposal,
        reasons=reasons,
        conditions=conditions,
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=now + VOTING,
        reviewers_required=SETTINGS.reviewers_per_application,
        validity_years=validity_years,
        appeal_days=SETTINGS.appeal_days,
        base_url=base_url,
        now=now,
    )
    _vote_all(session, ballot=ballot, people=people, now=now)
    ballots.close_ballot(session, actor=secretariat, ballot=ballot, now=now + dt.timedelta(days=2))
    return ballot


def seed_decisions(
    session: Session,
    *,
    secretariat: User,
    people: dict[str, User],
    applications_by_product: dict[str, Application],
    base_url: str,
    now: dt.datetime,
) -> None:
    """TriajeIA is granted (a member with ties to DataSalud recused); CobranzaBot is refused
    and its refusal is under appeal before a panel without the original reviewers."""
    decide_by_ballot(
        session,
        secretariat=secretariat,
        people=people,
        application=applications_by_product["MX-IA-DSA-TRIAJE"],
        proposal="grant",
        reasons=(
            "Las dos revisiones encontraron el sistema conforme, con dos observaciones menores "
            "que no impiden otorgar la marca."
        ),
        conditions=(
            "- Publicar el aviso de privacidad en náhuatl, maya y tsotsil antes de marzo de 2027.\n"
            "- Entregar el informe de la auditoría externa al concluirla."
        ),
        base_url=base_url,
        now=now - dt.timedelta(days=16),
    )
    refused = applications_by_product["MX-IA-FSF-COBRANZA"]
    decide_by_ballot(
        session,
        secretariat=secretariat,
        people=people,
        application=refused,
        proposal="refuse",
        reasons=(
            "Las revisiones encontraron dos no conformidades mayores: no hay pruebas de sesgo por "
            "edad ni zona de residencia, y las personas no saben que un modelo decide el tono de "
            "los recordatorios de cobranza."
        ),
        conditions="",
        base_url=base_url,
        now=now - dt.timedelta(days=12),
    )
    decisions.file_appeal(
        session,
        actor=people["legal@finintel.example.mx"],
        application=refused,
        grounds=(
            "Las pruebas de sesgo por edad se entregaron el 3 de noviembre como anexo del "
            "criterio EQ-1 y la revisión no las consideró. El aviso sobre el uso del modelo "
            "se publicó en la aplicación antes de la decisión."
        ),
        base_url=base_url,
        now=now - dt.timedelta(days=5),
    )
    open_appeal_ballot(
        session,
        actor=secretariat,
        application=refused,
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=now + dt.timedelta(days=4),
        base_url=base_url,
        now=now - dt.timedelta(days=3),
    )
