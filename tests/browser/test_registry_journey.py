"""A member of the public uses the registry in Chromium: search with and without accents, a sector
filter, a certificate's page, the CSV download, and the inclusion proofs checked in the browser."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.transparency import LogLeaf
from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser

VALID = "MX-CEIA-2026-000003"  # TriajeIA, the demo's valid certificate
DATASALUD = {"TriajeIA", "DermaScan", "PrediCama"}


def _result_names(page: Page) -> set[str]:
    return set(page.locator(".registry-results h3 a").all_inner_texts())


def _search(page: Page, words: str) -> None:
    page.get_by_label("Palabras a buscar").fill(words)
    page.get_by_role("search").get_by_role("button", name="Buscar", exact=True).click()
    page.wait_for_load_state()


def test_public_searches_filters_opens_downloads_and_checks_the_log(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/registry")
    expect(page.locator("h1")).to_have_text("Registro público de productos certificados")

    # Accents do not matter: the organisation's name is "DataSalud Analítica".
    _search(page, "analítica")
    with_accent = _result_names(page)
    _search(page, "analitica")
    assert _result_names(page) == with_accent == DATASALUD

    # The sector filter narrows the results; its count says how many it keeps.
    _search(page, "")
    assert "VozSegura" in _result_names(page)
    page.locator("details.registry-facets summary").click()
    health = page.locator("input[name=sector][value=salud]")
    label = page.locator("label.check", has=health)
    assert re.search(r"\(3\)", label.inner_text())
    health.check()
    page.get_by_role("button", name="Aplicar los filtros").click()
    page.wait_for_load_state()
    assert "sector=salud" in page.url
    assert _result_names(page) == DATASALUD

    # The certificate's page, from the result.
    page.get_by_role("link", name="TriajeIA").click()
    page.wait_for_url(f"{live_server.url}/verify/{VALID}")
    expect(page.locator("h1")).to_contain_text(VALID)

    # The inclusion proofs, checked by the page's script against the signed tree head.
    check = page.locator("#log-check")
    check.get_by_role("button").click()
    expect(check.locator(".check-passed")).to_be_visible()
    assert "firma del Consejo" in check.locator("[role=status]").inner_text()

    # The open data: the CSV lists the certificate.
    page.goto(live_server.url + "/registry/data")
    with page.expect_download() as download_info:
        page.locator("a[href='/registry/data/certificates.csv']").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    numbers = {row["number"] for row in rows}
    assert VALID in numbers
    assert len(rows) == 4


def test_the_browser_check_fails_when_a_log_entry_was_altered(
    page: Page, live_server: LiveServer
) -> None:
    with live_server.session() as session:
        leaf = session.scalars(
            select(LogLeaf).where(LogLeaf.certificate_number == VALID).limit(1)
        ).one()
        leaf.data = leaf.data.replace(VALID, VALID.replace("000003", "000009"))
        session.commit()

    page.goto(f"{live_server.url}/verify/{VALID}")
    check = page.locator("#log-check")
    check.get_by_role("button").click()
    expect(check.locator(".check-failed")).to_be_visible()
    assert "no lleva al encabezado firmado" in check.locator("[role=status]").inner_text()
