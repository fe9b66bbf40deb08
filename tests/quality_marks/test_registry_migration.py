"""The search migration fills the registry with the certificates issued before it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import make_engine
from core.schema import alembic_config, upgrade_database
from quality_marks.registry import RegistryQuery, search_registry
from quality_marks.registry_models import RegistryEntry, RegistryEntrySector
from tests.quality_marks.search_builders import registry_corpus


def test_the_migration_lists_every_issued_certificate_as_the_service_would(
    fresh_database_url: str,
) -> None:
    engine = make_engine(fresh_database_url)
    try:
        with Session(engine) as session:
            corpus = registry_corpus(session)
            session.commit()
            tutor = corpus["tutor"].number
            kept = {
                entry.certificate_id: (entry.search_text, entry.status, entry.issued_on)
                for entry in session.scalars(select(RegistryEntry))
            }
        assert len(kept) == 5
        command.downgrade(alembic_config(fresh_database_url), "20261201_certificates")
        upgrade_database(fresh_database_url)
        with Session(engine) as session:
            filled = {
                entry.certificate_id: (entry.search_text, entry.status, entry.issued_on)
                for entry in session.scalars(select(RegistryEntry))
            }
            assert filled == kept
            sectors = session.scalars(select(RegistryEntrySector.sector)).all()
            assert sorted(sectors) == sorted(
                ["salud", "salud", "seguros", "finanzas", "educación", "transporte"]
            )
            found = search_registry(session, RegistryQuery(text="educacion"))
            assert [hit.entry.number for hit in found.items] == [tutor]
    finally:
        engine.dispose()
