"""complaints: what the public tells the council about certified products

Revision ID: 20261201_complaints
Revises: 20261201_transparency
Create Date: 2026-12-01 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_complaints"
down_revision: str | None = "20261201_transparency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The registry's new event kinds (complaint_*) need no change: the kind is a string column.
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "confirmed",
                "dismissed",
                "holder_asked",
                "surveillance",
                "closed",
                name="complaintstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirm_token_hash", sa.String(length=64), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dismissal_reason", sa.Text(), nullable=False),
        sa.Column("holder_message", sa.Text(), nullable=False),
        sa.Column("reply_by", sa.Date(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "unfounded",
                "corrected",
                "suspension",
                name="complaintoutcome",
                native_enum=False,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("outcome_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificates.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("confirm_token_hash"),
    )
    op.create_index("ix_complaints_certificate_id", "complaints", ["certificate_id"])
    op.create_index("ix_complaints_status_created", "complaints", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_complaints_status_created", table_name="complaints")
    op.drop_index("ix_complaints_certificate_id", table_name="complaints")
    op.drop_table("complaints")
