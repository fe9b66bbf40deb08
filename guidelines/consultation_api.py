"""The consultation API: a version's published comments, and commenting on it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from core.api import ERROR_RESPONSES, Page, PageParams, page_params
from core.auth import MaybeUser, Now, client_ip
from core.forms import SingleLine
from core.web import translator_for
from guidelines import consultation
from guidelines.models import CommenterType, ConsultationComment, Disposition
from guidelines.versions_pages import DbSession

api = APIRouter(prefix="/api/v1", tags=["guidelines"], responses=ERROR_RESPONSES)


class CommentIn(BaseModel):
    """A public comment sent through the API; it is published once the e-mailed link is opened."""

    target_code: SingleLine = Field(
        default="",
        max_length=20,
        description="Empty for the whole draft, else a principle or criterion code.",
        examples=["TR-2"],
    )
    author_name: SingleLine = Field(default="", max_length=200, description="Published when given.")
    email: SingleLine = Field(max_length=320, description="For confirmation only; never published.")
    commenter_type: CommenterType
    organisation: SingleLine = Field(default="", max_length=200)
    body: str = Field(max_length=20000, description="The comment, 10 to 5000 characters.")


class CommentOut(BaseModel):
    """A comment as the public sees it; a hidden comment keeps only the secretariat's reason."""

    id: int
    target_code: str
    author_name: str | None
    commenter_type: CommenterType
    organisation: str | None
    body: str | None
    created_at: dt.datetime
    published: bool
    hidden: bool
    hidden_reason: str | None
    disposition: Disposition | None
    response: str | None
    changed_codes: list[str]
    disposed_at: dt.datetime | None


def comment_out(comment: ConsultationComment) -> CommentOut:
    """The public view of a comment: never the e-mail address, never the text of a hidden one."""
    hidden = comment.hidden_at is not None
    return CommentOut(
        id=comment.id,
        target_code=comment.target_code,
        author_name=None if hidden else comment.author_name,
        commenter_type=comment.commenter_type,
        organisation=None if hidden else comment.organisation,
        body=None if hidden else comment.body,
        created_at=comment.created_at,
        published=comment.confirmed_at is not None,
        hidden=hidden,
        hidden_reason=comment.hidden_reason if hidden else None,
        disposition=None if hidden else comment.disposition,
        response=None if hidden else comment.response,
        changed_codes=[] if hidden else comment.changed_codes,
        disposed_at=None if hidden else comment.disposed_at,
    )


@api.get("/guidelines/{slug}/versions/{number}/comments", response_model=Page[CommentOut])
def api_comments(
    session: DbSession,
    user: MaybeUser,
    now: Now,
    slug: str,
    number: str,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[CommentOut]:
    """Published consultation comments on a version, oldest first; e-mail addresses never appear."""
    # Looked up here, not as a dependency: an absurd page is refused before a missing version.
    version = consultation.get_consulted_version(
        session, slug=slug, number=number, viewer=user, now=now
    )
    rows, total = consultation.page_of_public_comments(
        session, version, page=params.page, page_size=params.page_size
    )
    return Page[CommentOut](
        items=[comment_out(row) for row in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


@api.post(
    "/guidelines/{slug}/versions/{number}/comments", response_model=CommentOut, status_code=201
)
def api_submit_comment(
    request: Request,
    session: DbSession,
    user: MaybeUser,
    now: Now,
    slug: str,
    number: str,
    body: CommentIn,
) -> CommentOut:
    """Comment on a version in consultation; it is published once the e-mailed link is opened."""
    # Looked up here, not as a dependency: a malformed body is refused before a missing version.
    version = consultation.get_consulted_version(
        session, slug=slug, number=number, viewer=user, now=now
    )
    comment = consultation.submit_comment(
        session,
        version=version,
        target_code=body.target_code,
        author_name=body.author_name,
        email=body.email,
        commenter_type=body.commenter_type,
        organisation=body.organisation,
        body=body.body,
        locale=translator_for(request).locale,
        client_ip=client_ip(request),
        honeypot="",
        base_url=request.app.state.settings.base_url,
        now=now,
    )
    session.commit()
    return comment_out(comment)
