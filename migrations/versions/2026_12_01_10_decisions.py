"""decisions

Revision ID: 20261201_decisions
Revises: 20261201_assignment
Create Date: 2026-12-01 14:00:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_decisions"
down_revision: str | None = "20261201_assignment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rule quality_marks.decisions.DEFAULT_RULE published, copied: migrations import no models.
DEFAULT_RULE = {
    "levels": [
        {"code": "A", "max_major": 0, "max_minor": 0},
        {"code": "B", "max_major": 0, "max_minor": 3},
    ]
}


def upgrade() -> None:
    with op.batch_alter_table("application_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("appeal_until", sa.Date(), nullable=True))
    # Versions adopted before rules were published get the default rule, frozen now.
    versions = sa.table(
        "guideline_versions", sa.column("id", sa.Integer), sa.column("status", sa.String)
    )
    rules = sa.table(
        "mark_rules",
        sa.column("guideline_version_id", sa.Integer),
        sa.column("rule", sa.JSON),
        sa.column("published_at", sa.DateTime(timezone=True)),
    )
    connection = op.get_bind()
    published = set(connection.scalars(sa.select(rules.c.guideline_version_id)))
    adopted = connection.scalars(
        sa.select(versions.c.id).where(versions.c.status.in_(["adopted", "superseded"]))
    ).all()
    now = dt.datetime.now(dt.UTC)
    missing = [
        {"guideline_version_id": version_id, "rule": DEFAULT_RULE, "published_at": now}
        for version_id in adopted
        if version_id not in published
    ]
    if missing:
        op.bulk_insert(rules, missing)


def downgrade() -> None:
    with op.batch_alter_table("application_decisions", schema=None) as batch_op:
        batch_op.drop_column("appeal_until")
