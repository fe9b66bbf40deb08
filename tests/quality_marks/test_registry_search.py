"""The registry's search, on both databases: one query corpus, facets, pagination, snippets.

The contract: every query below gives the same certificates on SQLite (FTS5, every word a
prefix, accents removed) and on PostgreSQL (Spanish stems, accents removed, every word a
prefix). Where the backends differ, the corpus leaves the case out, and it is written here:
- Stems: PostgreSQL finds "Salud" for "saludable" (the same stem); SQLite matches by prefix
  only, so a longer word does not find a shorter one there (test below).
- Snippets: PostgreSQL's headline parser drops HTML tags from the text; SQLite shows them as
  escaped text. Both escape everything else and mark only the hits.
- Stop words: PostgreSQL drops Spanish stop words ("de", "la"); a query made only of them finds
  nothing there, while SQLite matches them as prefixes.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from quality_marks import registry
from quality_marks.certificate_models import Certificate, CertificateStatus, RegistryEventKind
from quality_marks.registry import (
    MAX_QUERY_WORDS,
    FacetCount,
    RegistryQuery,
    highlighted,
    query_words,
    search_registry,
)
from quality_marks.registry_models import RegistryEntry, RegistryEntrySector
from tests.quality_marks.search_builders import registry_corpus
from tests.quality_marks.verification_builders import ISSUED_REASON, change_status

CONTRACT = [
    ("salud", {"clinica", "vida"}),  # the word and a longer one ("Saludable") by prefix or stem
    ("Salud", {"clinica", "vida"}),
    ("educacion", {"tutor"}),  # no accent typed, accent stored
    ("educación", {"tutor"}),
    ("EDUCACIÓN", {"tutor"}),
    ("credito", {"credito"}),
    ("crédito", {"credito"}),
    ("diagnostico", {"clinica"}),  # a public justification's word
    ("optima", {"ruta"}),
    ("clinica medica", {"clinica"}),  # every word required
    ("clínica transporte", set()),
    ("finanzas eticas", {"credito"}),
    ("transp", {"ruta"}),  # a prefix
    ("veloz", {"ruta"}),
    ("sesgo genero", {"credito"}),
    ("inexistente", set()),
    ("reservada", set()),  # a justification the applicant kept private
    ("confidencial", set()),  # the product's intended purpose is not public
]


def counts(facet: list[FacetCount]) -> dict[str, int]:
    return {value.value: value.count for value in facet}


@pytest.fixture
def corpus(db: Session) -> dict[str, Certificate]:
    return registry_corpus(db)


def _keys(corpus: dict[str, Certificate], query: RegistryQuery, db: Session) -> set[str]:
    by_id = {certificate.id: key for key, certificate in corpus.items()}
    results = search_registry(db, query)
    return {by_id[hit.entry.certificate_id] for hit in results.items}


@pytest.mark.parametrize(("text", "expected"), CONTRACT)
def test_the_query_corpus_finds_the_same_certificates_on_each_database(
    db: Session, corpus: dict[str, Certificate], text: str, expected: set[str]
) -> None:
    assert _keys(corpus, RegistryQuery(text=text), db) == expected


HOSTILE = [
    "",
    "   ",
    '"',
    '"salud',
    "salud\"'",
    "AND",
    "OR NOT",
    "salud OR",
    "NOT salud",
    "salud NEAR/2 clinica",
    "NEAR(salud clinica)",
    "*",
    "salud*",
    "^salud",
    "search_text:salud",
    "salud:*",
    "-salud",
    "salud & | ! ( ) <-> :",
    "'; DROP TABLE registry_entries; --",
    "1' OR '1'='1",
    "😀",
    "salud 😀🇲🇽",
    "\x00salud",
    "\ue000salud\ue001",
    "a" * 5000,
    "salud " * 400,
    "((((((((",
    "\\",
    "%_%",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_any_query_gives_results_or_nothing_never_an_error(
    db: Session, corpus: dict[str, Certificate], text: str
) -> None:
    results = search_registry(db, RegistryQuery(text=text))
    assert not results.timed_out
    assert results.total == len(results.items) or results.total > results.per_page
    if "salud" in text and "-" not in text:
        assert {hit.entry.number for hit in results.items} >= {
            corpus["clinica"].number,
            corpus["vida"].number,
        } or results.total == 0


def test_a_query_keeps_only_letters_and_digits_and_a_bounded_number_of_words() -> None:
    assert query_words('"Salud" AND (clínica*) NEAR/2 x:y 😀') == [
        "salud",
        "and",
        "clínica",
        "near",
        "2",
        "x",
        "y",
    ]
    assert len(query_words("palabra " * 100)) == MAX_QUERY_WORDS
    assert query_words("a" * 5000) == ["a" * 200]


def test_an_empty_query_lists_every_issued_certificate_newest_first(
    db: Session, corpus: dict[str, Certificate]
) -> None:
    results = search_registry(db, RegistryQuery())
    assert [hit.entry.number for hit in results.items] == [
        corpus[key].number for key in ("tutor", "credito", "vida", "clinica", "ruta")
    ]
    assert results.total == 5
    assert all(hit.snippet is None for hit in results.items)
    assert not results.ranked


def test_facets_count_the_results_and_each_ignores_its_own_filter(
    db: Session, corpus: dict[str, Certificate]
) -> None:
    everything = search_registry(db, RegistryQuery())
    assert counts(everything.facets["sector"]) == {
        "salud": 2,
        "seguros": 1,
        "finanzas": 1,
        "educación": 1,
        "transporte": 1,
    }
    assert counts(everything.facets["status"]) == {
        "valid": 2,
        "suspended": 1,
        "withdrawn": 1,
        "expired": 1,
    }
    assert counts(everything.facets["level"]) == {"A": 2, "B": 3}
    assert counts(everything.facets["state"]) == {
        "Ciudad de México": 1,
        "Jalisco": 2,
        "Nuevo León": 1,
        "Yucatán": 1,
    }
    assert [f.value for f in everything.facets["year"]] == ["2026", "2025", "2024"]
    assert counts(everything.facets["version"]) == {"1.0": 5}

    health = search_registry(db, RegistryQuery(sectors=("salud",)))
    assert health.total == 2
    assert counts(health.facets["level"]) == {"A": 1, "B": 1}
    # The sector facet still offers the other sectors, counted without the sector filter.
    assert counts(health.facets["sector"])["finanzas"] == 1
    assert [f.value for f in health.facets["sector"] if f.selected] == ["salud"]

    narrowed = search_registry(
        db, RegistryQuery(text="salud", states=("Jalisco",), levels=("B",), years=(2026,))
    )
    assert [hit.entry.number for hit in narrowed.items] == [corpus["vida"].number]
    assert counts(narrowed.facets["state"]) == {"Jalisco": 1}
    two_statuses = search_registry(db, RegistryQuery(statuses=("valid", "expired")))
    assert two_statuses.total == 3


def test_pages_are_cut_in_sql_and_sorted_as_asked(
    db: Session, corpus: dict[str, Certificate]
) -> None:
    first = search_registry(db, RegistryQuery(sort="expiry", per_page=2))
    third = search_registry(db, RegistryQuery(sort="expiry", per_page=2, page=3))
    assert (first.total, first.pages) == (5, 3)
    assert [hit.entry.number for hit in first.items] == [
        corpus["ruta"].number,
        corpus["tutor"].number,
    ]
    assert [hit.entry.number for hit in third.items] == [corpus["credito"].number]
    beyond = search_registry(db, RegistryQuery(page=99))
    assert beyond.items == []
    assert beyond.total == 5


def test_relevance_puts_the_best_match_first(db: Session, corpus: dict[str, Certificate]) -> None:
    results = search_registry(db, RegistryQuery(text="salud"))
    assert results.ranked
    newest = search_registry(db, RegistryQuery(text="salud", sort="newest"))
    assert not newest.ranked
    assert [hit.entry.number for hit in newest.items] == [
        corpus["vida"].number,
        corpus["clinica"].number,
    ]


def test_snippets_escape_everything_and_mark_only_the_hits(
    db: Session, corpus: dict[str, Certificate]
) -> None:
    results = search_registry(db, RegistryQuery(text="supervision"))
    assert [hit.entry.number for hit in results.items] == [corpus["vida"].number]
    snippet = str(results.items[0].snippet)
    assert "<script>" not in snippet
    # The tag is shown as text (SQLite) or left out as markup (PostgreSQL's parser): never run.
    assert "alert(1)" in snippet
    assert "&amp;" in snippet
    assert "<mark>supervisión</mark>" in snippet
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_a_longer_word_finds_its_stem_only_where_the_database_stems(
    db: Session, corpus: dict[str, Certificate]
) -> None:
    found = _keys(corpus, RegistryQuery(text="saludable"), db)
    if db.get_bind().dialect.name == "postgresql":
        assert found == {"vida", "clinica"}  # "saludable" and "salud" share the stem "salud"
    else:
        assert found == {"vida"}


def test_highlighting_never_trusts_unbalanced_marks() -> None:
    assert str(highlighted("\ue000<b>x</b>")) == "&lt;b&gt;x&lt;/b&gt;"
    assert str(highlighted("a \ue000b\ue001 <i>")) == "a <mark>b</mark> &lt;i&gt;"


def test_entries_follow_the_certificate_status_and_only_issued_ones_are_listed(
    db: Session, corpus: dict[str, Certificate]
) -> None:
    clinic = corpus["clinica"]
    change_status(
        db, clinic, CertificateStatus.suspended, RegistryEventKind.suspended, ISSUED_REASON
    )
    entry = db.get(RegistryEntry, clinic.id)
    assert entry is not None
    assert entry.status == "suspended"
    assert search_registry(db, RegistryQuery(text="clinica", statuses=("valid",))).total == 0
    # A certificate voided (never issued) leaves the registry.
    change_status(db, clinic, CertificateStatus.void, RegistryEventKind.voided, ISSUED_REASON)
    assert db.get(RegistryEntry, clinic.id) is None
    assert (
        list(
            db.scalars(
                select(RegistryEntrySector).where(RegistryEntrySector.certificate_id == clinic.id)
            )
        )
        == []
    )
    assert search_registry(db, RegistryQuery(text="clinica")).total == 0
    # Back in force (as reinstatement would leave it): listed and found again.
    change_status(db, clinic, CertificateStatus.valid, RegistryEventKind.reinstated, ISSUED_REASON)
    assert search_registry(db, RegistryQuery(text="clinica")).total == 1


def _slow_statement(db: Session) -> str:
    if db.get_bind().dialect.name == "postgresql":
        return "SELECT pg_sleep(5)"
    return (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
        "SELECT count(*) FROM n"
    )


def test_a_search_past_its_time_limit_answers_an_empty_page_quickly(
    db: Session, corpus: dict[str, Certificate], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "TIME_CAP_SECONDS", 0.05)

    def slow_search(session: Session, *args: object, **kwargs: object) -> object:
        session.execute(text(_slow_statement(session)))
        raise AssertionError("the statement should have been stopped")

    monkeypatch.setattr(registry, "_search", slow_search)
    started = time.monotonic()
    results = search_registry(db, RegistryQuery(text="salud"))
    assert time.monotonic() - started < 3
    assert results.timed_out
    assert (results.items, results.total) == ([], 0)
    # The session is still usable: the next search (in time) answers.
    monkeypatch.undo()
    assert search_registry(db, RegistryQuery(text="salud")).total == 2


def test_above_the_rank_cap_results_come_newest_first(
    db: Session, corpus: dict[str, Certificate], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "RANK_CAP", 1)
    results = search_registry(db, RegistryQuery(text="salud"))
    assert not results.ranked
    assert [hit.entry.number for hit in results.items] == [
        corpus["vida"].number,
        corpus["clinica"].number,
    ]
    assert all(hit.snippet is not None for hit in results.items)


def test_above_the_facet_cap_counts_are_estimated_from_a_sample_and_say_so(
    db: Session, corpus: dict[str, Certificate], monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = search_registry(db, RegistryQuery(text="salud"))
    assert not exact.estimated
    monkeypatch.setattr(registry, "FACET_CAP", 1)
    monkeypatch.setattr(registry, "FACET_SAMPLE", 2)
    sampled_ids = {
        certificate.id for key, certificate in corpus.items() if key in {"clinica", "vida"}
    }
    kept = [number for number in sampled_ids if number % 2 == 0]

    estimate = search_registry(db, RegistryQuery(text="salud"))

    assert estimate.estimated
    assert estimate.total == 2 * len(kept)
    assert sum(f.count for f in estimate.facets["level"]) == 2 * len(kept)
    assert all(f.count % 2 == 0 for values in estimate.facets.values() for f in values)
    # The page itself is never a sample: both matches are listed.
    assert {hit.entry.certificate_id for hit in estimate.items} == sampled_ids
