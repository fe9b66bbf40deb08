"""search: the registry's entries, their sectors, and the full-text index of each backend

Revision ID: 20261201_search
Revises: 20261201_certificates
Create Date: 2026-12-01 17:30:00
"""

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_search"
down_revision: str | None = "20261201_certificates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ISSUED = ("valid", "suspended", "withdrawn", "expired", "superseded")
# Characters the search uses to mark hits in snippets: never part of indexed text.
MARKS = ("\ue000", "\ue001")

SQLITE_FTS = [
    # External content: the words live once, in registry_entries; triggers keep the index in
    # step within the same transaction.
    "CREATE VIRTUAL TABLE registry_fts USING fts5(search_text, content='registry_entries', "
    "content_rowid='certificate_id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER registry_fts_insert AFTER INSERT ON registry_entries BEGIN "
    "INSERT INTO registry_fts(rowid, search_text) VALUES (new.certificate_id, new.search_text); "
    "END",
    "CREATE TRIGGER registry_fts_delete AFTER DELETE ON registry_entries BEGIN "
    "INSERT INTO registry_fts(registry_fts, rowid, search_text) "
    "VALUES ('delete', old.certificate_id, old.search_text); END",
    "CREATE TRIGGER registry_fts_update AFTER UPDATE ON registry_entries BEGIN "
    "INSERT INTO registry_fts(registry_fts, rowid, search_text) "
    "VALUES ('delete', old.certificate_id, old.search_text); "
    "INSERT INTO registry_fts(rowid, search_text) VALUES (new.certificate_id, new.search_text); "
    "END",
]
POSTGRES_FTS = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    # Spanish stemming after accents are removed, so "educacion" finds "educación".
    "CREATE TEXT SEARCH CONFIGURATION council_es (COPY = spanish)",
    "ALTER TEXT SEARCH CONFIGURATION council_es ALTER MAPPING FOR hword, hword_part, word "
    "WITH unaccent, spanish_stem",
    "ALTER TABLE registry_entries ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('council_es'::regconfig, search_text)) STORED",
    "CREATE INDEX ix_registry_entries_search_vector ON registry_entries USING gin (search_vector)",
]


def upgrade() -> None:
    op.create_table(
        "registry_entries",
        sa.Column("certificate_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("sectors", sa.JSON(), nullable=False),
        sa.Column("primary_sector", sa.String(length=60), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("guideline_slug", sa.String(length=80), nullable=False),
        sa.Column("guideline_version", sa.String(length=20), nullable=False),
        sa.Column("guideline_title_es", sa.String(length=300), nullable=False),
        sa.Column("guideline_title_en", sa.String(length=300), nullable=False),
        sa.Column("issued_year", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("organization_name", sa.String(length=200), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_name", sa.String(length=200), nullable=False),
        sa.Column("product_identifier", sa.String(length=40), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_registry_entries_certificate_id_certificates"),
        ),
        sa.PrimaryKeyConstraint("certificate_id", name=op.f("pk_registry_entries")),
        sa.UniqueConstraint("number", name=op.f("uq_registry_entries_number")),
    )
    with op.batch_alter_table("registry_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registry_entries_issued_on", ["issued_on", "certificate_id"], unique=False
        )
        batch_op.create_index(
            "ix_registry_entries_valid_until", ["valid_until", "certificate_id"], unique=False
        )
        for column in (
            "status",
            "level",
            "state",
            "guideline_version",
            "issued_year",
            "organization_id",
            "product_id",
        ):
            batch_op.create_index(
                batch_op.f(f"ix_registry_entries_{column}"), [column], unique=False
            )
    op.create_table(
        "registry_entry_sectors",
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("sector", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["registry_entries.certificate_id"],
            name=op.f("fk_registry_entry_sectors_certificate_id_registry_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("certificate_id", "sector", name=op.f("pk_registry_entry_sectors")),
    )
    with op.batch_alter_table("registry_entry_sectors", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registry_entry_sectors_sector", ["sector", "certificate_id"], unique=False
        )
    bind = op.get_bind()
    for statement in SQLITE_FTS if bind.dialect.name == "sqlite" else POSTGRES_FTS:
        op.execute(statement)
    _fill_entries(bind)


def _clean(text: str) -> str:
    return text.replace(MARKS[0], " ").replace(MARKS[1], " ")


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _fill_entries(bind: sa.Connection) -> None:
    """The entries of the certificates issued before this revision (as the service builds them)."""
    rows = bind.execute(
        sa.text(
            "SELECT c.id, c.number, c.status, c.level, c.payload, c.valid_from, c.valid_until, "
            "o.id AS org_id, o.legal_name, o.state, p.id AS product_id, p.name, p.identifier, "
            "p.provider, p.deployer, p.sectors, g.slug, g.title_es, g.title_en, "
            "v.number AS version, c.application_id "
            "FROM certificates c JOIN organizations o ON o.id = c.organization_id "
            "JOIN products p ON p.id = c.product_id "
            "JOIN guideline_versions v ON v.id = c.guideline_version_id "
            "JOIN guidelines g ON g.id = v.guideline_id "
            "WHERE c.status IN ('valid', 'suspended', 'withdrawn', 'expired', 'superseded')"
        )
    ).mappings()
    entries = sa.table(
        "registry_entries",
        sa.column("sectors", sa.JSON()),
        *(
            sa.column(name)
            for name in [
                "certificate_id",
                "number",
                "status",
                "level",
                "primary_sector",
                "state",
                "guideline_slug",
                "guideline_version",
                "guideline_title_es",
                "guideline_title_en",
                "issued_year",
                "issued_on",
                "valid_until",
                "organization_id",
                "organization_name",
                "product_id",
                "product_name",
                "product_identifier",
                "search_text",
            ]
        ),
    )
    sectors_table = sa.table(
        "registry_entry_sectors", sa.column("certificate_id"), sa.column("sector")
    )
    for row in list(rows):
        sectors = list(dict.fromkeys(_loaded(row["sectors"]) or []))
        payload = _loaded(row["payload"]) or {}
        valid_from = row["valid_from"]
        if isinstance(valid_from, str):
            valid_from = dt.date.fromisoformat(valid_from)
        issued_on = dt.date.fromisoformat(payload.get("issued_on") or valid_from.isoformat())
        justifications = bind.execute(
            sa.text(
                "SELECT justification FROM application_answers WHERE application_id = :a "
                "AND justification_public ORDER BY criterion_code"
            ),
            {"a": row["application_id"]},
        ).scalars()
        words = [
            row["name"],
            row["identifier"],
            row["legal_name"],
            row["provider"],
            row["deployer"],
            *sectors,
            row["title_es"],
            *(text for text in justifications if text),
        ]
        bind.execute(
            entries.insert().values(
                certificate_id=row["id"],
                number=row["number"],
                status=row["status"],
                level=row["level"],
                sectors=sectors,
                primary_sector=sectors[0] if sectors else "",
                state=row["state"],
                guideline_slug=row["slug"],
                guideline_version=row["version"],
                guideline_title_es=row["title_es"],
                guideline_title_en=row["title_en"],
                issued_year=issued_on.year,
                issued_on=issued_on,
                valid_until=row["valid_until"],
                organization_id=row["org_id"],
                organization_name=row["legal_name"],
                product_id=row["product_id"],
                product_name=row["name"],
                product_identifier=row["identifier"],
                search_text=_clean("\n".join(word for word in words if word)),
            )
        )
        for sector in sectors:
            bind.execute(sectors_table.insert().values(certificate_id=row["id"], sector=sector))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("registry_fts_insert", "registry_fts_delete", "registry_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS registry_fts")
    op.drop_table("registry_entry_sectors")
    op.drop_table("registry_entries")
    if bind.dialect.name == "postgresql":
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS council_es")
