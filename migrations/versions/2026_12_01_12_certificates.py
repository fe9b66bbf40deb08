"""certificates: the numbers given, the certificates, the registry's public history

Revision ID: 20261201_certificates
Revises: 20261201_speed
Create Date: 2026-12-01 16:22:52.185614
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_certificates"
down_revision: str | None = "20261201_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "certificate_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_certificate_counters")),
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("guideline_version_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "issuing",
                "valid",
                "suspended",
                "withdrawn",
                "expired",
                "superseded",
                "void",
                name="certificatestatus",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("template_version", sa.String(length=40), nullable=False),
        sa.Column("status_list_index", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("allocated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=100), nullable=True),
        sa.Column("credential", sa.Text(), nullable=True),
        sa.Column("pdf_key", sa.String(length=100), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("pdf_size", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirm_suspension_by", sa.Date(), nullable=True),
        sa.Column(
            "withdrawal_reason",
            sa.Enum(
                "nonconformity",
                "misuse",
                "holder_request",
                "fraud",
                "discontinued",
                name="withdrawalreason",
                native_enum=False,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("void_reason", sa.Text(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("renewal_application_id", sa.Integer(), nullable=True),
        sa.Column("reminded_days_before", sa.Integer(), nullable=True),
        sa.Column("reassess_version_id", sa.Integer(), nullable=True),
        sa.Column("reassess_by", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_certificates_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["application_decisions.id"],
            name=op.f("fk_certificates_decision_id_application_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["guideline_version_id"],
            ["guideline_versions.id"],
            name=op.f("fk_certificates_guideline_version_id_guideline_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_certificates_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_certificates_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["reassess_version_id"],
            ["guideline_versions.id"],
            name=op.f("fk_certificates_reassess_version_id_guideline_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["renewal_application_id"],
            ["applications.id"],
            name=op.f("fk_certificates_renewal_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["certificates.id"],
            name=op.f("fk_certificates_supersedes_id_certificates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("number", name=op.f("uq_certificates_number")),
        sa.UniqueConstraint("status_list_index", name=op.f("uq_certificates_status_list_index")),
        sa.UniqueConstraint("year", "serial", name=op.f("uq_certificates_year")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificates_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_certificates_decision_id"), ["decision_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_certificates_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_certificates_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index(
            "ix_certificates_status_valid_until", ["status", "valid_until"], unique=False
        )
        batch_op.create_index(
            "uq_certificates_live_application",
            ["application_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('issuing', 'valid', 'suspended')"),
            postgresql_where=sa.text("status IN ('issuing', 'valid', 'suspended')"),
        )

    op.create_table(
        "registry_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "issued",
                "suspended",
                "reinstated",
                "withdrawn",
                "expired",
                "superseded",
                "voided",
                "reassessment_requested",
                name="registryeventkind",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason_code", sa.String(length=30), nullable=True),
        sa.Column("public_reason", sa.JSON(), nullable=False),
        sa.Column("resolution", sa.String(length=40), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_registry_events_certificate_id_certificates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_events")),
    )
    with op.batch_alter_table("registry_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registry_events_certificate", ["certificate_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_events_occurred_at"), ["occurred_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("registry_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_events_occurred_at"))
        batch_op.drop_index("ix_registry_events_certificate")

    op.drop_table("registry_events")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_certificates_live_application",
            sqlite_where=sa.text("status IN ('issuing', 'valid', 'suspended')"),
            postgresql_where=sa.text("status IN ('issuing', 'valid', 'suspended')"),
        )
        batch_op.drop_index("ix_certificates_status_valid_until")
        batch_op.drop_index(batch_op.f("ix_certificates_product_id"))
        batch_op.drop_index(batch_op.f("ix_certificates_organization_id"))
        batch_op.drop_index(batch_op.f("ix_certificates_decision_id"))
        batch_op.drop_index(batch_op.f("ix_certificates_application_id"))

    op.drop_table("certificates")
    op.drop_table("certificate_counters")
