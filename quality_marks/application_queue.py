"""The secretariat's queue of applications: searched, filtered, paged and exported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from core.accounts import Role, User
from core.api import PageParams, paginate, parse_int
from core.audit import AuditEvent, record_event
from core.errors import N_, Forbidden
from core.pagination import AnySelect, PageOf, page_of
from core.search import chosen, matches_text, search_text
from guidelines.models import Guideline, GuidelineVersion
from quality_marks.models import Application, ApplicationStatus, Organization, Product
from quality_marks.organizations import member_of

# The ages the queue filters by: nothing has happened to the application for more than N days.
WAITING_DAYS = (7, 30, 90)
WAITING_LABELS = {
    7: N_("Waiting more than 7 days"),
    30: N_("Waiting more than 30 days"),
    90: N_("Waiting more than 90 days"),
}
Q = TypeVar("Q", bound=AnySelect)
# Exports read the history of this many applications per query.
HISTORY_BATCH = 500


@dataclass(frozen=True)
class QueueFilters:
    """What the queue is filtered by: typed text, a status, a guideline version, an age."""

    text: str = ""
    status: ApplicationStatus | None = None
    version_id: int | None = None
    waiting_days: int | None = None

    def query(self) -> dict[str, str]:
        """The filters as the query string of the queue's address."""
        return {
            "q": self.text,
            "status": self.status.value if self.status else "",
            "version": str(self.version_id or ""),
            "waiting": str(self.waiting_days or ""),
        }

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(self.query().values())


def queue_filters(
    *, text: object = "", status: object = "", version: object = "", waiting: object = ""
) -> QueueFilters:
    """The filters as a person's address gives them; what is not a known value is left out."""
    days = parse_int(waiting)
    return QueueFilters(
        text=search_text(text),
        status=chosen(ApplicationStatus, status),
        version_id=parse_int(version),
        waiting_days=days if days in WAITING_DAYS else None,
    )


def _number_match(text: str) -> int | None:
    """The application number a search names ("12" or "#12"), if it is one."""
    return parse_int(text.removeprefix("#").strip())


def filtered(query: Q, filters: QueueFilters, now: dt.datetime) -> Q:
    """A select of applications joined to their organisation and product, with the filters."""
    query = query.join(Organization, Organization.id == Application.organization_id).join(
        Product, Product.id == Application.product_id
    )
    if filters.text:
        words = matches_text(filters.text, Organization.legal_name, Product.name, Product.version)
        number = _number_match(filters.text)
        query = query.where(or_(words, Application.id == number) if number else words)
    if filters.status is not None:
        query = query.where(Application.status == filters.status)
    if filters.version_id is not None:
        query = query.where(Application.guideline_version_id == filters.version_id)
    if filters.waiting_days is not None:
        query = query.where(Application.updated_at < now - dt.timedelta(days=filters.waiting_days))
    return query


def application_queue(
    session: Session, *, filters: QueueFilters, now: dt.datetime, page: int = 1
) -> PageOf[Application]:
    """One page of the secretariat's queue, filtered: newest activity first, counted."""
    query = filtered(select(Application), filters, now).options(
        contains_eager(Application.organization), contains_eager(Application.product)
    )
    query = query.order_by(Application.updated_at.desc(), Application.id.desc())
    return page_of(session, query, page=page, counted=True, filters=filters.query())


def applications_for(
    session: Session,
    user: User,
    *,
    filters: QueueFilters,
    now: dt.datetime,
    params: PageParams,
) -> tuple[list[Application], int]:
    """One page of the applications of the person's organisations (the secretariat: all),
    filtered; newest change first, each with its guideline version."""
    query = (
        filtered(select(Application), filters, now)
        .options(joinedload(Application.guideline_version).joinedload(GuidelineVersion.guideline))
        .order_by(Application.updated_at.desc(), Application.id.desc())
    )
    if not user.has_role(Role.secretariat):
        query = query.where(Application.organization_id.in_(member_of(user)))
    return paginate(session, query, params)


@dataclass(frozen=True)
class VersionChoice:
    """A guideline version applications were made against, as the version filter offers it."""

    id: int
    number: str
    title_es: str
    title_en: str


def version_choices(session: Session) -> list[VersionChoice]:
    """The guideline versions that have applications, by guideline and number."""
    rows = session.execute(
        select(GuidelineVersion.id, GuidelineVersion.number, Guideline.title_es, Guideline.title_en)
        .join(Guideline, Guideline.id == GuidelineVersion.guideline_id)
        .where(
            GuidelineVersion.id.in_(select(Application.guideline_version_id).distinct()),
        )
        .order_by(Guideline.title_es, GuidelineVersion.id)
    )
    return [VersionChoice(*row) for row in rows]


# The export ----------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "number",
    "organisation",
    "rfc",
    "product",
    "product_version",
    "guideline",
    "guideline_version",
    "risk_level",
    "status",
    "decision",
    "created_at",
    "submitted_at",
    "updated_at",
    "decided_at",
    "history",
)


def _histories(session: Session, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Each application's status history from the audit log: when, what, the status after it."""
    found: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), HISTORY_BATCH):
        batch = [str(i) for i in ids[start : start + HISTORY_BATCH]]
        events = session.execute(
            select(
                AuditEvent.object_id, AuditEvent.occurred_at, AuditEvent.action, AuditEvent.summary
            )
            .where(AuditEvent.object_type == "application", AuditEvent.object_id.in_(batch))
            .order_by(AuditEvent.id)
        )
        for object_id, occurred_at, action, summary in events:
            found.setdefault(int(object_id), []).append(
                {
                    "at": occurred_at,
                    "action": action.removeprefix("application."),
                    "status": summary.get("status", "") if isinstance(summary, dict) else "",
                }
            )
    return found


def _history_text(history: list[dict[str, Any]]) -> list[str]:
    return [f"{item['at'].isoformat()} {item['action']} → {item['status']}" for item in history]


def export_queue(
    session: Session,
    *,
    actor: User,
    filters: QueueFilters,
    fmt: str,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The filtered queue with each application's status history, for the secretariat's reports.

    The export is recorded in the audit log with its filters.
    """
    if not actor.has_role(Role.secretariat):
        raise Forbidden()
    rows = session.execute(
        filtered(
            select(Application, Organization, Product, GuidelineVersion, Guideline), filters, now
        )
        .join(GuidelineVersion, GuidelineVersion.id == Application.guideline_version_id)
        .join(Guideline, Guideline.id == GuidelineVersion.guideline_id)
        .order_by(Application.id)
    ).all()
    histories = _histories(session, [row[0].id for row in rows])
    record_event(
        session,
        actor=actor,
        action="application.exported",
        object_type="application_queue",
        object_id="",
        summary={"format": fmt, "rows": len(rows), **filters.query()},
        now=now,
    )
    as_text = fmt == "csv"
    return [
        {
            "number": application.id,
            "organisation": organization.legal_name,
            "rfc": organization.rfc,
            "product": product.name,
            "product_version": product.version,
            "guideline": guideline.title_es,
            "guideline_version": version.number,
            "risk_level": application.risk_level,
            "status": application.status,
            "decision": application.decision,
            "created_at": application.created_at,
            "submitted_at": application.submitted_at,
            "updated_at": application.updated_at,
            "decided_at": application.decided_at,
            "history": _history_text(history) if as_text else history,
        }
        for application, organization, product, version, guideline in rows
        for history in [histories.get(application.id, [])]
    ]
