"""Mexican identifiers the council records: the RFC tax id of organisations and people."""

from __future__ import annotations

import re

# Persona moral: 3 letters, persona física: 4; then the date (YYMMDD) and a 3-character homoclave.
RFC_PATTERN = re.compile(
    r"^[A-ZÑ&]{3,4}[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[A-Z0-9]{3}$"
)


def normalize_rfc(value: str) -> str:
    """An RFC in its canonical form: upper case, without spaces or hyphens."""
    return re.sub(r"[\s-]", "", value).upper()


def is_valid_rfc(value: str) -> bool:
    """Whether a (normalised) RFC has the format the SAT issues."""
    return bool(RFC_PATTERN.fullmatch(value))
