"""The consultation tallies its verbs keep always equal a count of the comments themselves."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.errors import DomainError
from core.mail import OutboxMessage
from guidelines import consultation, service
from guidelines.models import (
    CommenterType,
    ConsultationComment,
    ConsultationTally,
    Disposition,
    GuidelineVersion,
)
from tests.factories import NOW, make_user
from tests.guidelines.builders import consulted_version

CLOSES_ON = dt.date(2026, 12, 10)
MIN_DAYS = 14
DURING = NOW + dt.timedelta(days=1)
AFTER = service.closing_moment(CLOSES_ON) + dt.timedelta(hours=1)
TARGETS = ("", "TR", "TR-1", "TR-2")
TOKEN_RE = re.compile(r"/consultation/confirm/(\S+)")

# One step of a consultation: a verb and which comment (by its place among those received).
Step = tuple[str, int, str, CommenterType, Disposition]
steps = st.tuples(
    st.sampled_from(["submit", "confirm", "hide", "dispose"]),
    st.integers(min_value=0, max_value=3),
    st.sampled_from(TARGETS),
    st.sampled_from(list(CommenterType)),
    st.sampled_from(list(Disposition)),
)


@pytest.fixture
def staff(db: Session) -> User:
    return make_user(db, role=Role.secretariat, full_name="Secretaría Técnica")


@pytest.fixture
def version(db: Session, staff: User) -> GuidelineVersion:
    """Version 1.0 with one principle and two criteria, in consultation until CLOSES_ON."""
    return consulted_version(db, staff, CLOSES_ON)


def confirmation_token(db: Session, email: str) -> str:
    """The token of the confirmation link last mailed to the address."""
    body = db.scalars(
        select(OutboxMessage.body_text)
        .where(OutboxMessage.to_address == email)
        .order_by(OutboxMessage.id.desc())
    ).first()
    match = TOKEN_RE.search(body or "")
    assert match, body
    return match.group(1)


def take_step(
    db: Session, version: GuidelineVersion, staff: User, step: Step, received: list[int]
) -> None:
    """Call one verb as its route would; a refused call changes nothing."""
    verb, which, target, kind, disposition = step
    number = len(received)
    email = f"persona{number}@ejemplo.mx"
    try:
        with db.begin_nested():
            if verb == "submit":
                comment = consultation.submit_comment(
                    db,
                    version=version,
                    target_code=target,
                    author_name="",
                    email=email,
                    commenter_type=kind,
                    organisation="",
                    body="Un comentario suficientemente largo.",
                    locale="es_MX",
                    client_ip=f"10.0.{number // 250}.{number % 250}",
                    honeypot="",
                    base_url="http://testserver",
                    now=DURING,
                )
                received.append(comment.id)
            elif not received:
                return
            elif verb == "confirm":
                chosen = db.get(ConsultationComment, received[which % len(received)])
                assert chosen is not None
                token = confirmation_token(db, chosen.email)
                consultation.confirm_comment(db, token=token, now=DURING)
            elif verb == "hide":
                consultation.hide_comment(
                    db,
                    actor=staff,
                    version=version,
                    comment_id=received[which % len(received)],
                    reason="Fuera de tema.",
                    now=DURING,
                )
            else:
                consultation.record_disposition(
                    db,
                    actor=staff,
                    comment_id=received[which % len(received)],
                    disposition=disposition,
                    response="Gracias por su comentario.",
                    changed_codes=[],
                    now=AFTER,
                )
    except DomainError:
        pass  # refused (already hidden, not confirmed...): the savepoint undid it


def recount(db: Session, version: GuidelineVersion) -> Counter[tuple[str, str, str]]:
    """The comments counted one by one, as the tallies should have them."""
    comments = db.scalars(
        select(ConsultationComment).where(ConsultationComment.version_id == version.id)
    )
    return Counter(
        (c.target_code, c.commenter_type.value, consultation.tally_standing(c)) for c in comments
    )


def tallied(db: Session, version: GuidelineVersion) -> Counter[tuple[str, str, str]]:
    """The tallies as the verbs kept them (rows counted down to nothing left out)."""
    rows = db.scalars(
        select(ConsultationTally).where(
            ConsultationTally.version_id == version.id, ConsultationTally.count != 0
        )
    )
    return Counter({(r.target_code, r.commenter_type.value, r.standing): r.count for r in rows})


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(steps, min_size=1, max_size=20))
def test_the_tallies_equal_a_recount_after_any_sequence_of_verbs(
    db: Session, version: GuidelineVersion, staff: User, sequence: list[Step]
) -> None:
    example = db.begin_nested()  # each example starts from the same consultation
    try:
        received: list[int] = []
        for step in sequence:
            take_step(db, version, staff, step, received)
        counted = recount(db, version)
        assert tallied(db, version) == counted
        counts = consultation.comment_counts(db, version)
        assert counts.unconfirmed == sum(n for k, n in counted.items() if k[2] == "unconfirmed")
        assert counts.published == sum(n for k, n in counted.items() if k[2] != "unconfirmed")
        assert counts.hidden == counted_standing(counted, "hidden")
        assert counts.awaiting_disposition == counted_standing(counted, "awaiting")
        for disposition in Disposition:
            assert counts.by_disposition[disposition] == counted_standing(counted, disposition)
        by_target = {t.target.code: t.count for t in consultation.target_counts(db, version)}
        expected_targets = Counter[str]()
        for (target, _kind, standing), n in counted.items():
            if standing != "unconfirmed":
                expected_targets[target] += n
        assert by_target == dict(expected_targets)
        consultation.recount_tallies(db, version.id)
        assert tallied(db, version) == counted
    finally:
        example.rollback()


def counted_standing(counted: Counter[tuple[str, str, str]], standing: str) -> int:
    return sum(n for (_target, _kind, s), n in counted.items() if s == standing)


def test_a_confirmed_comment_moves_from_unconfirmed_to_awaiting(
    db: Session, version: GuidelineVersion, staff: User
) -> None:
    received: list[int] = []
    take_step(
        db,
        version,
        staff,
        ("submit", 0, "TR-1", CommenterType.academia, Disposition.noted),
        received,
    )
    assert tallied(db, version) == Counter({("TR-1", "academia", "unconfirmed"): 1})
    take_step(
        db, version, staff, ("confirm", 0, "", CommenterType.academia, Disposition.noted), received
    )
    assert tallied(db, version) == Counter({("TR-1", "academia", "awaiting"): 1})
    take_step(
        db, version, staff, ("dispose", 0, "", CommenterType.academia, Disposition.noted), received
    )
    assert tallied(db, version) == Counter({("TR-1", "academia", "noted"): 1})


def test_a_hidden_comment_is_counted_as_hidden(
    db: Session, version: GuidelineVersion, staff: User
) -> None:
    received: list[int] = []
    for verb in ("submit", "confirm", "hide"):
        step = (verb, 0, "", CommenterType.company, Disposition.noted)
        take_step(db, version, staff, step, received)
    assert tallied(db, version) == Counter({("", "company", "hidden"): 1})
