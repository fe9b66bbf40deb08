"""Workflows as data: the steps each status allows, who may take them and when.

One table per workflow object answers both questions a workflow is asked: may this change happen
now (the verb checks it before changing anything), and what may this person do next (the page's
buttons and the API's `actions` list). Reviews, decisions and certificates add their own tables.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from core.errors import Conflict, Forbidden

StatusT = TypeVar("StatusT", bound=enum.Enum)
# What the rules of a step read: the person, the object, the clock; one dataclass per workflow.
SubjectT = TypeVar("SubjectT")


def anyone(_subject: Any) -> bool:
    """The rule that always holds."""
    return True


@dataclass(frozen=True)
class Step(Generic[StatusT, SubjectT]):
    """One action allowed from a status: where it leads, who may take it and when."""

    action: str
    source: StatusT
    # None: an action that leaves the status as it is (editing, answering a request).
    target: StatusT | None = None
    may: Callable[[SubjectT], bool] = anyone
    guard: Callable[[SubjectT], bool] = anyone
    # The reason shown when the guard does not hold (a catalog msgid); Conflict's default if empty.
    refusal: str = ""


class Workflow(Generic[StatusT, SubjectT]):
    """The steps of one workflow, read by its verbs and by the pages that offer them."""

    def __init__(self, steps: Sequence[Step[StatusT, SubjectT]]) -> None:
        self.steps = tuple(steps)

    def targets(self, source: StatusT) -> frozenset[StatusT]:
        """The statuses reachable in one step from a status."""
        return frozenset(s.target for s in self.steps if s.source == source and s.target)

    def allows(self, source: StatusT, target: StatusT) -> bool:
        """Whether any step leads from one status to the other."""
        return target in self.targets(source)

    def transitions(self, statuses: Iterable[StatusT]) -> dict[StatusT, frozenset[StatusT]]:
        """The whole table as status -> reachable statuses (for documentation and tests)."""
        return {status: self.targets(status) for status in statuses}

    def actions(self, source: StatusT, subject: SubjectT) -> list[str]:
        """What the subject's person may do now, in the table's order, each action once."""
        found: list[str] = []
        for step in self.steps:
            if (
                step.source == source
                and step.action not in found
                and step.may(subject)
                and step.guard(subject)
            ):
                found.append(step.action)
        return found

    def require(self, action: str, source: StatusT, subject: SubjectT) -> Step[StatusT, SubjectT]:
        """The step a verb is about to take; Forbidden or Conflict when it may not be taken now."""
        candidates = [s for s in self.steps if s.action == action]
        if candidates and not any(s.may(subject) for s in candidates):
            raise Forbidden()
        for step in candidates:
            if step.source != source or not step.may(subject):
                continue
            if step.guard(subject):
                return step
            raise Conflict(step.refusal or None)
        raise Conflict()
