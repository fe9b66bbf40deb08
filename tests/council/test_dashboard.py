"""Each person's dashboard on the demo data: their work, its due dates, late items, the links."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import User, find_user_by_email
from core.auth import now_utc
from core.storage import FileStore
from council.demo import DEMO_PASSWORD, seed_demo
from council.models import Ballot, BallotStatus, BallotVoter, CouncilMember, Position
from quality_marks.models import OPEN_REVIEWS, Application, ApplicationStatus, Message, Review
from tests.conftest import csrf_of
from tests.factories import NOW, PASSWORD, make_user, sign_in_as

SECRETARIAT = "secretaria@ceia.gob.mx"
MEMBER = "jgarcia@ceia.gob.mx"
EXPERT = "experta.salud@unam.example.mx"
COMPANY = "legal@finintel.example.mx"
OTHER_COMPANY = "cumplimiento@datasalud.example.mx"


@dataclass
class Clock:
    """The moment the application's routes read, moved by the test."""

    now: dt.datetime


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    pinned = Clock(NOW)
    app.dependency_overrides[now_utc] = lambda: pinned.now
    return pinned


@pytest.fixture
def demo(db: Session, tmp_path: Path) -> Session:
    seed_demo(db, store=FileStore(tmp_path / "store"), base_url="http://testserver", now=NOW)
    db.commit()
    return db


def _board(client: TestClient, db: Session, email: str) -> BeautifulSoup:
    person = find_user_by_email(db, email)
    assert person is not None
    client.cookies.clear()
    client.cookies.set("lang", "en")
    sign_in_as(client, person, DEMO_PASSWORD)
    answer = client.get("/dashboard")
    assert answer.status_code == 200
    return BeautifulSoup(answer.text, "html.parser")


def _section(page: BeautifulSoup, heading_id: str) -> Tag:
    found = page.find("section", attrs={"aria-labelledby": heading_id})
    assert isinstance(found, Tag), f"no section {heading_id}"
    return found


def _item_linking(section: Tag, href: str) -> Tag:
    link = section.find("a", href=href)
    assert isinstance(link, Tag), f"no link to {href} in {section.get('aria-labelledby')}"
    item = link.find_parent("li")
    assert isinstance(item, Tag)
    return item


def _late(item: Tag) -> bool:
    """Late is said in words (a label) and shown by style, never by colour alone."""
    label = item.find(class_="late-label")
    return label is not None and "work-late" in (item.get("class") or [])


def _headings(page: BeautifulSoup) -> list[str]:
    main = page.find("main")
    assert isinstance(main, Tag)
    return [h.get_text(strip=True) for h in main.find_all("h2")]


def test_the_secretariat_sees_the_screening_queue_with_days_waiting_and_the_late_flag(
    client: TestClient, demo: Session, clock: Clock
) -> None:
    waiting = demo.scalars(
        select(Application).where(Application.status == ApplicationStatus.submitted)
    ).all()
    assert waiting, "the demo holds a submitted application"
    application = waiting[0]
    assert application.submitted_at is not None
    # On the day it was submitted nothing is late; four weeks on, screening is overdue.
    clock.now = application.submitted_at + dt.timedelta(hours=1)
    item = _item_linking(
        _section(_board(client, demo, SECRETARIAT), "screening-heading"),
        f"/applications/{application.id}",
    )
    assert not _late(item)
    assert "0 days waiting" in item.get_text(" ", strip=True)
    clock.now = application.submitted_at + dt.timedelta(days=28)
    item = _item_linking(
        _section(_board(client, demo, SECRETARIAT), "screening-heading"),
        f"/applications/{application.id}",
    )
    assert _late(item)
    assert "28 days waiting" in item.get_text(" ", strip=True)
    assert "Overdue" in item.get_text(" ", strip=True)


def test_the_secretariat_sees_comments_ballots_reviews_and_other_work(
    client: TestClient, demo: Session, clock: Clock
) -> None:
    page = _board(client, demo, SECRETARIAT)
    assert _headings(page)[:5] == [
        "Applications to screen",
        "Comments awaiting a disposition",
        "Ballots closing soon",
        "Overdue reviews",
        "Also waiting",
    ]
    comments = _section(page, "dispositions-heading")
    consultation = comments.find("a", href=lambda h: bool(h and h.endswith("/consultation")))
    assert isinstance(consultation, Tag)
    text = comments.get_text(" ", strip=True)
    assert "comments awaiting a disposition" in text
    assert "Dispositions due by" in text
    ballots = _section(page, "closing-heading")
    assert ballots.find("a", href=lambda h: bool(h and h.startswith("/council/ballots/")))
    other = _section(page, "other-heading")
    assert other.find("a", href="/complaints?status=confirmed")
    # No administration section for the secretariat: that is the administrator's.
    assert "Administration" not in _headings(page)


def test_an_overdue_review_stands_out_for_its_reviewer_and_the_secretariat(
    client: TestClient, demo: Session, clock: Clock
) -> None:
    expert = find_user_by_email(demo, EXPERT)
    assert expert is not None
    review = demo.scalars(
        select(Review).where(Review.reviewer_id == expert.id, Review.status.in_(OPEN_REVIEWS))
    ).first()
    assert review is not None
    clock.now = dt.datetime.combine(review.due_on, dt.time(18), tzinfo=dt.UTC)
    item = _item_linking(
        _section(_board(client, demo, EXPERT), "my-reviews-heading"), f"/reviews/{review.id}"
    )
    assert not _late(item)
    assert not _section(_board(client, demo, SECRETARIAT), "late-reviews-heading").find(
        "a", href=f"/applications/{review.application_id}/assignment"
    )
    clock.now += dt.timedelta(days=2)
    item = _item_linking(
        _section(_board(client, demo, EXPERT), "my-reviews-heading"), f"/reviews/{review.id}"
    )
    assert _late(item)
    section = _section(_board(client, demo, SECRETARIAT), "late-reviews-heading")
    late = [
        link.find_parent("li")
        for link in section.find_all("a", href=f"/applications/{review.application_id}/assignment")
    ]
    mine = [
        item
        for item in late
        if isinstance(item, Tag) and expert.full_name in item.get_text(" ", strip=True)
    ]
    assert len(mine) == 1
    assert _late(mine[0])


def test_a_council_member_sees_open_ballots_awaiting_their_position(
    client: TestClient, demo: Session, clock: Clock
) -> None:
    voted = select(Position.member_id).where(
        Position.ballot_id == Ballot.id, Position.superseded_at.is_(None)
    )
    row = demo.execute(
        select(Ballot, User.email)
        .join(BallotVoter, BallotVoter.ballot_id == Ballot.id)
        .join(CouncilMember, CouncilMember.id == BallotVoter.member_id)
        .join(User, User.id == CouncilMember.user_id)
        .where(
            Ballot.status == BallotStatus.open,
            BallotVoter.conflict.is_(None),
            BallotVoter.member_id.not_in(voted),
        )
        .order_by(Ballot.id, User.id)
    ).first()
    assert row is not None, "the demo holds an open ballot someone has yet to vote on"
    ballot, email = row
    page = _board(client, demo, email)
    assert _headings(page)[0] == "Ballots awaiting your position"
    ballot_url = f"/council/ballots/{ballot.id}"
    item = _item_linking(_section(page, "my-ballots-heading"), ballot_url)
    assert item.find("time", datetime=ballot.closes_at.isoformat())
    # Another member who has taken a position on every open ballot sees none.
    others = _section(_board(client, demo, MEMBER), "my-ballots-heading")
    if email != MEMBER:
        assert "You have taken a position on every open ballot." in others.get_text(" ")
    # Once they take a position, the ballot leaves their list.
    _board(client, demo, email)
    token = csrf_of(client, ballot_url)
    cast = client.post(
        f"{ballot_url}/positions", data={"kind": "yes", "text": "", "csrf_token": token}
    )
    assert cast.status_code == 303, cast.text
    after = _section(_board(client, demo, MEMBER), "my-ballots-heading")
    assert not after.find("a", href=ballot_url)


def test_a_company_sees_its_requests_for_information_with_their_due_dates(
    client: TestClient, demo: Session, clock: Clock
) -> None:
    application = demo.scalars(
        select(Application).where(Application.status == ApplicationStatus.information_requested)
    ).one()
    request = demo.scalars(
        select(Message)
        .where(Message.application_id == application.id, Message.is_request.is_(True))
        .order_by(Message.id.desc())
    ).first()
    assert request is not None
    assert request.due_on is not None
    page = _board(client, demo, COMPANY)
    item = _item_linking(
        _section(page, "information-heading"), f"/applications/{application.id}#messages"
    )
    assert "Answer due by" in item.get_text(" ", strip=True)
    assert item.find("time", datetime=request.due_on.isoformat())
    assert not _late(item)
    organisations = _section(page, "organisations-heading")
    assert organisations.find("a", href=f"/organisations/{application.organization_id}")
    clock.now = dt.datetime.combine(request.due_on, dt.time(18), tzinfo=dt.UTC) + dt.timedelta(
        days=1
    )
    item = _item_linking(
        _section(_board(client, demo, COMPANY), "information-heading"),
        f"/applications/{application.id}#messages",
    )
    assert _late(item)
    # The secretariat sees how many requests are past their date.
    other = _section(_board(client, demo, SECRETARIAT), "other-heading")
    assert "1 request for information past its due date" in other.get_text(" ", strip=True)


def test_another_company_sees_only_its_own_work(
    client: TestClient, demo: Session, clock: Clock
) -> None:
    page = _board(client, demo, OTHER_COMPANY)
    assert _headings(page) == ["Requests for information to answer", "Your organisations"]
    information = _section(page, "information-heading")
    assert not information.find("a")
    assert "No request for information" in information.get_text(" ", strip=True)


def test_an_administrator_sees_the_secretariat_work_and_user_administration(
    client: TestClient, db: Session, clock: Clock
) -> None:
    from core.accounts import Role

    admin = make_user(db, role=Role.admin)
    db.commit()
    client.cookies.set("lang", "en")
    sign_in_as(client, admin)
    page = BeautifulSoup(client.get("/dashboard").text, "html.parser")
    headings = _headings(page)
    assert "Applications to screen" in headings
    assert "Administration" in headings
    assert _section(page, "admin-heading").find("a", href="/admin/users")


def test_sign_in_lands_on_the_dashboard_unless_a_page_was_asked_for(
    client: TestClient, db: Session
) -> None:
    person = make_user(db)
    db.commit()
    for asked, landing in [
        (None, "/dashboard"),
        ("/", "/dashboard"),
        ("/guidelines", "/guidelines"),
        ("https://elsewhere.example/", "/dashboard"),
    ]:
        client.cookies.clear()
        data = {"email": person.email, "password": PASSWORD, "next": asked}
        data["csrf_token"] = csrf_of(client, "/signin")
        answer = client.post("/signin", data={k: v for k, v in data.items() if v is not None})
        assert answer.status_code == 303
        assert answer.headers["location"] == landing


def test_the_header_links_the_dashboard_for_signed_in_people_only(
    client: TestClient, db: Session
) -> None:
    client.cookies.set("lang", "en")
    assert 'href="/dashboard"' not in client.get("/guidelines").text
    assert client.get("/dashboard").status_code == 303
    sign_in_as(client, make_user(db))
    nav = BeautifulSoup(client.get("/guidelines").text, "html.parser").find("nav")
    assert isinstance(nav, Tag)
    link = nav.find("a", href="/dashboard")
    assert isinstance(link, Tag)
    assert link.get_text(strip=True) == "My work"
