"""speed

Revision ID: 20261201_speed
Revises: 20261201_decisions
Create Date: 2026-12-01 14:00:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_speed"
down_revision: str | None = "20261201_decisions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Where each existing comment is counted (as guidelines.consultation.tally_standing says).
TALLY_EXISTING_COMMENTS = """
INSERT INTO consultation_tallies (version_id, target_code, commenter_type, standing, count)
SELECT version_id, target_code, commenter_type, standing, COUNT(*)
FROM (
    SELECT version_id, target_code, commenter_type,
        CASE
            WHEN confirmed_at IS NULL THEN 'unconfirmed'
            WHEN hidden_at IS NOT NULL THEN 'hidden'
            WHEN disposition IS NULL THEN 'awaiting'
            ELSE disposition
        END AS standing
    FROM consultation_comments
) AS counted
GROUP BY version_id, target_code, commenter_type, standing
"""


def upgrade() -> None:
    generation = op.create_table(
        "document_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_generation")),
    )
    op.bulk_insert(generation, [{"id": 1, "generation": 0, "changed_at": dt.datetime.now(dt.UTC)}])
    op.create_table(
        "consultation_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("target_code", sa.String(length=20), nullable=False),
        sa.Column(
            "commenter_type",
            sa.Enum(
                "individual",
                "company",
                "academia",
                "civil_society",
                "government",
                name="commentertype",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("standing", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["guideline_versions.id"],
            name=op.f("fk_consultation_tallies_version_id_guideline_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_tallies")),
        sa.UniqueConstraint(
            "version_id",
            "target_code",
            "commenter_type",
            "standing",
            name=op.f("uq_consultation_tallies_version_id"),
        ),
    )
    op.execute(TALLY_EXISTING_COMMENTS)


def downgrade() -> None:
    op.drop_table("consultation_tallies")
    op.drop_table("document_generation")
