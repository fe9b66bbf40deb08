"""Workflow tables: reachable statuses, offered actions and the checks verbs make."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import pytest

from core.errors import Conflict, Forbidden
from core.workflow import Step, Workflow


class Door(enum.Enum):
    closed = "closed"
    open = "open"
    locked = "locked"


@dataclass
class Visit:
    has_key: bool
    is_owner: bool
    raining: bool = False


def _keyholder(visit: Visit) -> bool:
    return visit.has_key


def _owner(visit: Visit) -> bool:
    return visit.is_owner


def _dry(visit: Visit) -> bool:
    return not visit.raining


DOOR: Workflow[Door, Visit] = Workflow(
    [
        Step("open", Door.closed, Door.open, guard=_dry, refusal="It is raining."),
        Step("lock", Door.closed, Door.locked, may=_keyholder),
        Step("unlock", Door.locked, Door.closed, may=_keyholder),
        Step("paint", Door.closed, may=_owner),
        Step("paint", Door.open, may=_owner),
        Step("close", Door.open, Door.closed),
    ]
)


def test_targets_are_read_from_the_steps() -> None:
    assert DOOR.transitions(Door) == {
        Door.closed: frozenset({Door.open, Door.locked}),
        Door.open: frozenset({Door.closed}),
        Door.locked: frozenset({Door.closed}),
    }
    assert DOOR.allows(Door.locked, Door.closed)
    assert not DOOR.allows(Door.locked, Door.open)


def test_actions_follow_the_table_order_and_who_may() -> None:
    owner = Visit(has_key=True, is_owner=True)
    guest = Visit(has_key=False, is_owner=False)
    assert DOOR.actions(Door.closed, owner) == ["open", "lock", "paint"]
    assert DOOR.actions(Door.closed, guest) == ["open"]
    assert DOOR.actions(Door.open, owner) == ["paint", "close"]
    assert DOOR.actions(Door.locked, guest) == []


def test_a_guard_that_does_not_hold_hides_the_action() -> None:
    wet = Visit(has_key=True, is_owner=False, raining=True)
    assert DOOR.actions(Door.closed, wet) == ["lock"]


def test_require_returns_the_step_taken() -> None:
    step = DOOR.require("lock", Door.closed, Visit(has_key=True, is_owner=False))
    assert step.target == Door.locked


def test_require_refuses_a_person_who_may_never_take_the_action() -> None:
    with pytest.raises(Forbidden):
        DOOR.require("lock", Door.closed, Visit(has_key=False, is_owner=True))


def test_require_refuses_an_action_from_the_wrong_status() -> None:
    with pytest.raises(Conflict):
        DOOR.require("unlock", Door.open, Visit(has_key=True, is_owner=True))


def test_require_gives_the_guards_reason() -> None:
    with pytest.raises(Conflict) as refused:
        DOOR.require("open", Door.closed, Visit(has_key=False, is_owner=False, raining=True))
    assert refused.value.message == "It is raining."


def test_an_unknown_action_is_a_conflict() -> None:
    with pytest.raises(Conflict):
        DOOR.require("fly", Door.closed, Visit(has_key=True, is_owner=True))
