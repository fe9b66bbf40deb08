"""A version's life cycle against the rule written out: every (from, to) pair, editing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from core.errors import Conflict
from core.i18n import translator
from guidelines import service
from guidelines.documents import load_version_tree
from guidelines.models import VersionStatus
from guidelines.schemas import SummaryInput
from tests.guidelines.builders import adopt, make_staff
from tests.guidelines.test_lifecycle import LATER, VERB_TARGETS, _attempt, _to_status

S = VersionStatus
# The rule, written out: from each status, where a version may go next. Supersession is no
# move: a version is superseded from the day a later adoption takes effect, worked out from dates.
ALLOWED: dict[S, set[S]] = {
    S.draft: {S.consultation, S.adopted, S.withdrawn},
    S.consultation: {S.draft, S.adopted},
    S.adopted: set(),
    S.superseded: set(),
    S.withdrawn: set(),
}


def _refusal(change: Callable[[], object]) -> Conflict | None:
    """The conflict a change is refused with, or None when it is made."""
    try:
        change()
    except Conflict as refused:
        return refused
    return None


@pytest.mark.parametrize("start", list(S))
def test_each_move_is_refused_exactly_when_the_life_cycle_forbids_it(db: Session, start: S) -> None:
    staff = make_staff(db)
    version = _to_status(db, staff, start)
    stored = version.status  # a superseded version is stored as adopted
    done = set()
    for target in VERB_TARGETS:
        savepoint = db.begin_nested()
        refused = _refusal(lambda: _attempt(db, staff, version, target))  # noqa: B023
        if refused is None:
            assert version.status == target
            done.add(target)
        else:
            assert (
                refused.message == "Version %(number)s is %(status)s; it cannot become %(target)s."
            )
            assert refused.params == {
                "number": version.number,
                "status": service.STATUS_LABELS[stored],
                "target": service.STATUS_LABELS[target],
            }
        savepoint.rollback()
        assert load_version_tree(db, version.id).status == stored
    assert done == ALLOWED[start]
    # The adoption of a newer version changes no stored status; an adopted one is superseded
    # from the day the newer one takes effect.
    newer = service.start_new_draft(
        db, actor=staff, guideline=service.get_guideline(db, "etica-ia"), number="2.0", now=LATER
    )
    adopt(db, newer, now=LATER, resolution="CEIA-2026-020")
    assert load_version_tree(db, version.id).status == stored
    expected = S.superseded if start == S.adopted else start
    assert service.standing_of(db, version, LATER).status == expected


def test_a_version_stored_as_superseded_moves_nowhere(db: Session) -> None:
    # Rows written before supersession was worked out from dates still store "superseded".
    staff = make_staff(db)
    version = _to_status(db, staff, S.superseded)
    version.status = S.superseded
    db.flush()
    for target in VERB_TARGETS:
        savepoint = db.begin_nested()
        refused = _refusal(lambda: _attempt(db, staff, version, target))  # noqa: B023
        savepoint.rollback()
        assert refused is not None, target
        assert refused.message == "Version %(number)s is %(status)s; it cannot become %(target)s."
        assert refused.params == {
            "number": version.number,
            "status": service.STATUS_LABELS[S.superseded],
            "target": service.STATUS_LABELS[target],
        }
        assert load_version_tree(db, version.id).status == S.superseded
    assert service.standing_of(db, version, LATER).status == S.superseded


def test_refused_move_reads_well_in_both_languages(db: Session) -> None:
    staff = make_staff(db)
    version = _to_status(db, staff, S.withdrawn)
    with pytest.raises(Conflict) as refused:
        _attempt(db, staff, version, S.adopted)
    shown = {}
    for locale in ("es_MX", "en"):
        tr = translator(locale)
        params = {k: tr.gettext(v) for k, v in refused.value.params.items()}
        shown[locale] = tr.gettext(refused.value.message, **params)
    assert shown == {
        "es_MX": "La versión 1.0 está en estado «Retirada»; no puede pasar a «Adoptado».",
        "en": "Version 1.0 is Withdrawn; it cannot become Adopted.",
    }


@pytest.mark.parametrize("status", list(S))
def test_only_a_draft_may_be_edited(db: Session, status: S) -> None:
    staff = make_staff(db)
    version = _to_status(db, staff, status)
    refused = _refusal(
        lambda: service.update_summary(
            db,
            actor=staff,
            version=version,
            data=SummaryInput(summary_es="Nuevo resumen.", summary_en="New summary."),
            expected_revision=None,
            now=LATER,
        )
    )
    if status == S.draft:
        assert refused is None
        assert load_version_tree(db, version.id).summary_es == "Nuevo resumen."
    else:
        assert refused is not None
        stored = version.status  # a superseded version is stored as adopted
        assert refused.params == {"number": "1.0", "status": service.STATUS_LABELS[stored]}
        assert refused.message == (
            "Version %(number)s is %(status)s and cannot be edited. "
            "Start a new draft to propose changes."
        )
