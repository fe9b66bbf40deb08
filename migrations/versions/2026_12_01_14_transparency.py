"""transparency log: leaves, complete subtrees' hashes and signed tree heads

Revision ID: 20261201_transparency
Revises: 20261201_search
Create Date: 2026-12-01 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_transparency"
down_revision: str | None = "20261201_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "log_leaves",
        sa.Column("leaf_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("certificate_number", sa.String(length=40), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.String(length=64), nullable=False),
        sa.Column("appended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_log_leaves")),
    )
    op.create_index(op.f("ix_log_leaves_kind"), "log_leaves", ["kind"], unique=False)
    op.create_index(
        op.f("ix_log_leaves_certificate_number"),
        "log_leaves",
        ["certificate_number"],
        unique=False,
    )
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("level", "position", name=op.f("pk_log_nodes")),
    )
    op.create_table(
        "signed_tree_heads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=100), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signed_tree_heads")),
    )
    op.create_index(
        op.f("ix_signed_tree_heads_tree_size"), "signed_tree_heads", ["tree_size"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_signed_tree_heads_tree_size"), table_name="signed_tree_heads")
    op.drop_table("signed_tree_heads")
    op.drop_table("log_nodes")
    op.drop_index(op.f("ix_log_leaves_certificate_number"), table_name="log_leaves")
    op.drop_index(op.f("ix_log_leaves_kind"), table_name="log_leaves")
    op.drop_table("log_leaves")
