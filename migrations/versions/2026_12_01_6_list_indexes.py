"""list indexes: one for each order and filter the paginated work lists use

Revision ID: 20261201_list_indexes
Revises: 20261201_rendered_markdown
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261201_list_indexes"
down_revision: str | None = "20261201_rendered_markdown"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, table, columns): each list's filter first, then its order with the id that breaks ties.
INDEXES = [
    ("ix_applications_updated", "applications", ["updated_at", "id"]),
    ("ix_applications_status_updated", "applications", ["status", "updated_at", "id"]),
    (
        "ix_applications_organization_updated",
        "applications",
        ["organization_id", "updated_at", "id"],
    ),
    ("ix_applications_product_updated", "applications", ["product_id", "updated_at", "id"]),
    (
        "ix_organizations_verification_created",
        "organizations",
        ["verification", "created_at", "id"],
    ),
    ("ix_products_organization_name", "products", ["organization_id", "name", "id"]),
    ("ix_ballots_status_opened", "ballots", ["status", "opened_at", "id"]),
    ("ix_resolutions_issued", "resolutions", ["issued_at", "id"]),
]
# The consultation page's indexes come with the previous migration (arrival order and tallies).


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
