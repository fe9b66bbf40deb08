"""The registry's public pages, open data downloads and Atom feed, with HTTP caching.

Every answer here carries an ETag and Last-Modified drawn from the registry's latest event (and
the language, for what is translated), so a reader or a cache in front revalidates with a 304
that costs one indexed read and no rendering.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from core.auth import CSRF_SESSION_KEY, Now
from core.db import get_session
from core.documents import template_revision
from core.downloads import content_disposition, etag_matches
from core.errors import NotFound
from core.i18n import local_date
from core.web import FLASH_KEY, render_page, service_settings, translator_for
from guidelines.service import RISK_LABELS
from quality_marks import open_data, registry_public
from quality_marks.applications import ANSWER_LABELS
from quality_marks.certificate_history import STATUS_LABELS, WITHDRAWAL_LABELS
from quality_marks.decisions import FINDING_LABELS, LEVEL_LABELS
from quality_marks.organizations import SECTOR_LABELS

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]

# Pages say where a certificate stands: shared caches keep them a minute, then revalidate.
PAGE_MAX_AGE = 60
# Downloads and the feed change only with a registry event; a cache keeps them five minutes.
DATA_MAX_AGE = 300
LANGUAGE_VARY = "Cookie, Accept-Language"
_LICENSE_LINK = f'<{open_data.LICENSE_URL}>; rel="license", </registry/data>; rel="describedby"'
_DATASETS = {
    "certificates": open_data.CERTIFICATE_FIELDS,
    "events": open_data.EVENT_FIELDS,
}


def _http_date(moment: dt.datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(dt.UTC).replace(microsecond=0), True)


def _unchanged_since(request: Request, changed_at: dt.datetime | None) -> bool:
    """Whether If-Modified-Since is no earlier than the last change (HTTP dates have seconds)."""
    header = request.headers.get("if-modified-since")
    if not header or changed_at is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    return changed_at.replace(microsecond=0) <= since


def _validators(
    request: Request, parts: tuple[object, ...], changed_at: dt.datetime | None
) -> tuple[dict[str, str], bool]:
    """The ETag and Last-Modified of an answer, and whether the reader already has it.

    If-None-Match, when sent, decides alone (RFC 9110 13.2.2); If-Modified-Since otherwise.
    """
    digest = hashlib.sha256(repr((template_revision(), *parts)).encode()).hexdigest()[:32]
    etag = f'"{digest}"'
    headers = {"ETag": etag}
    if changed_at is not None:
        headers["Last-Modified"] = _http_date(changed_at)
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return headers, etag_matches(if_none_match, etag)
    return headers, _unchanged_since(request, changed_at)


def _page(
    request: Request,
    session: Session,
    now: dt.datetime,
    *,
    parts: tuple[object, ...],
    render: Callable[[], tuple[str, dict[str, Any]]],
) -> Response:
    """A public page, or 304 when the reader has it: the stamp decides before anything renders.

    A visitor with a session (a CSRF token in the page, a message waiting) gets a page of their
    own: the token is part of its ETag, and only their browser may keep it.
    """
    stamp = open_data.registry_stamp(session)
    token = request.session.get(CSRF_SESSION_KEY)
    pending = bool(request.session.get(FLASH_KEY))
    viewer = hashlib.sha256(str(token).encode()).hexdigest()[:16] if token else "anonymous"
    language = translator_for(request).locale
    headers, unchanged = _validators(
        request,
        (*parts, stamp.event_id, language, local_date(now).isoformat(), viewer),
        stamp.changed_at,
    )
    personal = bool(token) or pending
    headers["Cache-Control"] = (
        "private, no-cache" if personal else f"public, max-age={PAGE_MAX_AGE}"
    )
    headers["Vary"] = LANGUAGE_VARY
    if unchanged and not pending:
        return Response(status_code=304, headers=headers)
    template, context = render()
    page = render_page(request, template, context)
    return Response(bytes(page.body), media_type="text/html; charset=utf-8", headers=headers)


def _labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "level_labels": LEVEL_LABELS,
        "withdrawal_labels": WITHDRAWAL_LABELS,
        "answer_labels": ANSWER_LABELS,
        "finding_labels": FINDING_LABELS,
        "sector_labels": SECTOR_LABELS,
        "risk_labels": RISK_LABELS,
    }


@pages.get("/registry/products/{identifier}", response_model=None)
def product_page(request: Request, session: DbSession, now: Now, identifier: str) -> Response:
    """A certified product's public page: its fields, certificates, results and history."""
    product = registry_public.certified_product(session, identifier)

    def render() -> tuple[str, dict[str, Any]]:
        view = registry_public.product_page(session, identifier, now=now)
        return "quality_marks/registry_product.html", {**_labels(), "page": view}

    parts = ("product", product.identifier, product.updated_at.isoformat())
    return _page(request, session, now, parts=parts, render=render)


@pages.get("/registry/organisations/{organization_id}", response_model=None)
def organization_page(
    request: Request, session: DbSession, now: Now, organization_id: int
) -> Response:
    """An organisation's public page: its legal name, state and certified products."""
    holder = registry_public.certified_holder(session, organization_id)
    changed = registry_public.holder_changed_at(session, holder.id)

    def render() -> tuple[str, dict[str, Any]]:
        view = registry_public.holder_page(session, organization_id)
        return "quality_marks/registry_organization.html", {**_labels(), "page": view}

    parts = ("organisation", holder.id, holder.legal_name, holder.state, str(changed))
    return _page(request, session, now, parts=parts, render=render)


@pages.get("/registry/data", response_model=None)
def data_dictionary(request: Request, session: DbSession, now: Now) -> Response:
    """The open data page: the downloads, the licence and what every field means."""

    def render() -> tuple[str, dict[str, Any]]:
        return "quality_marks/open_data.html", {
            "datasets": _DATASETS,
            "formats": list(open_data.FORMATS),
            "license_name": open_data.LICENSE_NAME,
            "license_url": open_data.LICENSE_URL,
            "list_separator": open_data.LIST_SEPARATOR,
        }

    return _page(request, session, now, parts=("dictionary",), render=render)


def _download(
    request: Request,
    session: Session,
    *,
    dataset: str,
    fmt: str,
    rows: Callable[[], Iterator[dict[str, Any]]],
) -> Response:
    """A whole-registry download, streamed row by row, or 304 when the reader has it."""
    if fmt not in open_data.FORMATS:
        raise NotFound()
    stamp = open_data.registry_stamp(session)
    headers, unchanged = _validators(
        request, (dataset, fmt, open_data.EXPORT_REVISION, stamp.event_id), stamp.changed_at
    )
    headers["Cache-Control"] = f"public, max-age={DATA_MAX_AGE}"
    headers["Link"] = _LICENSE_LINK
    headers["Access-Control-Allow-Origin"] = "*"  # open data: any site may read it
    if unchanged:
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = content_disposition(f"registro-{dataset}.{fmt}")
    body: Iterator[bytes]
    if fmt == "csv":
        body = open_data.csv_stream(rows(), _DATASETS[dataset])
    elif fmt == "json":
        dictionary = f"{service_settings(request).base_url.rstrip('/')}/registry/data"
        body = open_data.json_stream(rows(), dataset=dataset, dictionary_url=dictionary)
    else:
        body = open_data.jsonl_stream(rows())
    return StreamingResponse(body, media_type=open_data.FORMATS[fmt], headers=headers)


@pages.get("/registry/data/certificates.{fmt}", response_model=None)
def certificates_download(request: Request, session: DbSession, fmt: str) -> Response:
    """Every issued certificate's public fields: CSV, JSON or JSON Lines (CC BY 4.0)."""
    base_url = service_settings(request).base_url
    return _download(
        request,
        session,
        dataset="certificates",
        fmt=fmt,
        rows=lambda: open_data.certificate_rows(session, base_url=base_url),
    )


@pages.get("/registry/data/events.{fmt}", response_model=None)
def events_download(request: Request, session: DbSession, fmt: str) -> Response:
    """The public history of every certificate: CSV, JSON or JSON Lines (CC BY 4.0)."""
    return _download(
        request,
        session,
        dataset="events",
        fmt=fmt,
        rows=lambda: open_data.event_rows(session),
    )


@pages.get("/registry/feed.atom", response_model=None)
def registry_feed(request: Request, session: DbSession) -> Response:
    """The Atom feed of issuances, suspensions, reinstatements, withdrawals and expiries."""
    stamp = open_data.registry_stamp(session)
    tr = translator_for(request)
    headers, unchanged = _validators(
        request, ("feed", open_data.EXPORT_REVISION, stamp.event_id, tr.locale), stamp.changed_at
    )
    headers["Cache-Control"] = f"public, max-age={DATA_MAX_AGE}"
    headers["Vary"] = LANGUAGE_VARY
    headers["Link"] = _LICENSE_LINK
    if unchanged:
        return Response(status_code=304, headers=headers)
    feed = open_data.atom_feed(
        open_data.feed_entries(session),
        base_url=service_settings(request).base_url,
        tr=tr,
        updated=stamp.changed_at,
    )
    return Response(feed, media_type="application/atom+xml; charset=utf-8", headers=headers)
