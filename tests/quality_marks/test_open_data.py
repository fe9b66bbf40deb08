"""The registry's open data: streamed downloads parsed back, their licence, caching and the feed."""

from __future__ import annotations

import csv
import gc
import io
import json
import tracemalloc
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.i18n import LOCALE_COOKIE
from quality_marks import open_data
from quality_marks.certificate_models import Certificate, CertificateStatus, RegistryEventKind
from tests.quality_marks.certificate_builders import make_certificate
from tests.quality_marks.registry_builders import SECRETS, Certified, certified
from tests.quality_marks.verification_builders import change_status

ATOM = "{http://www.w3.org/2005/Atom}"
SUSPENDED = {"es": "Suspendido por una queja.", "en": "Suspended after a complaint."}


@pytest.fixture
def registry(db: Session) -> Certified:
    """One issued certificate, later suspended, and a number never issued (void)."""
    found = certified(db)
    change_status(
        db, found.certificate, CertificateStatus.suspended, RegistryEventKind.suspended, SUSPENDED
    )
    make_certificate(db, found.case, status=CertificateStatus.void)
    return found


def _rows(fmt: str, body: bytes) -> list[dict[str, Any]]:
    text = body.decode("utf-8")
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    if fmt == "json":
        document = json.loads(text)
        assert document["license"] == open_data.LICENSE_URL
        rows: list[dict[str, Any]] = document["rows"]
        return rows
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_the_certificates_download_holds_each_issued_certificate_and_its_licence(
    client: TestClient, registry: Certified, fmt: str
) -> None:
    response = client.get(f"/registry/data/certificates.{fmt}")

    assert response.status_code == 200
    assert "content-length" not in response.headers  # streamed: its size is not known up front
    assert response.headers["content-type"].startswith(open_data.FORMATS[fmt].split(";")[0])
    assert f'<{open_data.LICENSE_URL}>; rel="license"' in response.headers["link"]
    rows = _rows(fmt, response.content)
    assert [row["number"] for row in rows] == [registry.certificate.number]
    row = rows[0]
    assert list(row) == [field.name for field in open_data.CERTIFICATE_FIELDS]
    assert row["status"] == "suspended"
    assert row["product_identifier"] == registry.product.identifier
    assert row["organization_name"] == registry.case.organization.legal_name
    assert row["valid_until"] == "2028-06-01"
    sectors = row["sectors"].split(";") if fmt == "csv" else row["sectors"]
    assert sectors == registry.product.sectors
    for secret in (*SECRETS, registry.case.organization.rfc):
        assert secret not in response.text, secret


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_the_events_download_holds_the_history_of_issued_certificates_only(
    client: TestClient, registry: Certified, fmt: str
) -> None:
    response = client.get(f"/registry/data/events.{fmt}")

    rows = _rows(fmt, response.content)
    assert [(row["number"], row["kind"]) for row in rows] == [
        (registry.certificate.number, "issued"),
        (registry.certificate.number, "suspended"),
    ]
    assert rows[1]["public_reason_en"] == SUSPENDED["en"]
    assert rows[1]["public_reason_es"] == SUSPENDED["es"]
    assert rows[1]["occurred_at"].endswith("Z")


def test_an_unknown_format_is_not_found(client: TestClient, registry: Certified) -> None:
    assert client.get("/registry/data/certificates.xlsx").status_code == 404


def test_downloads_and_the_feed_answer_304_until_the_next_registry_event(
    client: TestClient, db: Session, registry: Certified
) -> None:
    paths = ["/registry/data/certificates.csv", "/registry/data/events.jsonl"]
    paths.append("/registry/feed.atom")
    first = {path: client.get(path) for path in paths}

    by_etag = [client.get(p, headers={"If-None-Match": first[p].headers["etag"]}) for p in paths]
    by_date = [
        client.get(p, headers={"If-Modified-Since": first[p].headers["last-modified"]})
        for p in paths
    ]
    withdrawn = RegistryEventKind.withdrawn
    change_status(db, registry.certificate, CertificateStatus.withdrawn, withdrawn, SUSPENDED)
    after = [client.get(p, headers={"If-None-Match": first[p].headers["etag"]}) for p in paths]

    assert [r.status_code for r in by_etag] == [304, 304, 304]
    assert [r.content for r in by_etag] == [b"", b"", b""]
    assert [r.status_code for r in by_date] == [304, 304, 304]
    assert [r.status_code for r in after] == [200, 200, 200]
    assert {first[p].headers["etag"] for p in paths}.isdisjoint({r.headers["etag"] for r in after})


def test_a_stale_if_modified_since_gets_the_whole_download(
    client: TestClient, registry: Certified
) -> None:
    response = client.get(
        "/registry/data/certificates.json",
        headers={"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"},
    )

    assert response.status_code == 200
    assert _rows("json", response.content)[0]["number"] == registry.certificate.number


def test_the_atom_feed_parses_and_announces_each_change(
    client: TestClient, registry: Certified
) -> None:
    client.cookies.set(LOCALE_COOKIE, "en")

    response = client.get("/registry/feed.atom")

    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{required}") is not None
    entries = feed.findall(f"{ATOM}entry")
    number = registry.certificate.number
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        f"Suspended: certificate {number}",
        f"Issued: certificate {number}",
    ]
    ids = [e.findtext(f"{ATOM}id") or "" for e in entries]
    assert all(i.startswith("tag:testserver,2026:registry-event/") for i in ids)
    assert len(set(ids)) == 2
    assert entries[0].findtext(f"{ATOM}summary") == SUSPENDED["en"]
    link = entries[0].find(f"{ATOM}link")
    assert link is not None
    assert link.get("href") == f"http://testserver/verify/{number}"
    related = [e.get("href") for e in feed.findall(f"{ATOM}link") if e.get("rel") == "related"]
    assert related == ["http://testserver/transparency/sth"]  # the log's signed tree head
    for secret in SECRETS:
        assert secret not in response.text


def test_the_data_dictionary_documents_every_field_and_the_licence(
    client: TestClient, registry: Certified
) -> None:
    client.cookies.set(LOCALE_COOKIE, "en")

    response = client.get("/registry/data")

    assert response.status_code == 200
    assert f'href="{open_data.LICENSE_URL}"' in response.text
    for field in (*open_data.CERTIFICATE_FIELDS, *open_data.EVENT_FIELDS):
        assert f'<span class="code">{field.name}</span>' in response.text


def _many_certificates(db: Session, found: Certified, numbers: range) -> None:
    """Expired certificates of one product, one per serial in `numbers`, in one statement."""
    template = found.certificate
    db.execute(
        insert(Certificate),
        [
            {
                "number": f"MX-CEIA-9999-{n:06d}",
                "year": 9999,
                "serial": n,
                "application_id": template.application_id,
                "decision_id": template.decision_id,
                "organization_id": template.organization_id,
                "product_id": template.product_id,
                "guideline_version_id": template.guideline_version_id,
                "level": template.level,
                "status": CertificateStatus.expired,
                "payload": {**template.payload, "guideline_title": "Lineamientos " + "x" * 200},
                "template_version": "test",
                "status_list_index": 100_000 + n,
                "valid_from": template.valid_from,
                "valid_until": template.valid_until,
                "allocated_at": template.allocated_at,
                "issued_at": template.issued_at,
                "status_changed_at": template.status_changed_at,
            }
            for n in numbers
        ],
    )
    db.expunge_all()


def _export_peak(db: Session) -> tuple[int, int, int]:
    """The peak memory of writing the whole certificates CSV, its size and its chunks."""
    stream = open_data.csv_stream(
        open_data.certificate_rows(db, base_url="http://testserver", page_size=100),
        open_data.CERTIFICATE_FIELDS,
    )
    gc.collect()  # garbage of earlier tests is not the export's
    tracemalloc.start()
    try:
        total = chunks = 0
        for chunk in stream:
            total += len(chunk)
            chunks += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, total, chunks


def test_the_export_streams_in_constant_memory(db: Session, registry: Certified) -> None:
    _many_certificates(db, registry, range(500))
    _export_peak(db)  # the first run compiles and caches the query: not the export's memory
    small_peak, small_total, _ = _export_peak(db)
    _many_certificates(db, registry, range(500, 4000))

    peak, total, chunks = _export_peak(db)

    assert chunks == 1 + 4001  # the header, then a chunk per certificate as it is read
    assert total > 7 * small_total
    # Eight times the rows, about the same memory (all rows held at once would take 8 times).
    assert peak < 2 * small_peak, (small_peak, peak)
    assert peak < total, (peak, total)  # less memory than the file it wrote
