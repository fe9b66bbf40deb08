"""Searching the work lists: what a person typed, made safe, matched without case or accents."""

from __future__ import annotations

import enum
import unicodedata
from typing import Any, TypeVar

from sqlalchemy import and_, func, or_, true
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

# Longer text is cut: no name, RFC or subject the lists hold is longer than this.
MAX_SEARCH_CHARS = 100
# Words past this many are ignored, so a pasted paragraph does not build an enormous query.
MAX_SEARCH_WORDS = 6
# The accented letters of Spanish, and their plain forms. SQLite's lower() folds only ASCII, so
# capitals are listed too; the same fold runs in Python on what was typed.
ACCENTS = {
    "á": "a",
    "é": "e",
    "í": "i",
    "ó": "o",
    "ú": "u",
    "ü": "u",
    "ñ": "n",
    "Á": "a",
    "É": "e",
    "Í": "i",
    "Ó": "o",
    "Ú": "u",
    "Ü": "u",
    "Ñ": "n",
}
LIKE_ESCAPE = "\\"
# A column to search: a mapped attribute or any SQL expression.
Searched = QueryableAttribute[Any] | ColumnElement[Any]

E = TypeVar("E", bound=enum.Enum)


def search_text(raw: object) -> str:
    """Typed search text as the lists use it: control characters dropped, spaces squeezed, cut.

    PostgreSQL refuses a NUL in text, and no stored value holds a control character anyway.
    """
    if not isinstance(raw, str):
        return ""
    cleaned = "".join(
        " " if unicodedata.category(c) == "Cc" else c for c in raw[: 4 * MAX_SEARCH_CHARS]
    )
    return " ".join(unicodedata.normalize("NFC", cleaned).split())[:MAX_SEARCH_CHARS]


def fold(text: str) -> str:
    """Text without case or accents, as `folded` makes a column (ñ reads as n)."""
    lowered = text.lower()
    return "".join(ACCENTS.get(char, char) for char in lowered)


def folded(column: Searched) -> ColumnElement[str]:
    """A text column in SQL without case or Spanish accents, on SQLite and PostgreSQL alike."""
    expression: ColumnElement[str] = func.lower(func.coalesce(column, ""))
    for accented, plain in ACCENTS.items():
        expression = func.replace(expression, accented, plain)
    return expression


def _escaped(word: str) -> str:
    """A word for LIKE, its wildcards and the escape character taken literally."""
    for special in (LIKE_ESCAPE, "%", "_"):
        word = word.replace(special, LIKE_ESCAPE + special)
    return word


def matches_text(text: str, *columns: Searched) -> ColumnElement[bool]:
    """Every word of the text appears in one of the columns (without case or accents)."""
    words = fold(search_text(text)).split()[:MAX_SEARCH_WORDS]
    if not words:
        return true()
    return and_(
        *(
            or_(*(folded(c).like(f"%{_escaped(word)}%", escape=LIKE_ESCAPE) for c in columns))
            for word in words
        )
    )


def chosen(kind: type[E], raw: object) -> E | None:
    """The enum value a filter names, or None when absent or not one of them."""
    if not isinstance(raw, str):
        return None
    for member in kind:
        if member.value == raw:
            return member
    return None
