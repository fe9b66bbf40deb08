"""A guideline's public consultation, end to end in Chromium: edit, comment, confirm, dispose."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.i18n import local_date
from core.mail import OutboxMessage
from tests.browser.conftest import LiveServer, sign_in

pytestmark = pytest.mark.browser

SECRETARIAT = "secretaria@ceia.gob.mx"
COMMENTER = "colectivo@sociedadcivil.example.org"
NEW_TEXT = "El proveedor debe explicar cada decisión en lenguaje llano y en un plazo de cinco días."


def _confirmation_link(server: LiveServer) -> str:
    with server.session() as session:
        body = session.scalars(
            select(OutboxMessage.body_text)
            .where(OutboxMessage.to_address == COMMENTER)
            .order_by(OutboxMessage.id.desc())
        ).first()
    assert body is not None, "no confirmation mail in the outbox"
    match = re.search(r"/consultation/confirm/\S+", body)
    assert match is not None
    return match.group(0)


def test_secretariat_edits_public_comments_and_secretariat_disposes(
    english_pages: Callable[[], Page], live_server: LiveServer
) -> None:
    staff = english_pages()
    sign_in(staff, live_server, SECRETARIAT)

    # A new draft 2.0, copied from the adopted 1.0.
    staff.goto(live_server.url + "/guidelines/etica-ia")
    staff.get_by_label("Number of the new draft").fill("2.0")
    staff.get_by_role("button", name="Start a new draft").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Edit draft 2.0")

    # Edit criterion TR-2.
    staff.get_by_role("link", name="Edit: TR-2").click()
    staff.get_by_label("Requirement in Spanish").fill(NEW_TEXT)
    staff.get_by_label("Requirement in English").fill(
        "The provider must explain each decision in plain language within five days."
    )
    staff.get_by_role("button", name="Save").click()
    expect(staff.get_by_text("The criterion has been saved.")).to_be_visible()

    # Put the draft to public consultation for the shortest period allowed, thirty days.
    closes_on = (local_date(live_server.clock.now) + dt.timedelta(days=30)).isoformat()
    staff.locator("#f-closes_on").fill(closes_on)
    staff.get_by_role("button", name="Open public consultation").click()
    expect(staff.get_by_text("The public consultation is open.")).to_be_visible()
    expect(staff.locator("#TR-2 .requirement")).to_contain_text("within five days")

    # A member of the public comments on TR-2.
    public = english_pages()
    public.goto(live_server.url + "/guidelines/etica-ia/2.0/consultation")
    public.get_by_role("link", name="Write a comment").click()
    public.get_by_label("What is your comment about?").select_option("TR-2")
    public.get_by_label("Name (optional)").fill("Colectivo Datos Justos")
    public.get_by_label("E-mail address").fill(COMMENTER)
    public.get_by_label("You comment as").select_option("civil_society")
    public.get_by_role("textbox", name="Comment", exact=True).fill(
        "Cinco días hábiles es razonable, pero la explicación debe ofrecerse también en lenguas "
        "indígenas cuando la persona lo solicite."
    )
    public.get_by_role("button", name="Send comment").click()
    expect(public.locator(".flash")).to_contain_text("e-mail")

    # Not published until confirmed from the e-mailed link.
    expect(public.get_by_text("lenguas indígenas")).to_have_count(0)
    public.goto(live_server.url + _confirmation_link(live_server))
    public.goto(live_server.url + "/guidelines/etica-ia/2.0/consultation")
    comment = public.locator("article", has_text="lenguas indígenas")
    expect(comment).to_be_visible()

    # After the consultation closes, the secretariat records a disposition.
    live_server.clock.advance(days=32)  # past the end of the closing day in Mexico City
    staff.goto(live_server.url + "/guidelines/etica-ia/2.0/consultation")
    staff_comment = staff.locator("article", has_text="lenguas indígenas")
    staff_comment.get_by_role("combobox", name="Disposition", exact=True).select_option(
        "partly_accepted"
    )
    staff_comment.get_by_role("textbox", name="Public response").fill(
        "Se añade la obligación de ofrecer la explicación en la lengua de la persona."
    )
    staff_comment.get_by_role("textbox", name="Changed codes").fill("TR-2")
    staff_comment.get_by_role("button", name="Save disposition").click()

    public.reload()
    published = public.locator("article", has_text="lenguas indígenas")
    expect(published).to_contain_text("Partly accepted")
    expect(published).to_contain_text("en la lengua de la persona")
    expect(published.get_by_role("link", name="TR-2")).to_have_attribute(
        "href", "/guidelines/etica-ia/2.0#TR-2"
    )
