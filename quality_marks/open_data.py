"""The registry's open data: every issued certificate and every registry event, streamed in
CSV, JSON and JSON Lines under CC BY 4.0, the data dictionary that documents them, the Atom feed
of what happened to certificates, and the stamp that tells readers' caches whether anything did.

Exports read the database a page of rows at a time (`yield_per`: a server-side cursor on
PostgreSQL) and write each row as it comes, so memory stays the same at any registry size.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import N_
from core.i18n import Translator, local_date
from quality_marks.certificate_history import EVENT_LABELS
from quality_marks.certificate_models import (
    ISSUED_CERTIFICATES,
    Certificate,
    RegistryEvent,
    RegistryEventKind,
)
from quality_marks.models import Organization, Product

LICENSE_NAME = "CC BY 4.0"
LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"
# Bumped by hand when the shape of an export or the feed changes (their ETags change with it).
EXPORT_REVISION = 1
# Rows read from the database at a time: the memory an export holds, whatever its size.
EXPORT_PAGE = 500
# Entries of the Atom feed: the newest events; older ones are in the events export.
FEED_ENTRIES = 100
# Events the feed announces: what changes whether a mark can be relied on.
FEED_KINDS = (
    RegistryEventKind.issued,
    RegistryEventKind.suspended,
    RegistryEventKind.reinstated,
    RegistryEventKind.withdrawn,
    RegistryEventKind.expired,
)
# Events of numbers never issued are not the registry's to publish (void numbers stay unseen).
PUBLIC_EVENT_KINDS = tuple(kind for kind in RegistryEventKind if kind != RegistryEventKind.voided)
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "jsonl": "application/jsonl; charset=utf-8",
}
# Lists in one CSV cell (sectors, states) are joined by this.
LIST_SEPARATOR = ";"


@dataclass(frozen=True)
class DataField:
    """One field of an open data file, as its data dictionary documents it."""

    name: str
    type: str  # msgid: text, integer, date...
    meaning: str  # msgid


# The types of fields, as the data dictionary names them.
TEXT = N_("text")
INTEGER = N_("integer")
DATE = N_("date (YYYY-MM-DD)")
MOMENT = N_("date and time (ISO 8601, UTC)")
TEXTS = N_("list of texts")
URL = N_("web address (URL)")

CERTIFICATE_FIELDS = (
    DataField("number", TEXT, N_("The certificate's number, e.g. MX-CEIA-2026-000123.")),
    DataField(
        "status",
        TEXT,
        N_("Where it stands: valid, suspended, withdrawn, expired or superseded (renewed)."),
    ),
    DataField("level", TEXT, N_("The level of the quality mark granted (A or B).")),
    DataField("organization_id", INTEGER, N_("The holder's number in the registry.")),
    DataField("organization_name", TEXT, N_("The holder's legal name.")),
    DataField("organization_state", TEXT, N_("The Mexican state of the holder.")),
    DataField("product_identifier", TEXT, N_("The product's identifier in the registry.")),
    DataField("product_name", TEXT, N_("The certified product's name.")),
    DataField("product_version", TEXT, N_("The product version that was assessed.")),
    DataField(
        "sectors",
        TEXTS,
        N_("Sectors where the product is used (in CSV, separated by semicolons)."),
    ),
    DataField(
        "states",
        TEXTS,
        N_("Mexican states where the product is used (in CSV, separated by semicolons)."),
    ),
    DataField("risk_level", TEXT, N_("The product's risk level: minimal, limited or high.")),
    DataField("provider", TEXT, N_("Who develops the AI system.")),
    DataField("deployer", TEXT, N_("Who puts the AI system into use.")),
    DataField("guideline_title_es", TEXT, N_("The guideline assessed against, in Spanish.")),
    DataField("guideline_title_en", TEXT, N_("The guideline's title in English.")),
    DataField("guideline_version", TEXT, N_("The version of the guideline assessed against.")),
    DataField("resolution", TEXT, N_("The council resolution that granted the mark.")),
    DataField("issued_on", DATE, N_("The day the certificate was issued (YYYY-MM-DD).")),
    DataField("valid_from", DATE, N_("The first day the certificate is valid.")),
    DataField("valid_until", DATE, N_("The last day the certificate is valid.")),
    DataField(
        "status_changed_at",
        MOMENT,
        N_("When the status last changed (ISO 8601, UTC)."),
    ),
    DataField(
        "withdrawal_reason",
        TEXT,
        N_("Why it was withdrawn, when it was (a reason code); empty otherwise."),
    ),
    DataField("certificate_url", URL, N_("The certificate's public page.")),
    DataField("product_url", URL, N_("The product's public page in the registry.")),
)
EVENT_FIELDS = (
    DataField("event_id", INTEGER, N_("The event's number: events are numbered in order.")),
    DataField("number", TEXT, N_("The number of the certificate the event concerns.")),
    DataField(
        "kind",
        TEXT,
        N_(
            "What happened: issued, suspended, reinstated, withdrawn, expired, superseded or "
            "reassessment_requested."
        ),
    ),
    DataField("occurred_at", MOMENT, N_("When it happened (ISO 8601, UTC).")),
    DataField("reason_code", TEXT, N_("A reason code, for withdrawals; empty otherwise.")),
    DataField("public_reason_es", TEXT, N_("The public reason, in Spanish.")),
    DataField("public_reason_en", TEXT, N_("The public reason, in English.")),
    DataField("resolution", TEXT, N_("The council resolution behind it, if a ballot took it.")),
)


# What changed last ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryStamp:
    """The registry's latest event: what public pages, exports and the feed are drawn from."""

    event_id: int  # 0 before any event
    changed_at: dt.datetime | None


def registry_stamp(session: Session) -> RegistryStamp:
    """The latest registry event's number and time (one indexed read: cheap enough for a 304)."""
    event_id, changed_at = session.execute(
        select(func.max(RegistryEvent.id), func.max(RegistryEvent.occurred_at))
    ).one()
    if isinstance(changed_at, str):  # SQLite's max() hands back the stored text
        changed_at = dt.datetime.fromisoformat(changed_at)
    if changed_at is not None and changed_at.tzinfo is None:
        changed_at = changed_at.replace(tzinfo=dt.UTC)
    return RegistryStamp(event_id=int(event_id or 0), changed_at=changed_at)


# The rows ------------------------------------------------------------------------------------


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    return value if isinstance(value, str) else ""


def _utc(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def certificate_rows(
    session: Session, *, base_url: str, page_size: int = EXPORT_PAGE
) -> Iterator[dict[str, Any]]:
    """Every issued certificate's public fields, oldest first, read a page of rows at a time."""
    base = base_url.rstrip("/")
    statement = (
        select(
            Certificate.number,
            Certificate.status,
            Certificate.level,
            Certificate.payload,
            Certificate.valid_from,
            Certificate.valid_until,
            Certificate.issued_at,
            Certificate.status_changed_at,
            Certificate.withdrawal_reason,
            Organization.id,
            Organization.legal_name,
            Organization.state,
            Product.identifier,
            Product.name,
            Product.version,
            Product.sectors,
            Product.states,
            Product.risk_level,
            Product.provider,
            Product.deployer,
        )
        .join(Organization, Organization.id == Certificate.organization_id)
        .join(Product, Product.id == Certificate.product_id)
        .where(Certificate.status.in_(ISSUED_CERTIFICATES))
        .order_by(Certificate.id)
        .execution_options(yield_per=page_size)
    )
    for row in session.execute(statement):
        payload = row.payload or {}
        issued_on = _text(payload, "issued_on") or (
            local_date(row.issued_at).isoformat() if row.issued_at else ""
        )
        yield {
            "number": row.number,
            "status": row.status.value,
            "level": row.level,
            "organization_id": row.id,
            "organization_name": row.legal_name,
            "organization_state": row.state,
            "product_identifier": row.identifier,
            "product_name": row.name,
            "product_version": row.version,
            "sectors": list(row.sectors or []),
            "states": list(row.states or []),
            "risk_level": row.risk_level.value,
            "provider": row.provider,
            "deployer": row.deployer,
            "guideline_title_es": _text(payload, "guideline_title"),
            "guideline_title_en": _text(payload, "guideline_title_en"),
            "guideline_version": _text(payload, "guideline_version"),
            "resolution": _text(payload, "resolution"),
            "issued_on": issued_on,
            "valid_from": row.valid_from.isoformat(),
            "valid_until": row.valid_until.isoformat(),
            "status_changed_at": _utc(row.status_changed_at),
            "withdrawal_reason": row.withdrawal_reason.value if row.withdrawal_reason else "",
            "certificate_url": f"{base}/verify/{quote(row.number)}",
            "product_url": f"{base}/registry/products/{quote(row.identifier)}",
        }


def _public_events() -> Any:
    return (
        select(
            RegistryEvent.id,
            RegistryEvent.kind,
            RegistryEvent.occurred_at,
            RegistryEvent.reason_code,
            RegistryEvent.public_reason,
            RegistryEvent.resolution,
            Certificate.number,
        )
        .join(Certificate, Certificate.id == RegistryEvent.certificate_id)
        .where(
            Certificate.status.in_(ISSUED_CERTIFICATES),
            RegistryEvent.kind.in_(PUBLIC_EVENT_KINDS),
        )
    )


def _event_row(row: Any) -> dict[str, Any]:
    reason = row.public_reason or {}
    return {
        "event_id": row.id,
        "number": row.number,
        "kind": row.kind.value,
        "occurred_at": _utc(row.occurred_at),
        "reason_code": row.reason_code or "",
        "public_reason_es": str(reason.get("es", "")),
        "public_reason_en": str(reason.get("en", "")),
        "resolution": row.resolution or "",
    }


def event_rows(session: Session, *, page_size: int = EXPORT_PAGE) -> Iterator[dict[str, Any]]:
    """The public history of every issued certificate, oldest first, a page of rows at a time."""
    statement = _public_events().order_by(RegistryEvent.id).execution_options(yield_per=page_size)
    for row in session.execute(statement):
        yield _event_row(row)


# Writing them --------------------------------------------------------------------------------


def csv_stream(rows: Iterable[dict[str, Any]], fields: tuple[DataField, ...]) -> Iterator[bytes]:
    """CSV (RFC 4180, UTF-8 with a byte order mark so spreadsheets read accents), row by row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([field.name for field in fields])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            [
                LIST_SEPARATOR.join(value) if isinstance(value, list) else value
                for value in (row[field.name] for field in fields)
            ]
        )
        yield buffer.getvalue().encode("utf-8")


def json_stream(
    rows: Iterable[dict[str, Any]], *, dataset: str, dictionary_url: str
) -> Iterator[bytes]:
    """One JSON document: the licence and where the fields are documented, then the rows."""
    head = json.dumps(
        {
            "license": LICENSE_URL,
            "license_name": LICENSE_NAME,
            "dataset": dataset,
            "described_by": dictionary_url,
        },
        ensure_ascii=False,
    )
    yield f'{head[:-1]}, "rows": ['.encode()
    separator = ""
    for row in rows:
        yield f"{separator}\n{json.dumps(row, ensure_ascii=False)}".encode()
        separator = ","
    yield b"\n]}\n"


def jsonl_stream(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """JSON Lines: one object per row (the licence travels in the Link header)."""
    for row in rows:
        yield (json.dumps(row, ensure_ascii=False) + "\n").encode()


# The Atom feed -------------------------------------------------------------------------------

ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class FeedEntry:
    """One registry event as the Atom feed announces it."""

    event_id: int
    number: str
    kind: RegistryEventKind
    occurred_at: dt.datetime
    public_reason: dict[str, str]
    resolution: str


def feed_entries(session: Session, *, limit: int = FEED_ENTRIES) -> list[FeedEntry]:
    """The newest issuances, suspensions, reinstatements, withdrawals and expiries."""
    rows = session.execute(
        _public_events()
        .where(RegistryEvent.kind.in_(FEED_KINDS))
        .order_by(RegistryEvent.id.desc())
        .limit(limit)
    )
    return [
        FeedEntry(
            event_id=row.id,
            number=row.number,
            kind=row.kind,
            occurred_at=row.occurred_at,
            public_reason={str(k): str(v) for k, v in (row.public_reason or {}).items()},
            resolution=row.resolution or "",
        )
        for row in rows
    ]


def _tag(base_url: str, specific: str) -> str:
    """A tag: URI (RFC 4151) under the service's host: stable whatever the feed's address."""
    host = urlsplit(base_url).hostname or "localhost"
    return f"tag:{host},2026:{specific}"


def atom_feed(
    entries: list[FeedEntry],
    *,
    base_url: str,
    tr: Translator,
    updated: dt.datetime | None,
) -> bytes:
    """The registry's Atom 1.0 feed (RFC 4287) in the reader's language."""
    base = base_url.rstrip("/")
    ElementTree.register_namespace("", ATOM)

    def sub(parent: ElementTree.Element, name: str, text: str = "", **attrs: str) -> Any:
        element = ElementTree.SubElement(parent, f"{{{ATOM}}}{name}", attrs)
        if text:
            element.text = text
        return element

    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", tr.html_lang)
    sub(feed, "id", _tag(base, "registry-feed"))
    sub(feed, "title", tr.gettext("Registry of certified AI products: changes"))
    sub(feed, "updated", _utc(updated or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    author = sub(feed, "author")
    sub(author, "name", tr.gettext("AI Ethics Council of Mexico"))
    sub(feed, "link", rel="self", href=f"{base}/registry/feed.atom")
    sub(feed, "link", rel="alternate", href=f"{base}/registry/data", type="text/html")
    sub(feed, "link", rel="license", href=LICENSE_URL)
    # The transparency log's signed tree head: readers of the feed can pin the log's state.
    sub(feed, "link", rel="related", href=f"{base}/transparency/sth", type="application/json")
    sub(feed, "rights", f"{LICENSE_NAME} ({LICENSE_URL})")
    for item in entries:
        entry = sub(feed, "entry")
        sub(entry, "id", _tag(base, f"registry-event/{item.event_id}"))
        sub(
            entry,
            "title",
            tr.gettext(
                "%(event)s: certificate %(number)s",
                event=tr.gettext(EVENT_LABELS[item.kind]),
                number=item.number,
            ),
        )
        sub(entry, "updated", _utc(item.occurred_at))
        sub(entry, "link", rel="alternate", href=f"{base}/verify/{quote(item.number)}")
        reason = tr.pick(item.public_reason.get("es", ""), item.public_reason.get("en", ""))
        summary = reason
        if item.resolution:
            summary = tr.gettext(
                "%(reason)s (resolution %(resolution)s)", reason=reason, resolution=item.resolution
            ).strip()
        sub(entry, "summary", summary or tr.gettext(EVENT_LABELS[item.kind]))
        sub(entry, "category", term=item.kind.value)
    body: bytes = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
