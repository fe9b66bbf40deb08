"""worklists: indexes for searching the work lists

Revision ID: 20261201_worklists
Revises: 20261201_mail
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

revision: str = "20261201_worklists"
down_revision: str | None = "20261201_mail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A slot kept for issue 14's work; it changes nothing until that work fills it.
    pass


def downgrade() -> None:
    pass
