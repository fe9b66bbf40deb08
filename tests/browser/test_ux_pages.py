"""The checklist, the ballot page and the diff in Chromium: answer targets and narrow screens."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from council.models import Ballot, BallotStatus
from quality_marks.models import Application, ApplicationStatus
from tests.browser.conftest import LiveServer, sign_in

pytestmark = pytest.mark.browser

COMPANY = "cumplimiento@datasalud.example.mx"
SECRETARIAT = "secretaria@ceia.gob.mx"


def _draft_checklist(server: LiveServer) -> str:
    with server.session() as session:
        application_id = session.scalars(
            select(Application.id).where(Application.status == ApplicationStatus.draft)
        ).first()
    assert application_id is not None
    return f"/applications/{application_id}/checklist/TR"


def _width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_checklist_answers_are_large_targets_and_evidence_is_folded(
    page: Page, live_server: LiveServer
) -> None:
    sign_in(page, live_server, COMPANY)
    page.goto(live_server.url + _draft_checklist(live_server))
    choices = page.locator(
        "form.checklist-form input[type=radio], form.checklist-form input[type=checkbox]"
    )
    assert choices.count() > 10
    for index in range(choices.count()):
        box = choices.nth(index).bounding_box()
        if box is None:  # inside a folded evidence block
            continue
        assert box["width"] >= 24
        assert box["height"] >= 24
    current = page.locator("nav.checklist-nav a[aria-current=page]")
    assert current.count() == 1
    # The current tab stands out: its colours differ from the other tabs'.
    others = page.locator("nav.checklist-nav a:not([aria-current])").first
    background = "el => getComputedStyle(el).backgroundColor"
    assert current.evaluate(background) != others.evaluate(background)
    # Each criterion's evidence fields are folded until asked for.
    file_inputs = page.locator("input[type=file]")
    assert file_inputs.count() > 1
    assert not file_inputs.first.is_visible()
    page.locator("details.evidence-fold summary").first.click()
    assert file_inputs.first.is_visible()
    page.set_viewport_size({"width": 320, "height": 800})
    assert _width(page) <= 320


def test_pages_of_this_part_fit_a_320_pixel_screen(page: Page, live_server: LiveServer) -> None:
    with live_server.session() as session:
        ballots = session.scalars(select(Ballot.id).order_by(Ballot.id)).all()
        open_ballot = session.scalars(
            select(Ballot.id).where(Ballot.status == BallotStatus.open)
        ).first()
    assert ballots
    page.set_viewport_size({"width": 320, "height": 800})
    sign_in(page, live_server, SECRETARIAT)
    for path in (
        f"/council/ballots/{ballots[0]}",
        f"/council/ballots/{open_ballot}",
        "/guidelines/etica-ia/compare/versions?from=1.0&to=1.1",
        "/guidelines/etica-ia/1.1",
        "/guidelines/etica-ia/1.1/consultation/comment?target=TR-2",
    ):
        page.goto(live_server.url + path)
        assert _width(page) <= 320, path
