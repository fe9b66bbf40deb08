"""A company's way to the quality mark in Chromium: sign up, confirm, get verified, describe a
product, assess, submit."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.mail import OutboxMessage
from core.pdf import render_pdf
from tests.browser.conftest import LiveServer, sign_in

pytestmark = pytest.mark.browser

OWNER = "direccion@vigia.example.mx"


def _confirmation_link(server: LiveServer) -> str:
    with server.session() as session:
        body = session.scalars(
            select(OutboxMessage.body_text)
            .where(OutboxMessage.to_address == OWNER)
            .order_by(OutboxMessage.id.desc())
        ).first()
    assert body is not None, "no confirmation mail in the outbox"
    match = re.search(r"/register/confirm/\S+", body)
    assert match is not None
    return match.group(0)


def _fill_product(page: Page) -> None:
    page.get_by_role("textbox", name="Name", exact=True).fill("Vigía Tránsito")
    page.get_by_role("textbox", name="Version", exact=True).fill("1.2")
    page.get_by_role("textbox", name="Intended purpose", exact=True).fill(
        "Cuenta vehículos en cruceros para ajustar los semáforos de la ciudad."
    )
    page.get_by_role("textbox", name="People affected", exact=True).fill(
        "Automovilistas y peatones de Querétaro."
    )
    page.locator("input[name=sectors][value=transporte]").check()
    page.get_by_role("group", name="States where it is deployed").get_by_label("Querétaro").check()
    page.get_by_role("textbox", name="Data used", exact=True).fill(
        "Conteos anónimos de vehículos por carril y minuto."
    )
    page.get_by_role("group", name="Does it process personal data?").get_by_label("No").check()
    page.get_by_role("textbox", name="Type of model", exact=True).fill(
        "Detector de objetos en video (YOLO)"
    )
    page.get_by_role("textbox", name="Human oversight", exact=True).fill(
        "Un operador valida los ajustes diarios."
    )
    page.get_by_role("textbox", name="Provider", exact=True).fill("Vigía Urbana, S.A. de C.V.")
    page.get_by_role("textbox", name="Deployer", exact=True).fill("Municipio de Querétaro")
    for question in page.locator(".questionnaire fieldset").all():
        question.get_by_label("No").check()
    page.get_by_role("button", name="Save the product").click()


def test_company_signs_up_assesses_its_product_and_submits(
    english_pages: Callable[[], Page], live_server: LiveServer, tmp_path: Path
) -> None:
    company = english_pages()
    company.goto(live_server.url + "/")
    company.get_by_role("link", name="Apply for a quality mark").click()

    company.get_by_role("textbox", name="Full name", exact=True).fill("Rocío Vázquez Peña")
    company.get_by_role("textbox", name="E-mail address", exact=True).fill(OWNER)
    company.get_by_label("Password").fill("vigia-urbana-2026")
    company.get_by_role("textbox", name="Legal name", exact=True).fill("Vigía Urbana, S.A. de C.V.")
    company.get_by_role("textbox", name="RFC (tax id)", exact=True).fill("VUR200714AB3")
    company.get_by_role("textbox", name="Address", exact=True).fill(
        "Av. Constituyentes 40, Centro, Querétaro"
    )
    company.get_by_role("combobox", name="State", exact=True).select_option("Querétaro")
    company.get_by_role("combobox", name="Sector", exact=True).select_option("transporte")
    company.get_by_role("combobox", name="Size", exact=True).select_option("small")
    company.get_by_role("textbox", name="Contact name", exact=True).fill("Rocío Vázquez Peña")
    company.get_by_role("textbox", name="Contact e-mail address", exact=True).fill(OWNER)
    company.get_by_role("button", name="Open the account").click()
    expect(company.get_by_role("heading", level=1)).to_contain_text("Check your e-mail")
    company.goto(live_server.url + _confirmation_link(live_server))
    company.get_by_role("button", name="Confirm and open my account").click()
    expect(company.get_by_role("heading", level=1)).to_contain_text("Vigía Urbana")
    expect(company.locator("body")).to_contain_text("Awaiting verification")

    proof = tmp_path / "constancia_de_situacion_fiscal.pdf"
    proof.write_bytes(
        render_pdf('<html lang="es-MX"><h1>Constancia de situación fiscal</h1></html>')
    )
    company.get_by_label("Proof of identity").set_input_files(str(proof))
    company.get_by_role("button", name="Upload the proof").click()
    expect(company.locator("body")).to_contain_text("constancia_de_situacion_fiscal.pdf")

    staff = english_pages()
    sign_in(staff, live_server, "secretaria@ceia.gob.mx")
    staff.get_by_role("link", name="Verification").click()
    case = staff.locator("article", has_text="Vigía Urbana")
    case.get_by_role("combobox", name="Verified by").select_option("proof")
    case.get_by_role("button", name="Verify").click()
    expect(staff.locator("body")).to_contain_text("The organisation has been verified.")
    company.reload()
    expect(company.locator("body")).not_to_contain_text("Awaiting verification")

    company.get_by_role("link", name="Describe an AI product").click()
    _fill_product(company)
    expect(company.locator("body")).to_contain_text("Minimal risk")

    company.get_by_role("combobox", name="Guideline version", exact=True).select_option(index=1)
    company.get_by_role("button", name="Start an application").click()
    expect(company.locator("body")).to_contain_text("Draft")

    evidence = tmp_path / "aviso_de_transparencia.pdf"
    evidence.write_bytes(
        render_pdf('<html lang="es-MX"><h1>Aviso de transparencia</h1><p>Vigía Tránsito</p></html>')
    )
    company.get_by_role("link", name="Fill in the self-assessment").click()
    while True:
        for fieldset in company.locator("fieldset", has_text="Your answer to").all():
            fieldset.get_by_label("Meets", exact=True).check()
        files = company.locator("input[type=file]")
        if files.count() and not company.locator("table.evidence").count():
            files.first.set_input_files(str(evidence))
        following = company.get_by_role("button", name="Save and continue with")
        if following.count() == 0:
            company.get_by_role("button", name="Save answers").click()
            break
        following.click()
    expect(company.locator("body")).to_contain_text("aviso_de_transparencia.pdf")

    company.get_by_role("link", name="Back to the application").first.click()
    company.get_by_role("button", name="Submit for screening").click()
    expect(company.locator(".badge")).to_contain_text("Submitted")

    staff.goto(live_server.url + "/applications")
    staff.locator("tr", has_text="Vigía Tránsito").get_by_role("link").first.click()
    staff.get_by_role("button", name="Start screening").click()

    company.reload()
    expect(company.locator(".badge")).to_contain_text("Screening")
