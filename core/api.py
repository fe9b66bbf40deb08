"""Conventions shared by every /api/v1 endpoint: pagination and the error body."""

from __future__ import annotations

import re
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

# Database ids in paths: bounded, so an absurd number is a 422, not an integer overflow.
ObjectId = Annotated[int, Path(ge=1, le=2_147_483_647)]
_SMALL_INT = re.compile(r"[0-9]{1,9}")


def parse_int(raw: object) -> int | None:
    """A whole number typed in a form field, or None (str.isdigit accepts "²", int() does not)."""
    return int(raw) if isinstance(raw, str) and _SMALL_INT.fullmatch(raw) else None


class ErrorBody(BaseModel):
    """Every API error: a stable machine code and a message in the caller's language."""

    error: str
    detail: str
    fields: dict[str, str] | None = None


# Text to search a list for; each word must appear, without regard to case or accents.
SearchText = Annotated[
    str,
    Query(
        max_length=400,
        description="Words to find, each one anywhere in the searched fields, case and accents "
        "ignored; `%` and `_` are taken literally, control characters ignored.",
    ),
]

# Past any list the council will hold, and small enough that the row offset fits every database.
MAX_PAGE = 100_000
# Lists are counted up to here and no further, so no page ever reads every row to count them.
COUNT_CAP = 1000


class Page(BaseModel, Generic[T]):
    """One page of a list endpoint."""

    items: list[T]
    total: int = Field(
        description=f"How many items the list holds, counted up to {COUNT_CAP:,}; "
        "when `more` is true the list holds more than this."
    )
    page: int
    page_size: int
    more: bool = Field(
        False, description=f"True when the list holds more than `total` ({COUNT_CAP:,}) items."
    )

    @model_validator(mode="after")
    def _cap_total(self) -> Page[T]:
        """A count past the cap (as `paginate` gives it) reads as "more than the cap"."""
        if self.total > COUNT_CAP:
            self.total, self.more = COUNT_CAP, True
        return self


class PageParams(BaseModel):
    """Which page of a list the caller asks for."""

    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=200)


def page_params(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PageParams:
    """Read `page` and `page_size` from the query string."""
    return PageParams(page=page, page_size=page_size)


def paginate(session: Session, stmt: Select[Any], params: PageParams) -> tuple[list[Any], int]:
    """Run a select for one page and count its rows up to COUNT_CAP + 1 (that is: "more")."""
    capped = stmt.order_by(None).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped)) or 0
    rows = session.scalars(
        stmt.limit(params.page_size).offset((params.page - 1) * params.page_size)
    )
    return list(rows), total


# Every status an operation may answer besides its success: 400 a body that cannot be read,
# 413 a body over its size limit, the rest from the typed errors.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 413, 422, 429)
}
