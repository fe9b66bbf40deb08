"""Turning submitted forms into validated input, with messages in the user's language."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from core.errors import N_, Invalid

ModelT = TypeVar("ModelT", bound=BaseModel)

# Pydantic's error types, said the way a form should say them (msgids of the catalog).
FIELD_MESSAGES = {
    "missing": N_("This field is required."),
    "string_too_short": N_("This field is required."),
    "string_too_long": N_("This text is too long."),
    "string_pattern_mismatch": N_("The format is not valid."),
    "too_short": N_("Choose at least one option."),
    "enum": N_("Choose one of the options."),
    "literal_error": N_("Choose one of the options."),
    "date_from_datetime_parsing": N_("Enter a date as YYYY-MM-DD."),
    "date_parsing": N_("Enter a date as YYYY-MM-DD."),
    "date_type": N_("Enter a date as YYYY-MM-DD."),
    "int_parsing": N_("Enter a whole number."),
    "value_error": N_("This value is not valid."),
    "single_line": N_("Write this on one line, without line breaks or control characters."),
}

# Control characters (CR, LF, NUL, tab...) and the Unicode line and paragraph separators.
_NOT_IN_ONE_LINE = frozenset({"Cc", "Zl", "Zp"})


def is_single_line(value: str) -> bool:
    """Whether the text holds no line break or other control character."""
    return not any(unicodedata.category(char) in _NOT_IN_ONE_LINE for char in value)


def _single_line(value: str) -> str:
    if not is_single_line(value):
        raise PydanticCustomError(
            "single_line", "must be one line, without line breaks or control characters"
        )
    return value


# A one-line text (a name, a title, an e-mail address): a line break could reach a mail header.
SingleLine = Annotated[str, AfterValidator(_single_line)]


def check_single_line(values: Mapping[str, str], *names: str) -> None:
    """Refuse the named form values that hold a line break or a control character."""
    fields = {
        name: FIELD_MESSAGES["single_line"] for name in names if not is_single_line(values[name])
    }
    if fields:
        raise Invalid(fields=fields)


def parse_input(model: type[ModelT], data: dict[str, Any]) -> ModelT:
    """Validate input; every broken field is named in an Invalid error."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "form"
            fields.setdefault(
                name, FIELD_MESSAGES.get(error["type"], FIELD_MESSAGES["value_error"])
            )
        raise Invalid(fields=fields) from exc
