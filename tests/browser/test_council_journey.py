"""An adoption ballot, end to end in Chromium: open, vote, recuse, close, publish the resolution."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.accounts import find_user_by_email
from guidelines import consultation
from guidelines.models import ConsultationComment, Disposition
from tests.browser.conftest import LiveServer, sign_in

pytestmark = pytest.mark.browser

SECRETARY = "jgarcia@ceia.gob.mx"
VOTERS = [
    ("presidencia@ceia.gob.mx", "yes", ""),
    (
        "lhernandez@ceia.gob.mx",
        "no_objection",
        "Las observaciones de la consulta quedaron atendidas.",
    ),
    ("rmartinez@ceia.gob.mx", "recuse", "Asesoré a una empresa que comentó el borrador."),
]


def _close_consultation_with_dispositions(server: LiveServer) -> None:
    """Time passes until the demo consultation closes; the secretariat answers every comment."""
    server.clock.advance(days=30)
    with server.session() as session:
        staff = find_user_by_email(session, "secretaria@ceia.gob.mx")
        assert staff is not None
        for comment_id in session.scalars(select(ConsultationComment.id)):
            consultation.record_disposition(
                session,
                actor=staff,
                comment_id=comment_id,
                disposition=Disposition.noted,
                response="Se tomó en cuenta en la redacción final.",
                changed_codes=[],
                now=server.clock.now,
            )
        session.commit()


def test_secretary_opens_ballot_members_vote_and_the_version_is_adopted(
    english_pages: Callable[[], Page], live_server: LiveServer
) -> None:
    _close_consultation_with_dispositions(live_server)

    secretary = english_pages()
    sign_in(secretary, live_server, SECRETARY)
    secretary.goto(live_server.url + "/guidelines/etica-ia/1.1")
    secretary.get_by_role("link", name="Put this version to an adoption ballot").click()
    secretary.get_by_role("button", name="Open ballot").click()
    expect(secretary.get_by_text("The ballot is open.")).to_be_visible()
    ballot_url = secretary.url
    # Four members are in term; a simple majority of four needs three.
    expect(secretary.locator(".ballot-outlook")).to_contain_text("Needs 3 more positions to pass.")

    for email, kind, text in VOTERS:
        member = english_pages()
        sign_in(member, live_server, email)
        member.goto(ballot_url)
        member.locator(f"input[name=kind][value={kind}]").check()
        member.get_by_role("textbox", name="Text (required for discuss)").fill(text)
        member.get_by_role("button", name="Record position").click()
        expect(member.get_by_text("Your position has been recorded.")).to_be_visible()

    secretary.reload()
    # One recusal leaves three who count: two favourable positions are a majority.
    expect(secretary.locator(".ballot-outlook")).to_contain_text("Passes as it stands.")
    not_voted = secretary.locator(".ballot-status dt", has_text="Not voted yet")
    expect(not_voted.locator("xpath=following-sibling::dd[1]")).to_have_text(
        "Mtro. Jorge García Salinas"
    )
    expect(
        secretary.get_by_role("button", name="Close ballot and issue the resolution")
    ).to_have_count(0)

    live_server.clock.advance(days=9)  # past the end of the closing day in Mexico City
    secretary.reload()
    secretary.get_by_role("button", name="Close ballot and issue the resolution").click()
    year = live_server.clock.now.year
    heading = secretary.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(rf"^Resolution CEIA-{year}-\d{{3}}$"))
    number = heading.inner_text().removeprefix("Resolution ")

    public = english_pages()
    public.goto(live_server.url + f"/council/resolutions/{number}")
    expect(public.get_by_text("Passed", exact=True)).to_be_visible()
    rows = public.locator("table tbody tr")
    expect(rows.filter(has_text="Dra. Elena Ramírez Cruz")).to_contain_text("Yes")
    expect(rows.filter(has_text="Dra. Lucía Hernández Vega")).to_contain_text("No objection")
    expect(rows.filter(has_text="Dr. Ricardo Martínez Soto")).to_contain_text("Recuse")
    expect(rows.filter(has_text="Mtro. Jorge García Salinas")).to_contain_text("Did not vote")

    public.goto(live_server.url + "/guidelines/etica-ia/1.1")
    expect(public.locator(".version-header")).to_contain_text("Adopted")
    expect(public.locator(".version-header")).to_contain_text(number)
