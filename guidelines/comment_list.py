"""The secretariat's list of a consultation's comments: searched, filtered, paged and exported."""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.accounts import User
from core.audit import record_event
from core.errors import N_, Forbidden
from core.pagination import PageOf, page_of
from core.search import chosen, matches_text, search_text
from guidelines.consultation import comment_targets
from guidelines.models import ConsultationComment, Disposition, GuidelineVersion
from guidelines.service import is_staff

# The criterion filter's value for the comments about the whole draft (codes are upper case).
WHOLE_DRAFT = "draft"
_CODE = re.compile(r"[A-Za-z0-9.\-]{1,20}")


class CommentState(enum.StrEnum):
    """Where a comment stands in the secretariat's work."""

    unconfirmed = "unconfirmed"  # its author has not followed the e-mailed link
    hidden = "hidden"  # published, then hidden by the secretariat
    awaiting = "awaiting"  # published, no disposition yet
    answered = "answered"  # published and given a disposition


STATE_LABELS = {
    CommentState.unconfirmed: N_("Unconfirmed"),
    CommentState.hidden: N_("Hidden"),
    CommentState.awaiting: N_("Awaiting a disposition"),
    CommentState.answered: N_("Answered"),
}

C = ConsultationComment
STATE_CONDITIONS: dict[CommentState, tuple[ColumnElement[bool], ...]] = {
    CommentState.unconfirmed: (C.confirmed_at.is_(None),),
    CommentState.hidden: (C.confirmed_at.is_not(None), C.hidden_at.is_not(None)),
    CommentState.awaiting: (
        C.confirmed_at.is_not(None),
        C.hidden_at.is_(None),
        C.disposition.is_(None),
    ),
    CommentState.answered: (
        C.confirmed_at.is_not(None),
        C.hidden_at.is_(None),
        C.disposition.is_not(None),
    ),
}


def state_of(comment: ConsultationComment) -> CommentState:
    """Where one comment stands."""
    if comment.confirmed_at is None:
        return CommentState.unconfirmed
    if comment.hidden_at is not None:
        return CommentState.hidden
    return CommentState.awaiting if comment.disposition is None else CommentState.answered


@dataclass(frozen=True)
class CommentFilters:
    """What the list is filtered by: typed text, the part of the draft, a state, a disposition."""

    text: str = ""
    # None: every part; "" the whole draft; else a principle's or criterion's code.
    target_code: str | None = None
    state: CommentState | None = None
    disposition: Disposition | None = None

    def query(self) -> dict[str, str]:
        """The filters as the query string of the list's address."""
        target = "" if self.target_code is None else (self.target_code or WHOLE_DRAFT)
        return {
            "q": self.text,
            "criterion": target,
            "state": self.state.value if self.state else "",
            "disposition": self.disposition.value if self.disposition else "",
        }

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(self.query().values())


def _target(raw: object) -> str | None:
    if not isinstance(raw, str) or not raw:
        return None
    if raw == WHOLE_DRAFT:
        return ""
    return raw.upper() if _CODE.fullmatch(raw) else None


def comment_filters(
    *, text: object = "", criterion: object = "", state: object = "", disposition: object = ""
) -> CommentFilters:
    """The filters as a person's address gives them; what is not a known value is left out."""
    return CommentFilters(
        text=search_text(text),
        target_code=_target(criterion),
        state=chosen(CommentState, state),
        disposition=chosen(Disposition, disposition),
    )


def filtered(
    version: GuidelineVersion, filters: CommentFilters, *, staff: bool = True
) -> Select[ConsultationComment]:
    """A version's comments with the filters, in order of arrival.

    Without `staff`, only published comments, and only their public text is searched.
    """
    query = select(C).where(C.version_id == version.id)
    if not staff:
        query = query.where(C.confirmed_at.is_not(None))
    if filters.text:
        # The public never finds a hidden comment by its text, nor anyone by an address.
        searched = [C.body, C.author_name, C.organisation, C.response]
        if staff:
            searched.append(C.email)
        else:
            query = query.where(C.hidden_at.is_(None))
        query = query.where(matches_text(filters.text, *searched))
    if filters.target_code is not None:
        query = query.where(C.target_code == filters.target_code)
    if filters.state is not None:
        query = query.where(*STATE_CONDITIONS[filters.state])
    if filters.disposition is not None:
        query = query.where(C.disposition == filters.disposition)
    return query.order_by(C.created_at, C.id)


def _require_staff(actor: User | None) -> User:
    if actor is None or not is_staff(actor):
        raise Forbidden()
    return actor


def comment_list(
    session: Session,
    version: GuidelineVersion,
    *,
    actor: User | None,
    filters: CommentFilters,
    page: int = 1,
) -> PageOf[ConsultationComment]:
    """One page of a consultation's comments for the secretariat, filtered and counted."""
    _require_staff(actor)
    return page_of(
        session, filtered(version, filters), page=page, counted=True, filters=filters.query()
    )


@dataclass(frozen=True)
class TargetChoice:
    """A part of the draft as the criterion filter offers it."""

    value: str
    code: str
    kind: str
    title_es: str
    title_en: str


def target_choices(version: GuidelineVersion) -> list[TargetChoice]:
    """The whole draft, then each principle and its criteria, in document order."""
    return [
        TargetChoice(t.code or WHOLE_DRAFT, t.code, t.kind, t.title_es, t.title_en)
        for t in comment_targets(version)
    ]


EXPORT_COLUMNS = (
    "id",
    "received_at",
    "confirmed_at",
    "target",
    "commenter_type",
    "author_name",
    "organisation",
    "email",
    "language",
    "state",
    "body",
    "disposition",
    "response",
    "changed_codes",
    "disposed_at",
    "hidden_at",
    "hidden_reason",
)


def export_comments(
    session: Session,
    version: GuidelineVersion,
    *,
    actor: User | None,
    filters: CommentFilters,
    fmt: str,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The filtered comments with their dispositions, for the secretariat's reports (audited)."""
    staff = _require_staff(actor)
    comments = list(session.scalars(filtered(version, filters)))
    record_event(
        session,
        actor=staff,
        action="consultation.comments_exported",
        object_type="guideline_version",
        object_id=version.id,
        summary={"format": fmt, "rows": len(comments), **filters.query()},
        now=now,
    )
    return [
        {
            "id": c.id,
            "received_at": c.created_at,
            "confirmed_at": c.confirmed_at,
            "target": c.target_code,
            "commenter_type": c.commenter_type,
            "author_name": c.author_name,
            "organisation": c.organisation,
            "email": c.email,
            "language": c.locale,
            "state": state_of(c),
            "body": c.body,
            "disposition": c.disposition,
            "response": c.response,
            "changed_codes": c.changed_codes,
            "disposed_at": c.disposed_at,
            "hidden_at": c.hidden_at,
            "hidden_reason": c.hidden_reason,
        }
        for c in comments
    ]
