"""governance: a draft's base version and the log of consultation period changes

Revision ID: 20261201_governance
Revises: 20261125_quality_marks
Create Date: 2026-12-01 08:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_governance"
down_revision: str | None = "20261125_quality_marks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consultation_period_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "extended",
                "closed_early",
                name="periodchange",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("old_closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("new_closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_consultation_period_changes_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["guideline_versions.id"],
            name=op.f("fk_consultation_period_changes_version_id_guideline_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_period_changes")),
    )
    with op.batch_alter_table("consultation_period_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consultation_period_changes_version_id"), ["version_id"], unique=False
        )
    with op.batch_alter_table("guideline_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_version_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_guideline_versions_base_version_id_guideline_versions"),
            "guideline_versions",
            ["base_version_id"],
            ["id"],
        )
    # A draft copied from an adopted version builds on it until it is rebased.
    op.execute(
        "UPDATE guideline_versions SET base_version_id = based_on_id "
        "WHERE based_on_id IN (SELECT id FROM guideline_versions "
        "WHERE status IN ('adopted', 'superseded'))"
    )


def downgrade() -> None:
    with op.batch_alter_table("guideline_versions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_guideline_versions_base_version_id_guideline_versions"),
            type_="foreignkey",
        )
        batch_op.drop_column("base_version_id")
    with op.batch_alter_table("consultation_period_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultation_period_changes_version_id"))
    op.drop_table("consultation_period_changes")
