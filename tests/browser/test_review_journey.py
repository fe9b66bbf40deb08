"""From review to decision in Chromium: assign automatically, two reviews, a decision ballot."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.accounts import User
from quality_marks.models import Application, Product, Review
from tests.browser.conftest import LiveServer, sign_in

pytestmark = pytest.mark.browser

SECRETARIAT = "secretaria@ceia.gob.mx"
APPLICANT = "legal@finintel.example.mx"
# The chair and two members in term vote; a reviewer on the council is recused as an assessor.
COUNCIL = ["presidencia@ceia.gob.mx", "jgarcia@ceia.gob.mx", "lhernandez@ceia.gob.mx"]
COUNCIL += ["rmartinez@ceia.gob.mx"]


def _score_application(server: LiveServer) -> int:
    with server.session() as session:
        found = session.scalar(
            select(Application.id)
            .join(Product, Product.id == Application.product_id)
            .where(Product.identifier == "MX-IA-FSF-SCORE")
        )
        assert found is not None
        return found


def _reviewers(server: LiveServer, application_id: int) -> list[str]:
    with server.session() as session:
        return list(
            session.scalars(
                select(User.email)
                .join(Review, Review.reviewer_id == User.id)
                .where(Review.application_id == application_id)
                .order_by(Review.id)
            )
        )


def _review_and_submit(page: Page, server: LiveServer, application_id: int) -> None:
    """The reviewer opens their review from their list, finds every criterion, and submits."""
    page.goto(server.url + "/reviews")
    page.get_by_role("link", name=re.compile("ScoreMX")).first.click()
    for finding in page.locator("select[name^=finding-]").all():
        finding.select_option("conforms")
    page.locator("select[name=finding-DM-2]").select_option("minor_nonconformity")
    page.locator("textarea[name=comment-DM-2]").fill(
        "El aviso de privacidad no explica cómo impugnar una línea de crédito."
    )
    page.locator("textarea[name=private_note-DM-2]").fill("Nota solo para el Consejo.")
    page.locator("select[name=recommendation]").select_option("grant_with_conditions")
    page.locator("textarea[name=summary]").fill("Cumple, con una observación menor.")
    page.locator("textarea[name=conditions]").fill("Explicar en el aviso cómo impugnar.")
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator("main")).to_contain_text("Submitted")


def test_reviewers_are_assigned_review_and_the_council_grants_the_mark(
    english_pages: Callable[[], Page], live_server: LiveServer
) -> None:
    application_id = _score_application(live_server)
    staff = english_pages()
    sign_in(staff, live_server, SECRETARIAT)
    staff.goto(f"{live_server.url}/applications/{application_id}")
    staff.get_by_role("button", name="Start screening").click()
    staff.get_by_role("button", name="Accept for review").click()
    staff.get_by_role("link", name="Reviewer assignment").click()
    # The candidates table says why anyone may not review before anyone is chosen.
    expect(staff.locator("main")).to_contain_text("Not a council member in term or an expert")
    staff.get_by_role("button", name="Assign automatically").click()
    reviewers = _reviewers(live_server, application_id)
    assert len(reviewers) == 2
    assert "experto.finanzas@itam.example.mx" in reviewers
    assert set(reviewers) & set(COUNCIL), "one reviewer at least sits on the council"

    for email in reviewers:
        reviewer = english_pages()
        sign_in(reviewer, live_server, email)
        _review_and_submit(reviewer, live_server, application_id)

    staff.goto(f"{live_server.url}/applications/{application_id}")
    staff.get_by_role("link", name="Put the application to a decision ballot").click()
    expect(staff.locator("select[name=proposal]")).to_have_value("grant")
    staff.locator("textarea[name=reasons]").fill("Las dos revisiones respaldan otorgar la marca.")
    staff.get_by_role("button", name="Open ballot").click()
    expect(staff.get_by_text("The ballot is open.")).to_be_visible()
    ballot_url = staff.url
    expect(staff.locator("main")).to_contain_text("Reviewed this application")

    for email in COUNCIL:
        if email in reviewers:
            continue
        member = english_pages()
        sign_in(member, live_server, email)
        member.goto(ballot_url)
        member.locator("input[name=kind][value=yes]").check()
        member.get_by_role("button", name="Record position").click()
        expect(member.get_by_text("Your position has been recorded.")).to_be_visible()

    staff.reload()
    staff.get_by_role("button", name="Close ballot and issue the resolution").click()
    heading = staff.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"^Resolution CEIA-\d{4}-\d{3}$"))
    number = heading.inner_text().removeprefix("Resolution ")

    applicant = english_pages()
    sign_in(applicant, live_server, APPLICANT)
    applicant.goto(f"{live_server.url}/applications/{application_id}")
    applicant.get_by_role("link", name="Read the decision, its reasons and the findings").click()
    main = applicant.locator("main")
    expect(main).to_contain_text("Granted")
    expect(main).to_contain_text(number)
    expect(main).to_contain_text("Level B")
    expect(main).to_contain_text("El aviso de privacidad no explica cómo impugnar")
    # The applicant learns the findings, never who wrote them or the council's private notes.
    expect(main).not_to_contain_text("Nota solo para el Consejo.")
    with live_server.session() as session:
        names = session.scalars(select(User.full_name).where(User.email.in_(reviewers)))
        for name in names:
            expect(main).not_to_contain_text(name)
