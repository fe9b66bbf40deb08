"""Outbox pages: the secretariat's list of outgoing mail, each message's text, a retry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from core.api import ObjectId
from core.auth import Now, Staff
from core.db import get_session
from core.errors import N_
from core.mail import MailStatus
from core.outbox import STATUS_LABELS, get_outbox_message, links_in, outbox_page, retry_message
from core.pagination import page_number
from core.web import flash, redirect, render_page

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]


@pages.get("/admin/outbox")
def outbox(
    request: Request, session: DbSession, user: Staff, status: str = "", q: str = ""
) -> HTMLResponse:
    """Every message the service has queued, newest first, filtered by status and text."""
    messages = outbox_page(
        session,
        actor=user,
        status=status,
        text=q,
        page=page_number(request.query_params.get("page")),
    )
    context = {
        "messages": messages,
        "statuses": list(MailStatus),
        "status_labels": STATUS_LABELS,
        "chosen": messages.filters.get("status", ""),
        "text": messages.filters.get("q", "").replace("\x00", ""),
    }
    return render_page(request, "core/outbox.html", context)


@pages.get("/admin/outbox/{message_id}")
def outbox_message(
    request: Request, session: DbSession, user: Staff, message_id: ObjectId
) -> HTMLResponse:
    """One message's headers, whole text and delivery history."""
    message = get_outbox_message(session, actor=user, message_id=message_id)
    context = {"message": message, "links": links_in(message), "status_labels": STATUS_LABELS}
    return render_page(request, "core/outbox_message.html", context)


@pages.post("/admin/outbox/{message_id}/retry")
def outbox_retry(
    request: Request, session: DbSession, user: Staff, now: Now, message_id: ObjectId
) -> RedirectResponse:
    """Put an undelivered message back in line for the next delivery, now."""
    retry_message(session, actor=user, message_id=message_id, now=now)
    session.commit()
    flash(request, N_("The message will be delivered on the next run."))
    return redirect(f"/admin/outbox/{message_id}")
