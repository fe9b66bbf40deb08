"""decisions

Revision ID: 20261201_decisions
Revises: 20261201_review_work
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

revision: str = "20261201_decisions"
down_revision: str | None = "20261201_review_work"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
