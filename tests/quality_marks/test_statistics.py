"""Registry statistics: counts grouped in the database, drawn as charts that agree with tables."""

from __future__ import annotations

import datetime as dt

from bs4 import BeautifulSoup, Tag
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from quality_marks.certificate_history import WITHDRAWN
from quality_marks.certificate_models import CertificateStatus
from quality_marks.models import Product
from quality_marks.statistics import registry_statistics
from tests.quality_marks.certificate_builders import granted, make_certificate

EN = {"Accept-Language": "en"}


def _registry(db: Session) -> None:
    """Three issued certificates of one product (two in June, one in July) and a void number."""
    case = granted(db)
    for status, issued in (
        (CertificateStatus.valid, dt.datetime(2026, 6, 3, tzinfo=dt.UTC)),
        (CertificateStatus.withdrawn, dt.datetime(2026, 6, 20, tzinfo=dt.UTC)),
        (CertificateStatus.expired, dt.datetime(2026, 7, 2, tzinfo=dt.UTC)),
        (CertificateStatus.void, None),
    ):
        certificate = make_certificate(db, case, status=status)
        certificate.issued_at = issued
    product = db.get(Product, certificate.product_id)
    assert product is not None
    product.sectors = ["salud", "seguros"]
    db.flush()


def _table(section: Tag) -> dict[str, int]:
    return {
        row.th.get_text(strip=True): int(row.td.get_text(strip=True))  # type: ignore[union-attr]
        for row in section.select("tbody tr")
    }


def _bars(section: Tag) -> dict[str, int]:
    svg = section.select_one("svg")
    assert svg is not None
    assert svg.get("role") == "img"
    assert svg.select_one("title") is not None
    assert svg.select_one("desc") is not None
    texts = [text.get_text(strip=True) for text in svg.select("text")]
    labels, counts = texts[0::2], texts[1::2]
    return dict(zip(labels, (int(count) for count in counts), strict=True))


def test_counts_are_grouped_by_each_dimension(db: Session) -> None:
    _registry(db)
    charts = {chart.key: dict(chart.bars) for chart in registry_statistics(db)}
    assert charts["sector"] == {"salud": 3, "seguros": 3}
    assert charts["month"] == {"2026-06": 2, "2026-07": 1}
    assert charts["status"] == {"Valid": 1, WITHDRAWN: 1, "Expired": 1}
    assert sum(charts["level"].values()) == 3
    assert sum(charts["state"].values()) == 3


def test_each_chart_agrees_with_its_table(client: TestClient, db: Session) -> None:
    _registry(db)
    response = client.get("/registry/statistics", headers=EN)
    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    sections = page.select("section.statistic")
    assert len(sections) == 5
    expected = {chart.key: dict(chart.bars) for chart in registry_statistics(db)}
    for section in sections:
        assert section.select_one("table caption") is not None
        assert _bars(section) == _table(section)
    months = next(s for s in sections if s.select_one("#chart-month"))
    assert _table(months) == expected["month"]
    statuses = next(s for s in sections if s.select_one("#chart-status"))
    assert _table(statuses) == {"Valid": 1, "Withdrawn": 1, "Expired": 1}


def test_statistics_page_is_cached_and_revalidated(client: TestClient, db: Session) -> None:
    _registry(db)
    first = client.get("/registry/statistics")
    assert first.headers["cache-control"].startswith("public")
    again = client.get("/registry/statistics", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_statistics_page_in_spanish_with_no_certificates(client: TestClient) -> None:
    page = client.get("/registry/statistics", headers={"Accept-Language": "es-MX"})
    assert page.status_code == 200
    assert BeautifulSoup(page.text, "html.parser").select("section.statistic svg") == []
