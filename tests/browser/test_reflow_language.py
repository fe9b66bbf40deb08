"""Switching language on a phone keeps the page and what was typed into its open form."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:EdDSA is deprecated")]

COMMENT_FORM = "/guidelines/etica-ia/1.1/consultation/comment"


def test_switching_language_keeps_typed_text_on_the_comment_form(
    live_server: LiveServer, page: Page
) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(live_server.url + COMMENT_FORM)
    expect(page.locator("html")).to_have_attribute("lang", "es-MX")
    page.locator("input[name=author_name]").fill("Ana Torres")
    page.locator("input[name=email]").fill("ana@example.mx")
    page.locator("textarea[name=body]").fill("El criterio TR-2 debería pedir registros.")

    page.locator("form.language button[value=en]").click()
    page.wait_for_url(live_server.url + COMMENT_FORM)

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("input[name=author_name]")).to_have_value("Ana Torres")
    expect(page.locator("input[name=email]")).to_have_value("ana@example.mx")
    expect(page.locator("textarea[name=body]")).to_have_value(
        "El criterio TR-2 debería pedir registros."
    )


def test_switching_language_after_a_refused_form_returns_to_its_page(
    live_server: LiveServer, page: Page
) -> None:
    page.goto(live_server.url + "/register")
    page.locator("input[name=full_name]").fill("Rosa Méndez")
    page.locator("form[action='/register'] button[type=submit]").click()
    expect(page.locator(".form-error, .field-error").first).to_be_visible()

    page.locator("form.language button[value=en]").click()
    page.wait_for_url(live_server.url + "/register")

    expect(page.locator("h1")).to_have_text("Apply for a quality mark")
    expect(page.locator("input[name=full_name]")).to_have_value("Rosa Méndez")
