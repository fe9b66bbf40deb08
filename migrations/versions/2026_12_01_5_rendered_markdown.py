"""rendered markdown

Revision ID: 20261201_rendered_markdown
Revises: 20261201_submission_keys
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

revision: str = "20261201_rendered_markdown"
down_revision: str | None = "20261201_submission_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by issue 10's work


def downgrade() -> None:
    pass
