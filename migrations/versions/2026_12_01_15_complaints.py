"""complaints (issue 13; filled in by its branch)

Revision ID: 20261201_complaints
Revises: 20261201_transparency
Create Date: 2026-12-01 17:30:00
"""

from collections.abc import Sequence

revision: str = "20261201_complaints"
down_revision: str | None = "20261201_transparency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
