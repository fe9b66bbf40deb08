"""rendered markdown: the sanitised HTML of every Markdown field, stored beside its source

Rows written before this revision have no HTML yet: `council db upgrade` runs
`council markdown render` after migrating, which fills it in. Also the two indexes the paginated
consultation page reads its comments and counts from.

Revision ID: 20261201_rendered_markdown
Revises: 20261201_submission_keys
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_rendered_markdown"
down_revision: str | None = "20261201_submission_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables holding Markdown (the models' `markdown_fields`); each gets the same two columns.
TABLES = (
    "guideline_versions",
    "guideline_principles",
    "guideline_criteria",
    "consultation_comments",
    "applications",
    "application_answers",
    "application_messages",
)


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("rendered", sa.JSON(), nullable=True))
            batch_op.add_column(sa.Column("rendered_revision", sa.Integer(), nullable=True))
    op.create_index(
        "ix_consultation_comments_arrival",
        "consultation_comments",
        ["version_id", "created_at", "id", "confirmed_at"],
    )
    op.create_index(
        "ix_consultation_comments_tallies",
        "consultation_comments",
        [
            "version_id",
            "target_code",
            "created_at",
            "id",
            "confirmed_at",
            "hidden_at",
            "commenter_type",
            "disposition",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_consultation_comments_tallies", table_name="consultation_comments")
    op.drop_index("ix_consultation_comments_arrival", table_name="consultation_comments")
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("rendered_revision")
            batch_op.drop_column("rendered")
