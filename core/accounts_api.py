"""The account API: who the bearer is, the list of accounts and invitations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from core.account_list import AccountState, UserFilters, users_by_id
from core.accounts import Role, User, invite_user, set_language
from core.api import ERROR_RESPONSES, Page, PageParams, SearchText, page_params, paginate
from core.auth import Now, SignedIn, Staff
from core.db import get_session
from core.i18n import normalize_locale
from core.schemas import AccountChangeIn, InvitationIn, UserOut
from core.search import search_text
from core.web import service_settings

api = APIRouter(prefix="/api/v1", tags=["accounts"], responses=ERROR_RESPONSES)

DbSession = Annotated[Session, Depends(get_session)]


@api.get("/me", response_model=UserOut)
def api_me(user: SignedIn) -> User:
    """The account the bearer token belongs to."""
    return user


@api.patch("/me", response_model=UserOut)
def api_change_me(session: DbSession, user: SignedIn, now: Now, body: AccountChangeIn) -> User:
    """Change one's own account: the language of one's pages and mail."""
    set_language(session, user=user, locale=body.locale, now=now)
    session.commit()
    return user


@api.get("/users", response_model=Page[UserOut])
def api_users(
    session: DbSession,
    user: Staff,
    params: Annotated[PageParams, Depends(page_params)],
    q: SearchText = "",
    role: Annotated[Role | None, Query()] = None,
    state: Annotated[
        AccountState | None,
        Query(description="`active` (may sign in), `invited` (no password yet), `inactive`."),
    ] = None,
) -> Page[UserOut]:
    """Every account (secretariat only); `q` searches the name and the e-mail address."""
    filters = UserFilters(text=search_text(q), role=role, state=state)
    rows, total = paginate(session, users_by_id(filters), params)
    return Page[UserOut](
        items=[UserOut.model_validate(row) for row in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


@api.post("/users/invitations", response_model=UserOut, status_code=201)
def api_invite(
    request: Request, session: DbSession, user: Staff, now: Now, body: InvitationIn
) -> User:
    """Invite a council member, expert or secretariat colleague by e-mail."""
    invited = invite_user(
        session,
        actor=user,
        email=body.email,
        full_name=body.full_name,
        role=body.role,
        locale=normalize_locale(body.locale) or "es_MX",
        base_url=service_settings(request).base_url,
        now=now,
    )
    session.commit()
    return invited
