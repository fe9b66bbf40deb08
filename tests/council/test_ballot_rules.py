"""The pass rule at its edges: quorum alone, all recused, two-thirds rounding, what counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from council import ballots
from council.models import BallotRule, BallotVoter, Position, PositionKind

K = PositionKind
MAJORITY, TWO_THIRDS = BallotRule.simple_majority, BallotRule.two_thirds
LATER = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


def _tally(
    rule: BallotRule,
    kinds: Sequence[PositionKind | None],
    *,
    quorum: int = 0,
    conflicted: frozenset[int] = frozenset(),
    extra: list[Position] | None = None,
) -> ballots.Tally:
    """A tally of len(kinds) voters; member i holds kinds[i] (None: has not voted)."""
    voters = [
        BallotVoter(member_id=i, conflict="interés declarado" if i in conflicted else None)
        for i in range(len(kinds))
    ]
    positions = [
        Position(member_id=i, kind=kind, superseded_at=None)
        for i, kind in enumerate(kinds)
        if kind is not None
    ]
    return ballots.compute_tally(
        rule=rule, quorum_percent=quorum, voters=voters, positions=positions + (extra or [])
    )


@pytest.mark.parametrize(
    ("counted", "majority", "two_thirds"),
    [(1, 1, 1), (2, 2, 2), (3, 2, 2), (4, 3, 3), (5, 3, 4), (6, 4, 4), (7, 4, 5), (9, 5, 6)],
)
def test_required_favourable_positions(counted: int, majority: int, two_thirds: int) -> None:
    assert ballots.required_in_favour(MAJORITY, counted) == majority
    assert ballots.required_in_favour(TWO_THIRDS, counted) == two_thirds


@pytest.mark.parametrize(("rule", "members"), [(MAJORITY, 5), (TWO_THIRDS, 5), (TWO_THIRDS, 7)])
def test_exactly_the_required_favourable_positions_pass_and_one_fewer_fails(
    rule: BallotRule, members: int
) -> None:
    required = ballots.required_in_favour(rule, members)
    enough = [K.yes] * required + [K.abstain] * (members - required)
    short = [K.no_objection] * (required - 1) + [K.abstain] * (members - required + 1)
    assert _tally(rule, enough).passes
    assert not _tally(rule, short).passes
    assert _tally(rule, short).needs == 1


def test_quorum_alone_can_fail_a_ballot_with_enough_favourable_positions() -> None:
    # 10 members: a majority is 6, a 70% quorum is 7 positions.
    six_yes = [K.yes] * 6 + [None] * 4
    tally = _tally(MAJORITY, six_yes, quorum=70)
    assert (tally.required, tally.quorum, tally.in_favour, tally.cast) == (6, 7, 6, 6)
    assert not tally.passes
    assert tally.needs == 1
    with_an_abstention = [K.yes] * 6 + [K.abstain] + [None] * 3
    assert _tally(MAJORITY, with_an_abstention, quorum=70).passes


@pytest.mark.parametrize(
    ("percent", "counted", "quorum"),
    [(0, 7, 0), (50, 7, 4), (50, 8, 4), (60, 7, 5), (100, 7, 7), (1, 7, 1), (67, 3, 3)],
)
def test_quorum_is_a_rounded_up_share_of_the_members_who_count(
    percent: int, counted: int, quorum: int
) -> None:
    assert _tally(MAJORITY, [None] * counted, quorum=percent).quorum == quorum


def test_quorum_and_majority_leave_recused_members_out() -> None:
    kinds: list[PositionKind | None] = [K.recuse, K.recuse, K.yes, K.yes, None, None, None]
    tally = _tally(MAJORITY, [None, *kinds], quorum=50, conflicted=frozenset({0}))
    assert (tally.eligible, tally.recused, tally.counted) == (8, 3, 5)
    assert (tally.required, tally.quorum) == (3, 3)


@pytest.mark.parametrize("rule", [MAJORITY, TWO_THIRDS])
def test_a_ballot_where_everyone_is_recused_cannot_pass(rule: BallotRule) -> None:
    tally = _tally(rule, [K.recuse, K.recuse, None], conflicted=frozenset({2}))
    assert tally.counted == 0
    assert tally.in_favour == tally.cast == tally.quorum == 0
    assert not tally.passes


def test_a_single_counted_member_decides() -> None:
    assert _tally(TWO_THIRDS, [K.recuse, K.yes]).passes
    assert not _tally(TWO_THIRDS, [K.recuse, K.abstain]).passes


def test_positions_are_counted_by_kind() -> None:
    kinds = [K.yes, K.no_objection, K.abstain, K.abstain, K.discuss, K.recuse, None]
    tally = _tally(MAJORITY, kinds)
    assert (tally.in_favour, tally.abstain, tally.discuss) == (2, 2, 1)
    assert (tally.cast, tally.recused, tally.counted) == (5, 1, 6)
    assert tally.not_voted == [6]


@pytest.mark.parametrize("kind", [K.abstain, K.discuss, K.recuse])
def test_only_yes_and_no_objection_are_favourable(kind: PositionKind) -> None:
    assert _tally(MAJORITY, [K.yes, kind, kind]).in_favour == 1
    assert _tally(MAJORITY, [K.no_objection, K.yes, kind]).in_favour == 2


def test_a_standing_discuss_blocks_and_a_withdrawn_one_does_not() -> None:
    blocked = _tally(MAJORITY, [K.yes, K.yes, K.discuss])
    assert blocked.in_favour >= blocked.required
    assert not blocked.passes
    earlier = Position(member_id=2, kind=K.discuss, superseded_at=LATER)
    cleared = _tally(MAJORITY, [K.yes, K.yes, K.no_objection], extra=[earlier])
    assert (cleared.discuss, cleared.in_favour, cleared.cast) == (0, 3, 3)
    assert cleared.passes


def test_a_conflicted_members_position_does_not_count() -> None:
    tally = _tally(MAJORITY, [K.yes, K.yes, K.abstain], conflicted=frozenset({0}))
    assert (tally.recused, tally.counted, tally.in_favour, tally.cast) == (1, 2, 1, 2)
    assert tally.not_voted == []


def test_positions_of_people_who_are_not_voters_are_ignored() -> None:
    outsider = Position(member_id=99, kind=K.yes, superseded_at=None)
    tally = _tally(MAJORITY, [K.abstain, None], extra=[outsider])
    assert (tally.in_favour, tally.cast) == (0, 1)
    assert tally.not_voted == [1]


def test_needs_is_the_larger_of_the_favourable_and_quorum_gaps() -> None:
    # 6 members: majority 4; quorum 100% is 6 positions.
    assert _tally(MAJORITY, [K.yes, K.yes, None, None, None, None], quorum=100).needs == 4
    assert _tally(MAJORITY, [K.yes, K.yes, K.yes, K.abstain, None, None], quorum=0).needs == 1
    assert _tally(MAJORITY, [K.yes] * 5 + [None], quorum=0).needs == 0
