"""The registry's statistics: counts of issued certificates by sector, level, state, status and
month of issue, each drawn as an accessible bar chart with its data table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.errors import N_
from quality_marks.certificate_history import STATUS_LABELS
from quality_marks.certificate_models import ISSUED_CERTIFICATES, Certificate
from quality_marks.decisions import LEVEL_LABELS
from quality_marks.models import Organization

_ISSUED = tuple(status.value for status in ISSUED_CERTIFICATES)
# One row per sector a certificate's product is in: the JSON list unnested by the database.
_SECTOR_SQL = {
    "sqlite": (
        "SELECT s.value AS label, COUNT(*) AS n FROM certificates c "
        "JOIN products p ON p.id = c.product_id, json_each(p.sectors) s "
        "WHERE c.status IN ({issued}) GROUP BY s.value"
    ),
    "postgresql": (
        "SELECT s.value AS label, COUNT(*) AS n FROM certificates c "
        "JOIN products p ON p.id = c.product_id "
        "CROSS JOIN LATERAL json_array_elements_text(p.sectors) AS s(value) "
        "WHERE c.status IN ({issued}) GROUP BY s.value"
    ),
}
# The month of issue as "YYYY-MM" (issued_at is UTC; a month is counted as the registry stores it).
_MONTH = {
    "sqlite": lambda column: func.strftime("%Y-%m", column),
    "postgresql": lambda column: func.to_char(column, "YYYY-MM"),
}


@dataclass(frozen=True)
class Chart:
    """One statistic: its title, and the (label, count) bars, labels as the public reads them."""

    key: str
    title: str  # msgid
    bars: list[tuple[str, int]]
    translate: bool  # whether labels are msgids

    @property
    def top(self) -> int:
        """The longest bar's count (at least one, so an empty chart still has a scale)."""
        return max([count for _label, count in self.bars] or [1]) or 1


def _grouped(session: Session, column: Any) -> list[tuple[str, int]]:
    rows = session.execute(
        select(column, func.count(Certificate.id))
        .select_from(Certificate)
        .join(Organization, Organization.id == Certificate.organization_id)
        .where(Certificate.status.in_(ISSUED_CERTIFICATES))
        .group_by(column)
    ).all()
    return [(str(label), int(count)) for label, count in rows if label is not None]


def registry_statistics(session: Session) -> list[Chart]:
    """The counts of issued certificates the statistics page draws, each grouped in the database."""
    dialect = session.get_bind().dialect.name
    issued = ", ".join(f"'{status}'" for status in _ISSUED)  # constants, not user input
    sectors = session.execute(text(_SECTOR_SQL[dialect].format(issued=issued))).all()
    by_sector = sorted(((str(label), int(n)) for label, n in sectors), key=lambda b: (-b[1], b[0]))
    by_level = sorted(_grouped(session, Certificate.level))
    by_state = sorted(_grouped(session, Organization.state), key=lambda b: (-b[1], b[0]))
    statuses = dict(_grouped(session, Certificate.status))
    by_status = [
        (STATUS_LABELS[status], statuses[status.value])
        for status in ISSUED_CERTIFICATES
        if status.value in statuses
    ]
    by_month = sorted(_grouped(session, _MONTH[dialect](Certificate.issued_at)))
    return [
        Chart("sector", N_("Certificates by sector"), by_sector, translate=False),
        Chart(
            "level",
            N_("Certificates by level of the mark"),
            [(LEVEL_LABELS.get(level, level), n) for level, n in by_level],
            translate=True,
        ),
        Chart("state", N_("Certificates by state of the holder"), by_state, translate=False),
        Chart("status", N_("Certificates by status"), by_status, translate=True),
        Chart("month", N_("Certificates by month of issue"), by_month, translate=False),
    ]
