"""Journeys through the foundation in real headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from council.demo import DEMO_PASSWORD
from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_visitor_switches_language_signs_in_as_secretariat_and_out(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "es-MX")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Consejo de Ética de la Inteligencia Artificial de México"
    )

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("AI Ethics Council of Mexico")

    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("E-mail address").fill("secretaria@ceia.gob.mx")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Signing in from the home page lands on the person's own dashboard.
    page.wait_for_url(live_server.url + "/dashboard")
    expect(page.get_by_role("heading", level=1)).to_have_text("My work")

    nav = page.get_by_role("navigation", name="Main navigation")
    expect(nav.get_by_role("link", name="People")).to_be_visible()
    expect(nav.get_by_role("link", name="My account")).to_be_visible()
    expect(page.get_by_text("Welcome, Mariana López Ortega.")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    expect(nav.get_by_role("link", name="People")).to_have_count(0)
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def test_keyboard_user_reaches_content_through_the_skip_link(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/signin")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Ir al contenido")
    expect(skip).to_be_focused()
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline == "solid"  # focus is visible, not only the browser's default
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Correo electrónico")).to_be_focused()
