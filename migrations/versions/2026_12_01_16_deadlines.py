"""deadlines: due dates for the secretariat's and companies' work

Revision ID: 20261201_deadlines
Revises: 20261201_complaints
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_deadlines"
down_revision: str | None = "20261201_complaints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, table, columns): the dashboards' lists, the most urgent first.
INDEXES = [
    # The screening queue, the longest waiting first.
    ("ix_applications_status_submitted", "applications", ["status", "submitted_at", "id"]),
    # Overdue reviews, across reviewers, the most overdue first.
    ("ix_application_reviews_status_due", "application_reviews", ["status", "due_on", "id"]),
]


def upgrade() -> None:
    # The day by which a request for information is to be answered (requests only).
    with op.batch_alter_table("application_messages") as batch:
        batch.add_column(sa.Column("due_on", sa.Date(), nullable=True))
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("application_messages") as batch:
        batch.drop_column("due_on")
