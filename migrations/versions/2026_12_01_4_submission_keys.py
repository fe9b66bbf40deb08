"""submission keys

Revision ID: 20261201_submission_keys
Revises: 20261125_quality_marks
Create Date: 2026-12-01 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_submission_keys"
down_revision: str | None = "20261201_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "submission_keys",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("result_url", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_submission_keys")),
    )
    op.create_index(
        "ix_submission_keys_created_at", "submission_keys", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_submission_keys_created_at", table_name="submission_keys")
    op.drop_table("submission_keys")
