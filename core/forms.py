"""Turning submitted forms into validated input, with messages in the user's language."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

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
}


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
