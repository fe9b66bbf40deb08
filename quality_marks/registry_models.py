"""Tables of the public registry's search: one entry per issued certificate, its public fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

# Objects the migration creates beside these tables that no model describes: the SQLite FTS5
# index (and its shadow tables), PostgreSQL's generated tsvector column and its GIN index.
SEARCH_TABLE_PREFIX = "registry_fts"
SEARCH_VECTOR_COLUMN = "search_vector"
SEARCH_VECTOR_INDEX = "ix_registry_entries_search_vector"


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Whether Alembic compares an object: not the search index objects only the migration knows."""
    if type_ == "table" and name is not None and name.startswith(SEARCH_TABLE_PREFIX):
        return False
    if type_ == "column" and name == SEARCH_VECTOR_COLUMN and compare_to is None:
        return False
    return not (type_ == "index" and name == SEARCH_VECTOR_INDEX)


class RegistryEntry(Base):
    """An issued certificate as the public registry's search sees it: its public fields, flat."""

    __tablename__ = "registry_entries"
    __table_args__ = (
        Index("ix_registry_entries_issued_on", "issued_on", "certificate_id"),
        Index("ix_registry_entries_valid_until", "valid_until", "certificate_id"),
    )

    # The certificate's id: also the row id the SQLite full-text index points at.
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id"), primary_key=True, autoincrement=False
    )
    number: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    level: Mapped[str] = mapped_column(String(20), index=True)
    sectors: Mapped[list[str]] = mapped_column(JSON)
    primary_sector: Mapped[str] = mapped_column(String(60))
    # The organisation's Mexican state.
    state: Mapped[str] = mapped_column(String(40), index=True)
    guideline_slug: Mapped[str] = mapped_column(String(80))
    guideline_version: Mapped[str] = mapped_column(String(20), index=True)
    guideline_title_es: Mapped[str] = mapped_column(String(300))
    guideline_title_en: Mapped[str] = mapped_column(String(300))
    issued_year: Mapped[int] = mapped_column(Integer, index=True)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    organization_id: Mapped[int] = mapped_column(Integer, index=True)
    organization_name: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[int] = mapped_column(Integer, index=True)
    product_name: Mapped[str] = mapped_column(String(200))
    product_identifier: Mapped[str] = mapped_column(String(40))
    # What full-text search reads: only public words (names, sectors, public justifications).
    search_text: Mapped[str] = mapped_column(Text)


class RegistryEntrySector(Base):
    """One sector of a registry entry, so sector facets count in SQL."""

    __tablename__ = "registry_entry_sectors"
    __table_args__ = (Index("ix_registry_entry_sectors_sector", "sector", "certificate_id"),)

    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("registry_entries.certificate_id", ondelete="CASCADE"), primary_key=True
    )
    sector: Mapped[str] = mapped_column(String(60), primary_key=True)
