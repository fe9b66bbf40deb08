"""worklists: indexes for searching the work lists

Revision ID: 20261201_worklists
Revises: 20261201_mail
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261201_worklists"
down_revision: str | None = "20261201_mail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The applications queue filtered by guideline version, newest change first.
    op.create_index(
        "ix_applications_version_updated",
        "applications",
        ["guideline_version_id", "updated_at", "id"],
    )
    # One object's audit history in order: the status history the queue's export carries.
    op.create_index("ix_audit_events_object", "audit_events", ["object_type", "object_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_object", table_name="audit_events")
    op.drop_index("ix_applications_version_updated", table_name="applications")
