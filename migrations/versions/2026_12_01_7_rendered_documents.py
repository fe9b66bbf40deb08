"""rendered documents

Revision ID: 20261201_rendered_documents
Revises: 20261201_list_indexes
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_rendered_documents"
down_revision: str | None = "20261201_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rendered_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("revision", sa.String(length=64), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rendered_documents")),
        sa.UniqueConstraint(
            "kind", "key", "language", "revision", name=op.f("uq_rendered_documents_kind")
        ),
    )
    with op.batch_alter_table("rendered_documents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rendered_documents_kind_subject", ["kind", "subject"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rendered_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_rendered_documents_kind_subject")
    op.drop_table("rendered_documents")
