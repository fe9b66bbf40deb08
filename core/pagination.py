"""Pages of a work list, cut in SQL: one page of rows, whether more follow, a count kept short."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.api import COUNT_CAP, MAX_PAGE, parse_int

T = TypeVar("T")
# A select of any columns: one entity, or several as whole rows.
AnySelect = Select[*tuple[Any, ...]]
U = TypeVar("U")

# Rows on one page of an HTML list; a dashboard shows several lists, each shorter.
PAGE_SIZE = 50
DASHBOARD_PAGE_SIZE = 20


@dataclass(frozen=True)
class Count:
    """How many rows a list holds, exactly up to a cap; past it, "more than `number`"."""

    number: int
    more: bool


@dataclass(frozen=True)
class PageOf(Generic[T]):
    """One page of a list: its rows, where it is, and the filters its links keep."""

    items: list[T]
    page: int
    page_size: int
    has_next: bool
    count: Count | None = None
    # The query string the list was asked with, besides the page (kept by the pager's links).
    filters: Mapping[str, str] = field(default_factory=dict)
    # The name of the query parameter carrying the page (pages with two lists need two).
    param: str = "page"

    @property
    def has_prev(self) -> bool:
        """Whether a page comes before this one."""
        return self.page > 1

    @property
    def first(self) -> int:
        """The position of the page's first row in the whole list (1-based)."""
        return (self.page - 1) * self.page_size + 1

    def query(self, page: int) -> dict[str, str]:
        """The query string of another page of this list: the filters and that page."""
        kept = {name: value for name, value in self.filters.items() if value}
        return {**kept, self.param: str(page)} if page > 1 else kept

    def map(self, convert: Callable[[T], U]) -> PageOf[U]:
        """The same page with every row converted."""
        return PageOf(
            [convert(item) for item in self.items],
            self.page,
            self.page_size,
            self.has_next,
            self.count,
            self.filters,
            self.param,
        )


def page_number(raw: object) -> int:
    """The page a person asked for in the query string; 1 when absent or not a number."""
    number = parse_int(raw)
    return min(max(number or 1, 1), MAX_PAGE)


def count_up_to(session: Session, stmt: AnySelect, cap: int = COUNT_CAP) -> Count:
    """How many rows a select returns, reading at most cap + 1 of them."""
    capped = stmt.order_by(None).limit(cap + 1).subquery()
    number = session.scalar(select(func.count()).select_from(capped)) or 0
    return Count(min(number, cap), number > cap)


def page_of(
    session: Session,
    stmt: AnySelect,
    *,
    page: int,
    page_size: int = PAGE_SIZE,
    counted: bool = False,
    filters: Mapping[str, str] | None = None,
    param: str = "page",
    tuples: bool = False,
) -> PageOf[Any]:
    """One page of a select, which must order by a unique key; one row more says if more follow.

    The page holds the select's first entity, or with `tuples` whole rows.
    """
    cut = stmt.limit(page_size + 1).offset((page - 1) * page_size)
    rows: list[Any] = list(session.execute(cut)) if tuples else list(session.scalars(cut))
    return PageOf(
        rows[:page_size],
        page,
        page_size,
        len(rows) > page_size,
        count_up_to(session, stmt) if counted else None,
        dict(filters or {}),
        param,
    )
