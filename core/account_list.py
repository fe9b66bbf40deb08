"""The secretariat's list of accounts: searched by name or e-mail, filtered by role and state."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.errors import N_, Forbidden
from core.pagination import PageOf, page_of
from core.search import chosen, matches_text, search_text


class AccountState(enum.StrEnum):
    """Where an account stands, as the users page shows it."""

    active = "active"  # may sign in: a password chosen, not deactivated
    invited = "invited"  # invited, no password chosen yet
    inactive = "inactive"  # deactivated


STATE_LABELS = {
    AccountState.active: N_("Active"),
    AccountState.invited: N_("Invited"),
    AccountState.inactive: N_("Deactivated"),
}
STATE_CONDITIONS = {
    AccountState.active: (User.is_active.is_(True), User.password_hash.is_not(None)),
    AccountState.invited: (User.is_active.is_(True), User.password_hash.is_(None)),
    AccountState.inactive: (User.is_active.is_(False),),
}


def state_of(user: User) -> AccountState:
    """Where one account stands."""
    if not user.is_active:
        return AccountState.inactive
    return AccountState.active if user.password_hash else AccountState.invited


@dataclass(frozen=True)
class UserFilters:
    """What the accounts are filtered by: typed text, a role, a state."""

    text: str = ""
    role: Role | None = None
    state: AccountState | None = None

    def query(self) -> dict[str, str]:
        """The filters as the query string of the list's address."""
        return {
            "q": self.text,
            "role": self.role.value if self.role else "",
            "state": self.state.value if self.state else "",
        }

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(self.query().values())


def user_filters(*, text: object = "", role: object = "", state: object = "") -> UserFilters:
    """The filters as a person's address gives them; what is not a known value is left out."""
    return UserFilters(
        text=search_text(text), role=chosen(Role, role), state=chosen(AccountState, state)
    )


def _filtered(query: Select[User], filters: UserFilters) -> Select[User]:
    if filters.text:
        query = query.where(matches_text(filters.text, User.full_name, User.email))
    if filters.role is not None:
        query = query.where(User.role == filters.role)
    if filters.state is not None:
        query = query.where(*STATE_CONDITIONS[filters.state])
    return query


def users_by_name(filters: UserFilters) -> Select[User]:
    """The accounts the filters keep, by name, as the users page lists them."""
    return _filtered(select(User), filters).order_by(func.lower(User.full_name), User.id)


def list_users(
    session: Session, *, actor: User, filters: UserFilters, page: int = 1
) -> PageOf[User]:
    """One page of the accounts the filters keep, by name, counted; for the secretariat."""
    if not actor.has_role(Role.secretariat):
        raise Forbidden()
    return page_of(
        session, users_by_name(filters), page=page, counted=True, filters=filters.query()
    )


def users_by_id(filters: UserFilters) -> Select[User]:
    """The accounts the filters keep, in the order the API pages through them."""
    return _filtered(select(User), filters).order_by(User.id)
