"""assignment: a reviewer's work list in due-date order

Revision ID: 20261201_assignment
Revises: 20261201_reviews
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261201_assignment"
down_revision: str | None = "20261201_reviews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("application_reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_application_reviews_reviewer_due", ["reviewer_id", "due_on", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("application_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_application_reviews_reviewer_due")
