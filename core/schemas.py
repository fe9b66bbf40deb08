"""API shapes of accounts and tokens."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from core.accounts import Role
from core.forms import SingleLine


class UserOut(BaseModel):
    """An account as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    role: Role
    is_active: bool
    created_at: dt.datetime
    locale: str = Field(description="Language of the person's pages and of every mail sent them.")


class AccountChangeIn(BaseModel):
    """What a person may change of their own account through the API."""

    locale: Literal["es_MX", "en"] = Field(
        description="Language of the person's pages and of every mail sent them."
    )


class InvitationIn(BaseModel):
    """The secretariat's invitation of a council member, expert or colleague."""

    email: EmailStr
    full_name: SingleLine = Field(min_length=1, max_length=200)
    role: Role
    locale: str = Field(default="es_MX", max_length=10)
