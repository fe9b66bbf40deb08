"""The council's list of ballots: searched, filtered, paged, and exported with every position."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from core.accounts import Role, User
from core.audit import record_event
from core.errors import N_, Forbidden
from core.pagination import PageOf, page_of
from core.search import chosen, matches_text, search_text
from council.adoption import SUBJECT_GUIDELINE_VERSION
from council.ballots import Tally, compute_tally, voters_by_member
from council.certificate_ballots import (
    SUBJECT_REINSTATEMENT,
    SUBJECT_SUSPENSION,
    SUBJECT_WITHDRAWAL,
)
from council.decisions import SUBJECT_APPEAL, SUBJECT_APPLICATION_DECISION
from council.models import Ballot, BallotResult, BallotStatus, Position, Resolution

# What each kind of ballot decides, as the kind filter offers it.
SUBJECT_LABELS = {
    SUBJECT_GUIDELINE_VERSION: N_("Adoption of a guideline version"),
    SUBJECT_APPLICATION_DECISION: N_("Decision on an application"),
    SUBJECT_APPEAL: N_("Appeal of a decision"),
    SUBJECT_SUSPENSION: N_("Suspension of a certificate"),
    SUBJECT_REINSTATEMENT: N_("Reinstatement of a certificate"),
    SUBJECT_WITHDRAWAL: N_("Withdrawal of a certificate"),
}


@dataclass(frozen=True)
class BallotFilters:
    """What the ballots are filtered by: typed text, open or closed, the kind, the result."""

    text: str = ""
    status: BallotStatus | None = None
    kind: str | None = None
    result: BallotResult | None = None

    def query(self) -> dict[str, str]:
        """The filters as the query string of the list's address."""
        return {
            "q": self.text,
            "status": self.status.value if self.status else "",
            "kind": self.kind or "",
            "result": self.result.value if self.result else "",
        }

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(self.query().values())


def ballot_filters(
    *, text: object = "", status: object = "", kind: object = "", result: object = ""
) -> BallotFilters:
    """The filters as a person's address gives them; what is not a known value is left out."""
    return BallotFilters(
        text=search_text(text),
        status=chosen(BallotStatus, status),
        kind=kind if isinstance(kind, str) and kind in SUBJECT_LABELS else None,
        result=chosen(BallotResult, result),
    )


def filtered(query: Select[Ballot], filters: BallotFilters) -> Select[Ballot]:
    """A select of ballots with the filters."""
    if filters.text:
        query = query.where(matches_text(filters.text, Ballot.title_es, Ballot.title_en))
    if filters.status is not None:
        query = query.where(Ballot.status == filters.status)
    if filters.kind is not None:
        query = query.where(Ballot.subject_type == filters.kind)
    if filters.result is not None:
        query = query.where(Ballot.result == filters.result)
    return query


@dataclass(frozen=True)
class BallotLists:
    """The ballots page: a page of open ballots with their live tallies, a page of closed ones."""

    open: PageOf[tuple[Ballot, Tally]]
    closed: PageOf[tuple[Ballot, Resolution | None]]


def _live_positions(session: Session, ballots: list[Ballot]) -> dict[int, list[Position]]:
    """The current positions on open ballots, in one query for the page."""
    positions: dict[int, list[Position]] = {}
    if ballots:
        for position in session.scalars(
            select(Position)
            .where(
                Position.ballot_id.in_([b.id for b in ballots]),
                Position.superseded_at.is_(None),
            )
            .order_by(Position.id)
        ):
            positions.setdefault(position.ballot_id, []).append(position)
    return positions


def ballot_lists(
    session: Session,
    *,
    filters: BallotFilters | None = None,
    open_page: int = 1,
    closed_page: int = 1,
) -> BallotLists:
    """A page of each list, filtered, newest first; the queries do not grow with the ballots."""
    filters = filters or BallotFilters()
    newest = (Ballot.opened_at.desc(), Ballot.id.desc())
    kept = filters.query()
    # Each list's links keep the filters and the other list's page.
    opened = page_of(
        session,
        filtered(select(Ballot), filters)
        .where(Ballot.status == BallotStatus.open)
        .options(selectinload(Ballot.voters))
        .order_by(*newest),
        page=open_page,
        counted=True,
        filters={**kept, "page": str(closed_page) if closed_page > 1 else ""},
        param="open_page",
    )
    closed = page_of(
        session,
        filtered(select(Ballot), filters)
        .where(Ballot.status == BallotStatus.closed)
        .order_by(*newest),
        page=closed_page,
        counted=True,
        filters={**kept, "open_page": str(open_page) if open_page > 1 else ""},
    )
    positions = _live_positions(session, opened.items)
    resolutions: dict[int, Resolution] = {}
    if closed.items:
        resolutions = {
            r.ballot_id: r
            for r in session.scalars(
                select(Resolution).where(Resolution.ballot_id.in_([b.id for b in closed.items]))
            )
        }
    return BallotLists(
        open=opened.map(
            lambda b: (
                b,
                compute_tally(
                    rule=b.rule,
                    quorum_percent=b.quorum_percent,
                    voters=b.voters,
                    positions=positions.get(b.id, []),
                ),
            )
        ),
        closed=closed.map(lambda b: (b, resolutions.get(b.id))),
    )


# The export: one row per ballot and voter ----------------------------------------------------

EXPORT_COLUMNS = (
    "ballot",
    "title_es",
    "title_en",
    "kind",
    "status",
    "result",
    "resolution",
    "opened_at",
    "closes_at",
    "closed_at",
    "member",
    "seat",
    "conflict",
    "position",
    "position_text",
    "cast_at",
)


def _current_positions(session: Session, ids: list[int]) -> dict[tuple[int, int], Position]:
    """Each member's latest position on each ballot, by (ballot, member)."""
    if not ids:
        return {}
    rows = session.scalars(
        select(Position)
        .where(Position.ballot_id.in_(ids), Position.superseded_at.is_(None))
        .order_by(Position.id)
    )
    return {(p.ballot_id, p.member_id): p for p in rows}


def export_ballots(
    session: Session, *, actor: User, filters: BallotFilters, fmt: str, now: dt.datetime
) -> list[dict[str, Any]]:
    """The filtered ballots with each eligible member's position (audited); secretariat only."""
    if not actor.has_role(Role.secretariat):
        raise Forbidden()
    ballots = list(
        session.scalars(
            filtered(select(Ballot), filters)
            .options(selectinload(Ballot.voters))
            .order_by(Ballot.opened_at, Ballot.id)
        )
    )
    ids = [b.id for b in ballots]
    positions = _current_positions(session, ids)
    names = voters_by_member(session, sorted({v.member_id for b in ballots for v in b.voters}))
    numbers = {
        r.ballot_id: r.number
        for r in session.scalars(select(Resolution).where(Resolution.ballot_id.in_(ids)))
    }
    record_event(
        session,
        actor=actor,
        action="ballot.exported",
        object_type="ballots",
        object_id="",
        summary={"format": fmt, "ballots": len(ballots), **filters.query()},
        now=now,
    )
    rows: list[dict[str, Any]] = []
    for ballot in ballots:
        for voter in sorted(ballot.voters, key=lambda v: v.member_id):
            position = positions.get((ballot.id, voter.member_id))
            name = names.get(voter.member_id)
            rows.append(
                {
                    "ballot": ballot.id,
                    "title_es": ballot.title_es,
                    "title_en": ballot.title_en,
                    "kind": ballot.subject_type,
                    "status": ballot.status,
                    "result": ballot.result,
                    "resolution": numbers.get(ballot.id),
                    "opened_at": ballot.opened_at,
                    "closes_at": ballot.closes_at,
                    "closed_at": ballot.closed_at,
                    "member": name.name if name else "",
                    "seat": name.seat if name else "",
                    "conflict": voter.conflict,
                    "position": position.kind if position else None,
                    "position_text": position.text if position else "",
                    "cast_at": position.cast_at if position else None,
                }
            )
    return rows
