"""The public registry's search: entries kept current with the certificates, and one search
over them, with SQLite FTS5 or PostgreSQL full-text search underneath."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from markupsafe import Markup, escape
from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from guidelines.models import Guideline, GuidelineVersion
from quality_marks.certificate_models import ISSUED_CERTIFICATES, Certificate
from quality_marks.models import Answer, Organization, Product
from quality_marks.registry_models import RegistryEntry, RegistryEntrySector

# Characters of a query read at most: a longer one is cut, never refused.
MAX_QUERY_CHARS = 200
# Words of a query used at most (each one narrows the results).
MAX_QUERY_WORDS = 12
# Above this many matches, results come newest first instead of by relevance: ranking every
# match of a very common word would make the query slow.
RANK_CAP = 2000
# Above this many text matches, the total and the facet counts are estimated from every
# FACET_SAMPLE-th certificate (by id) and marked as estimates: counting each of a very common
# word's tens of thousands of matches, facet by facet, would make the query slow.
FACET_CAP = 5000
FACET_SAMPLE = 16
# A search's hard time limit; past it the reader gets an empty page saying so.
TIME_CAP_SECONDS = 2.0
PER_PAGE = 20
MAX_PAGE = 500
# The private-use characters the databases wrap around hits in snippets; never indexed.
HIT_OPEN, HIT_CLOSE = "\ue000", "\ue001"

Sort = Literal["relevance", "newest", "expiry"]
SORTS: tuple[Sort, ...] = ("relevance", "newest", "expiry")
FACETS = ("sector", "level", "status", "version", "state", "year")


@dataclass(frozen=True)
class RegistryQuery:
    """What a reader asked the registry: words, the facet values chosen, the order, the page."""

    text: str = ""
    sectors: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    sort: Sort = "relevance"
    page: int = 1
    per_page: int = PER_PAGE

    def chosen(self, facet: str) -> tuple[str, ...]:
        """The values chosen for one facet, as text."""
        values: dict[str, Sequence[object]] = {
            "sector": self.sectors,
            "level": self.levels,
            "status": self.statuses,
            "version": self.versions,
            "state": self.states,
            "year": self.years,
        }
        return tuple(str(value) for value in values[facet])


@dataclass(frozen=True)
class FacetCount:
    """One value of a facet, how many results have it, and whether the reader chose it."""

    value: str
    count: int
    selected: bool


class RegistryRow(NamedTuple):
    """A registry entry's public fields as a result shows them (a plain row, no ORM object)."""

    certificate_id: int
    number: str
    status: str
    level: str
    sectors: list[str]
    state: str
    guideline_slug: str
    guideline_version: str
    guideline_title_es: str
    guideline_title_en: str
    issued_on: dt.date
    valid_until: dt.date
    organization_id: int
    organization_name: str
    product_id: int
    product_name: str
    product_identifier: str


_ROW_COLUMNS = tuple(getattr(RegistryEntry, name) for name in RegistryRow._fields)


@dataclass(frozen=True)
class RegistryHit:
    """One result: the registry entry and the part of its text that matched, hits marked."""

    entry: RegistryRow
    snippet: Markup | None


@dataclass(frozen=True)
class RegistryResults:
    """A page of search results with the total, the facets with counts, and how it was ordered."""

    items: list[RegistryHit]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[FacetCount]] = field(default_factory=dict)
    # Whether the page is in order of relevance (a query with at most RANK_CAP matches).
    ranked: bool = False
    # Whether the search hit the time limit (the page is then empty).
    timed_out: bool = False
    # Whether the total and the facet counts are estimates (more than FACET_CAP matches).
    estimated: bool = False

    @property
    def pages(self) -> int:
        """How many pages the results fill (at least one)."""
        return max(1, math.ceil(self.total / self.per_page))


# -- keeping entries current -------------------------------------------------------------------


def _indexable(words: Sequence[str | None]) -> str:
    joined = "\n".join(word for word in words if word)
    return joined.replace(HIT_OPEN, " ").replace(HIT_CLOSE, " ")


def refresh_registry_entry(session: Session, certificate: Certificate) -> None:
    """Bring the certificate's registry entry in line with it: written while it is issued,
    gone while it is not (being issued, or void)."""
    session.execute(
        delete(RegistryEntrySector).where(RegistryEntrySector.certificate_id == certificate.id)
    )
    entry = session.get(RegistryEntry, certificate.id)
    if certificate.status not in ISSUED_CERTIFICATES:
        if entry is not None:
            session.delete(entry)
            session.flush()
        return
    organization = session.get(Organization, certificate.organization_id)
    product = session.get(Product, certificate.product_id)
    version = session.get(GuidelineVersion, certificate.guideline_version_id)
    assert organization is not None
    assert product is not None
    assert version is not None
    guideline = session.get(Guideline, version.guideline_id)
    assert guideline is not None
    justifications = session.scalars(
        select(Answer.justification)
        .where(
            Answer.application_id == certificate.application_id,
            Answer.justification_public.is_(True),
            Answer.justification != "",
        )
        .order_by(Answer.criterion_code)
    )
    sectors = list(dict.fromkeys(product.sectors or []))
    issued_on = dt.date.fromisoformat(
        certificate.payload.get("issued_on") or certificate.valid_from.isoformat()
    )
    if entry is None:
        entry = RegistryEntry(certificate_id=certificate.id)
        session.add(entry)
    entry.number = certificate.number
    entry.status = certificate.status.value
    entry.level = certificate.level
    entry.sectors = sectors
    entry.primary_sector = sectors[0] if sectors else ""
    entry.state = organization.state
    entry.guideline_slug = guideline.slug
    entry.guideline_version = version.number
    entry.guideline_title_es = guideline.title_es
    entry.guideline_title_en = guideline.title_en
    entry.issued_year = issued_on.year
    entry.issued_on = issued_on
    entry.valid_until = certificate.valid_until
    entry.organization_id = organization.id
    entry.organization_name = organization.legal_name
    entry.product_id = product.id
    entry.product_name = product.name
    entry.product_identifier = product.identifier
    entry.search_text = _indexable(
        [
            product.name,
            product.identifier,
            organization.legal_name,
            product.provider,
            product.deployer,
            *sectors,
            guideline.title_es,
            *justifications,
        ]
    )
    session.flush()
    if sectors:
        session.execute(
            insert(RegistryEntrySector),
            [{"certificate_id": certificate.id, "sector": sector} for sector in sectors],
        )


# -- searching ---------------------------------------------------------------------------------


def query_words(raw: str) -> list[str]:
    """The words of a query the search uses: letters and digits only, so no operator, quote or
    stray symbol reaches the full-text syntax of either database."""
    cut = unicodedata.normalize("NFC", raw[:MAX_QUERY_CHARS]).lower()
    return re.findall(r"[^\W_]+", cut)[:MAX_QUERY_WORDS]


def _years(values: Sequence[str]) -> tuple[int, ...]:
    return tuple(int(value) for value in values if value.isdigit() and len(value) == 4)


def registry_query(
    *,
    text: str = "",
    sectors: Sequence[str] = (),
    levels: Sequence[str] = (),
    statuses: Sequence[str] = (),
    versions: Sequence[str] = (),
    states: Sequence[str] = (),
    years: Sequence[str] = (),
    sort: str = "relevance",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> RegistryQuery:
    """A query as a reader's address gives it: values kept as text, unknown sorts ignored."""

    def kept(values: Sequence[str]) -> tuple[str, ...]:
        # No stored value holds a control character, and PostgreSQL refuses a NUL in text.
        return tuple(
            dict.fromkeys(
                value[:100]
                for value in values[:50]
                if value and not any(unicodedata.category(char) == "Cc" for char in value)
            )
        )

    return RegistryQuery(
        text=text[:MAX_QUERY_CHARS],
        sectors=kept(sectors),
        levels=kept(levels),
        statuses=kept(statuses),
        versions=kept(versions),
        states=kept(states),
        years=_years(kept(years)),
        sort=next((known for known in SORTS if known == sort), "relevance"),
        page=min(max(page, 1), MAX_PAGE),
        per_page=min(max(per_page, 1), 100),
    )


class _TimedOut(Exception):
    """The search ran past its time limit."""


class _Backend:
    """How one database matches, ranks and quotes: the words become its query, never raw input."""

    def __init__(self, words: list[str]) -> None:
        self.words = words

    def matches(self) -> ColumnElement[bool]:
        raise NotImplementedError

    def restrict(self, stmt: Select[Any], on: Any, *, sample: int) -> Select[Any]:
        """The statement narrowed to the matches, `on` being its certificate id column, keeping
        only every `sample`-th id (1: all of them)."""
        raise NotImplementedError

    def count(self, session: Session) -> int:
        """How many entries match the words, reading the index only."""
        raise NotImplementedError

    def ranked(self, stmt: Select[Any]) -> Select[Any]:
        raise NotImplementedError

    def snippets(self, session: Session, ids: list[int]) -> dict[int, str]:
        raise NotImplementedError

    @contextlib.contextmanager
    def time_capped(self, session: Session) -> Iterator[None]:
        raise NotImplementedError
        yield  # pragma: no cover


class _SQLite(_Backend):
    """FTS5 over the entries' text: each word a quoted prefix, all of them required."""

    def fts_query(self) -> str:
        return " ".join('"' + word.replace('"', '""') + '"*' for word in self.words)

    def _matching(self) -> Select[Any]:
        matching: Select[Any] = (
            select(
                literal_column("rowid", Integer).label("id"),
                literal_column("rank", Float).label("rank"),
            )
            .select_from(text("registry_fts"))
            .where(literal_column("registry_fts").op("MATCH")(self.fts_query()))
        )
        return matching

    def matches(self) -> ColumnElement[bool]:
        return RegistryEntry.certificate_id.in_(
            select(literal_column("rowid"))
            .select_from(text("registry_fts"))
            .where(literal_column("registry_fts").op("MATCH")(self.fts_query()))
        )

    def restrict(self, stmt: Select[Any], on: Any, *, sample: int) -> Select[Any]:
        # A join from the index's ids, sampled before any row is looked up.
        ids = literal_column("rowid", Integer)
        hits = (
            select(ids.label("id"))
            .select_from(text("registry_fts"))
            .where(literal_column("registry_fts").op("MATCH")(self.fts_query()))
        )
        if sample > 1:
            hits = hits.where(ids % sample == 0)
        found = hits.subquery()
        return stmt.join(found, found.c.id == on)

    def count(self, session: Session) -> int:
        return int(
            session.scalar(
                select(func.count())
                .select_from(text("registry_fts"))
                .where(literal_column("registry_fts").op("MATCH")(self.fts_query()))
            )
            or 0
        )

    def ranked(self, stmt: Select[Any]) -> Select[Any]:
        hits = self._matching().subquery()
        return stmt.join(hits, hits.c.id == RegistryEntry.certificate_id).order_by(
            hits.c.rank, RegistryEntry.issued_on.desc(), RegistryEntry.certificate_id.desc()
        )

    def snippets(self, session: Session, ids: list[int]) -> dict[int, str]:
        rows = session.execute(
            text(
                "SELECT rowid, snippet(registry_fts, 0, :open, :close, '…', 24) "
                "FROM registry_fts WHERE registry_fts MATCH :q AND rowid IN "
                f"({', '.join(str(int(i)) for i in ids)})"
            ),
            {"open": HIT_OPEN, "close": HIT_CLOSE, "q": self.fts_query()},
        )
        return {int(row[0]): str(row[1]) for row in rows}

    @contextlib.contextmanager
    def time_capped(self, session: Session) -> Iterator[None]:
        raw: Any = session.connection().connection.driver_connection
        deadline = time.monotonic() + TIME_CAP_SECONDS
        # SQLite calls this every few thousand steps; a true answer interrupts the statement.
        raw.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        try:
            yield
        except OperationalError as error:
            if "interrupted" in str(error):
                raise _TimedOut from error
            raise
        finally:
            raw.set_progress_handler(None, 0)


class _Postgres(_Backend):
    """The generated tsvector (Spanish stems, accents removed): each word a prefix, all required."""

    vector: ColumnElement[Any] = literal_column("registry_entries.search_vector")

    def tsquery(self) -> ColumnElement[Any]:
        words = " & ".join(f"{word}:*" for word in self.words)
        return func.to_tsquery(literal_column("'council_es'::regconfig"), words)

    def matches(self) -> ColumnElement[bool]:
        return self.vector.op("@@")(self.tsquery())

    def restrict(self, stmt: Select[Any], on: Any, *, sample: int) -> Select[Any]:
        if on is RegistryEntry.certificate_id:
            stmt = stmt.where(self.matches())
        else:  # a statement over another table (the sectors) reaches the vector through its id
            stmt = stmt.where(on.in_(select(RegistryEntry.certificate_id).where(self.matches())))
        return stmt.where(on % sample == 0) if sample > 1 else stmt

    def count(self, session: Session) -> int:
        return int(
            session.scalar(select(func.count()).select_from(RegistryEntry).where(self.matches()))
            or 0
        )

    def ranked(self, stmt: Select[Any]) -> Select[Any]:
        return stmt.order_by(
            func.ts_rank_cd(self.vector, self.tsquery()).desc(),
            RegistryEntry.issued_on.desc(),
            RegistryEntry.certificate_id.desc(),
        )

    def snippets(self, session: Session, ids: list[int]) -> dict[int, str]:
        options = (
            f"StartSel={HIT_OPEN}, StopSel={HIT_CLOSE}, MaxWords=24, MinWords=8, "
            'MaxFragments=2, FragmentDelimiter=" … "'
        )
        headline = func.ts_headline(
            literal_column("'council_es'::regconfig"),
            RegistryEntry.search_text,
            self.tsquery(),
            options,
        )
        rows = session.execute(
            select(RegistryEntry.certificate_id, headline).where(
                RegistryEntry.certificate_id.in_(ids)
            )
        )
        return {int(row[0]): str(row[1]) for row in rows}

    @contextlib.contextmanager
    def time_capped(self, session: Session) -> Iterator[None]:
        savepoint = session.begin_nested()
        try:
            previous = session.scalar(text("SELECT current_setting('statement_timeout')"))
            session.execute(
                text("SELECT set_config('statement_timeout', :cap, true)"),
                {"cap": str(max(1, int(TIME_CAP_SECONDS * 1000)))},
            )
            yield
            session.execute(
                text("SELECT set_config('statement_timeout', :previous, true)"),
                {"previous": previous},
            )
        except OperationalError as error:
            savepoint.rollback()
            if "statement timeout" in str(error) or "canceling statement" in str(error):
                raise _TimedOut from error
            raise
        else:
            savepoint.commit()


def _backend(session: Session, words: list[str]) -> _Backend:
    dialect = session.get_bind().dialect.name
    return _Postgres(words) if dialect == "postgresql" else _SQLite(words)


def _conditions(query: RegistryQuery) -> dict[str, ColumnElement[bool]]:
    """The facet filters of a query by facet (values of one facet combine with OR)."""
    found: dict[str, ColumnElement[bool]] = {}
    if query.sectors:
        found["sector"] = RegistryEntry.certificate_id.in_(
            select(RegistryEntrySector.certificate_id).where(
                RegistryEntrySector.sector.in_(query.sectors)
            )
        )
    simple: list[tuple[str, Any, Sequence[object]]] = [
        ("level", RegistryEntry.level, query.levels),
        ("status", RegistryEntry.status, query.statuses),
        ("version", RegistryEntry.guideline_version, query.versions),
        ("state", RegistryEntry.state, query.states),
        ("year", RegistryEntry.issued_year, query.years),
    ]
    for name, column, values in simple:
        if values:
            found[name] = column.in_(values)
    return found


def _filters(query: RegistryQuery) -> list[ColumnElement[bool]]:
    """Every facet filter of a query (facets combine with AND)."""
    return list(_conditions(query).values())


# The single-valued facets, in the order the counting query groups them.
_GROUPED = ("level", "status", "version", "state", "year")
_GROUPED_COLUMNS: tuple[Any, ...] = (
    RegistryEntry.level,
    RegistryEntry.status,
    RegistryEntry.guideline_version,
    RegistryEntry.state,
    RegistryEntry.issued_year,
)


@dataclass(frozen=True)
class _Counted:
    """The total and the facet counts of a query, exact or estimated from a sample."""

    total: int
    facets: dict[str, list[FacetCount]]
    estimated: bool


def _count(session: Session, query: RegistryQuery, backend: _Backend, *, sample: int) -> _Counted:
    """The total and every facet's counts of a text search in two statements, each facet
    counted without its own filter so the reader sees what choosing another value would give.

    The first statement counts the matches by combination of the single-valued facets (a few
    hundred rows), with only the sector filter applied; Python then applies the other filters
    per facet. The second counts sectors, which an entry may have several of."""
    conditions = _conditions(query)
    combos: Select[Any] = select(*_GROUPED_COLUMNS, func.count()).select_from(RegistryEntry)
    if "sector" in conditions:
        combos = combos.where(conditions["sector"])
    sector_column: Any = RegistryEntrySector.sector
    sectors: Select[Any] = select(sector_column, func.count()).select_from(RegistryEntrySector)
    others = [condition for name, condition in conditions.items() if name != "sector"]
    if others:
        sectors = sectors.join(
            RegistryEntry, RegistryEntry.certificate_id == RegistryEntrySector.certificate_id
        ).where(*others)
    combos = backend.restrict(combos, RegistryEntry.certificate_id, sample=sample)
    sectors = backend.restrict(sectors, RegistryEntrySector.certificate_id, sample=sample)
    chosen = {name: set(query.chosen(name)) for name in FACETS}
    tallies: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    total = 0
    for *values, count in session.execute(combos.group_by(*_GROUPED_COLUMNS)):
        keys = dict(zip(_GROUPED, (str(value) for value in values), strict=True))
        failing = [name for name in _GROUPED if chosen[name] and keys[name] not in chosen[name]]
        if not failing:
            total += count * sample
        for name in _GROUPED:
            if not failing or failing == [name]:
                tally = tallies[name]
                tally[keys[name]] = tally.get(keys[name], 0) + count * sample
    for sector, count in session.execute(sectors.group_by(sector_column)):
        tallies["sector"][str(sector)] = int(count) * sample
    facets: dict[str, list[FacetCount]] = {}
    for name in FACETS:
        order = sorted(tallies[name].items(), reverse=name == "year")  # the latest year first
        facets[name] = [
            FacetCount(value, count, value in chosen[name]) for value, count in order if count
        ]
    return _Counted(total=total, facets=facets, estimated=sample > 1)


def _count_by_facet(
    session: Session, query: RegistryQuery, conditions: dict[str, ColumnElement[bool]]
) -> _Counted:
    """Without words, each facet counted on its own index (browsing the whole registry would
    otherwise group every entry by every facet at once)."""
    total = session.scalar(
        select(func.count()).select_from(RegistryEntry).where(*conditions.values())
    )
    facets: dict[str, list[FacetCount]] = {}
    for name in FACETS:
        others = [condition for facet, condition in conditions.items() if facet != name]
        column: Any
        if name == "sector":
            column = RegistryEntrySector.sector
            stmt = select(column, func.count()).join(
                RegistryEntry, RegistryEntry.certificate_id == RegistryEntrySector.certificate_id
            )
        else:
            column = _GROUPED_COLUMNS[_GROUPED.index(name)]
            stmt = select(column, func.count()).select_from(RegistryEntry)
        rows = session.execute(stmt.where(*others).group_by(column).order_by(column))
        chosen = set(query.chosen(name))
        counts = [FacetCount(str(value), int(count), str(value) in chosen) for value, count in rows]
        facets[name] = counts[::-1] if name == "year" else counts  # the latest year first
    return _Counted(total=int(total or 0), facets=facets, estimated=False)


def highlighted(raw: str) -> Markup:
    """A snippet as safe HTML: every character escaped, only the hits wrapped in <mark>."""
    if raw.count(HIT_OPEN) != raw.count(HIT_CLOSE):
        raw = raw.replace(HIT_OPEN, "").replace(HIT_CLOSE, "")
    safe = str(escape(raw))
    return Markup(safe.replace(HIT_OPEN, "<mark>").replace(HIT_CLOSE, "</mark>"))


def search_registry(session: Session, query: RegistryQuery) -> RegistryResults:
    """Search the registry: a page of issued certificates matching the words and the facet
    values chosen, in the order asked, with facet counts and highlighted snippets."""
    words = query_words(query.text)
    backend = _backend(session, words)
    per_page = min(max(query.per_page, 1), 100)
    page = min(max(query.page, 1), MAX_PAGE)
    try:
        with backend.time_capped(session):
            return _search(session, query, backend, page=page, per_page=per_page)
    except _TimedOut:
        return RegistryResults(items=[], total=0, page=page, per_page=per_page, timed_out=True)


def _search(
    session: Session, query: RegistryQuery, backend: _Backend, *, page: int, per_page: int
) -> RegistryResults:
    match = backend.matches() if backend.words else None
    # Reading the index alone says whether the matches are few enough to count exactly.
    large = match is not None and backend.count(session) > FACET_CAP
    counted = (
        _count(session, query, backend, sample=FACET_SAMPLE if large else 1)
        if match is not None
        else _count_by_facet(session, query, _conditions(query))
    )
    conditions = _filters(query)
    if match is not None:
        conditions.append(match)
    stmt = select(*_ROW_COLUMNS).where(*conditions)
    ranked = query.sort == "relevance" and match is not None and counted.total <= RANK_CAP
    if ranked:
        stmt = backend.ranked(stmt)
    elif query.sort == "expiry":
        stmt = stmt.order_by(RegistryEntry.valid_until, RegistryEntry.certificate_id)
    else:
        stmt = stmt.order_by(RegistryEntry.issued_on.desc(), RegistryEntry.certificate_id.desc())
    entries = [
        RegistryRow(*row)
        for row in session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    ]
    snippets: dict[int, str] = {}
    if match is not None and entries:
        snippets = backend.snippets(session, [entry.certificate_id for entry in entries])
    items = [
        RegistryHit(
            entry,
            highlighted(snippets[entry.certificate_id])
            if entry.certificate_id in snippets
            else None,
        )
        for entry in entries
    ]
    return RegistryResults(
        items=items,
        total=counted.total,
        page=page,
        per_page=per_page,
        facets=counted.facets,
        ranked=ranked,
        estimated=counted.estimated,
    )
