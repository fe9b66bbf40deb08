"""The consultation API: a version's published comments, and commenting on it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from core.api import ERROR_RESPONSES, Page, PageParams, SearchText, page_params, paginate
from core.auth import MaybeUser, Now, client_ip
from core.web import service_settings, translator_for
from guidelines import comment_list, consultation
from guidelines.comment_list import CommentState
from guidelines.models import Disposition
from guidelines.schemas import CommentIn, CommentOut, comment_out
from guidelines.versions_pages import DbSession

api = APIRouter(prefix="/api/v1", tags=["guidelines"], responses=ERROR_RESPONSES)


@api.get("/guidelines/{slug}/versions/{number}/comments", response_model=Page[CommentOut])
def api_comments(
    session: DbSession,
    user: MaybeUser,
    now: Now,
    slug: str,
    number: str,
    params: Annotated[PageParams, Depends(page_params)],
    q: SearchText = "",
    criterion: Annotated[
        str,
        Query(
            max_length=20,
            description="A principle's or criterion's code, or `draft` for the whole draft.",
        ),
    ] = "",
    state: Annotated[
        CommentState | None,
        Query(description="Published comments only: `hidden`, `awaiting` or `answered`."),
    ] = None,
    disposition: Annotated[Disposition | None, Query()] = None,
) -> Page[CommentOut]:
    """Published consultation comments on a version, oldest first; e-mail addresses never appear.

    `q` searches the text, the author, the organisation and the response of visible comments.
    """
    # Looked up here, not as a dependency: an absurd page is refused before a missing version.
    version = consultation.get_consulted_version(
        session, slug=slug, number=number, viewer=user, now=now
    )
    filters = comment_list.comment_filters(
        text=q, criterion=criterion, state=state or "", disposition=disposition or ""
    )
    rows, total = paginate(session, comment_list.filtered(version, filters, staff=False), params)
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
        base_url=service_settings(request).base_url,
        now=now,
    )
    session.commit()
    return comment_out(comment)
