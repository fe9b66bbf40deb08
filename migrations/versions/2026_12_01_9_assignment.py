"""assignment

Revision ID: 20261201_assignment
Revises: 20261201_reviews
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

revision: str = "20261201_assignment"
down_revision: str | None = "20261201_reviews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
