"""The consultation page at any size: one page of one target's comments, counted in SQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.auth import now_utc
from guidelines import consultation, service
from guidelines.models import CommenterType, ConsultationComment, GuidelineVersion
from tests.conftest import csrf_of
from tests.factories import NOW, make_user, sign_in_as
from tests.guidelines.builders import consulted_version

PAGE = "/guidelines/etica-ia/1.0/consultation"
CLOSES_ON = dt.date(2026, 12, 10)
DURING = NOW + dt.timedelta(days=1)
AFTER = service.closing_moment(CLOSES_ON) + dt.timedelta(hours=1)
PER_PAGE = consultation.COMMENTS_PER_PAGE
# Comment i is about TARGETS[i % 3]: the whole draft, TR-1, TR-2.
TARGETS = ("", "TR-1", "TR-2")


@pytest.fixture
def staff(db: Session) -> User:
    """A member of the secretariat."""
    return make_user(db, role=Role.secretariat, full_name="Secretaría Técnica")


@pytest.fixture
def version(db: Session, staff: User) -> GuidelineVersion:
    """Version 1.0 with one principle and two criteria, in consultation."""
    return consulted_version(db, staff, CLOSES_ON)


@pytest.fixture
def clock(app: FastAPI) -> dict[str, dt.datetime]:
    """The time requests see; a test moves it past the closing moment."""
    pinned = {"now": DURING}
    app.dependency_overrides[now_utc] = lambda: pinned["now"]
    return pinned


@pytest.fixture
def public(app: FastAPI, clock: dict[str, dt.datetime]) -> Iterator[TestClient]:
    """An anonymous visitor."""
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as visitor:
        yield visitor


def add_comments(db: Session, version: GuidelineVersion, count: int, start: int = 0) -> None:
    """`count` confirmed comments, a minute apart, over the three targets in turn."""
    rows = [
        {
            "version_id": version.id,
            "target_code": TARGETS[index % 3],
            "author_name": f"Persona {index}",
            "email": f"p{index}@ejemplo.mx",
            "commenter_type": CommenterType.individual,
            "organisation": "",
            "body": f"Comentario *número* {index}.",
            "locale": "es_MX",
            "created_at": NOW + dt.timedelta(minutes=index),
            "confirm_token_hash": f"{index:064d}",
            "confirmed_at": NOW + dt.timedelta(minutes=index, seconds=30),
            "changed_codes": [],
        }
        for index in range(start, start + count)
    ]
    db.execute(insert(ConsultationComment), rows)
    consultation.recount_tallies(db, version.id)  # written past the verbs that keep them
    db.commit()


def soup(text: str) -> BeautifulSoup:
    """The parsed HTML of a page."""
    return BeautifulSoup(text, "html.parser")


def numbers_shown(page: BeautifulSoup) -> list[int]:
    """The public numbers of the comments on a page, in the order shown."""
    titles = [h.get_text() for h in page.select("article[id^=comment-] h4")]
    return [int(re.sub(r"\D", "", title)) for title in titles]


def test_the_page_shows_one_page_of_comments_with_links_to_the_next(
    db: Session, version: GuidelineVersion, public: TestClient
) -> None:
    add_comments(db, version, PER_PAGE + 10)
    first = soup(public.get(PAGE).text)
    assert len(first.select("article[id^=comment-]")) == PER_PAGE
    assert sorted(numbers_shown(first)) == list(range(1, PER_PAGE + 1))
    assert first.select_one('a[rel="prev"]') is None
    following = first.select_one('a[rel="next"]')
    assert following is not None
    assert following["href"] == f"{PAGE}?page=2"
    second = soup(public.get(following["href"]).text)
    assert sorted(numbers_shown(second)) == list(range(PER_PAGE + 1, PER_PAGE + 11))
    assert second.select_one('a[rel="next"]') is None
    previous = second.select_one('a[rel="prev"]')
    assert previous is not None
    assert previous["href"] == PAGE
    # The stored HTML of each comment is shown, as the renderer made it.
    assert "Comentario <em>número</em>" in str(second.select_one(".comment-body"))


def test_a_target_filter_shows_its_comments_with_their_public_numbers_and_keeps_itself(
    db: Session, version: GuidelineVersion, public: TestClient
) -> None:
    add_comments(db, version, 3 * PER_PAGE + 3)  # 51 comments on each target
    page = soup(public.get(f"{PAGE}?target=TR-1").text)
    # Comment i (numbered i + 1) is about TR-1 when i % 3 == 1: numbers 2, 5, 8...
    assert numbers_shown(page) == [3 * k + 2 for k in range(PER_PAGE)]
    assert {h.get_text(" ", strip=True) for h in page.select(".comment-group h3")} == {
        "TR-1 Criterio TR-1"
    }
    following = page.select_one('a[rel="next"]')
    assert following is not None
    assert following["href"] == f"{PAGE}?target=TR-1&page=2"
    second = soup(public.get(following["href"]).text)
    assert numbers_shown(second) == [3 * PER_PAGE + 2]
    assert [a["href"] for a in second.select('a[rel="prev"]')] == [f"{PAGE}?target=TR-1"]
    # The comment form is about the part of the draft being read.
    link = page.select_one('a[href$="/consultation/comment?target=TR-1"]')
    assert link is not None
    form_page = soup(public.get(str(link["href"])).text)
    option = form_page.select_one('select[name="target_code"] option[selected]')
    assert option is not None
    assert option["value"] == "TR-1"


def test_each_target_is_listed_with_its_count_and_the_whole_draft_has_its_own_filter(
    db: Session, version: GuidelineVersion, public: TestClient
) -> None:
    add_comments(db, version, 7)  # whole draft: 0, 3, 6; TR-1: 1, 4; TR-2: 2, 5
    page = soup(public.get(PAGE).text)
    links = {
        str(a["href"]): item.get_text(" ", strip=True)
        for item in page.select(".comment-targets li")
        for a in item.select("a")
    }
    assert links == {
        PAGE: "Todos los comentarios (7)",
        f"{PAGE}?target=draft": "El borrador completo (3)",
        f"{PAGE}?target=TR-1": "TR-1 Criterio TR-1 (2)",
        f"{PAGE}?target=TR-2": "TR-2 Criterio TR-2 (2)",
    }
    whole = soup(public.get(f"{PAGE}?target=draft").text)
    assert numbers_shown(whole) == [1, 4, 7]
    current = whole.select('.comment-targets a[aria-current="page"]')
    assert [a["href"] for a in current] == [f"{PAGE}?target=draft"]


def test_a_page_beyond_the_last_is_empty_and_links_to_the_first(
    db: Session, version: GuidelineVersion, public: TestClient
) -> None:
    add_comments(db, version, 4)
    response = public.get(f"{PAGE}?target=TR-2&page=9")
    assert response.status_code == 200
    page = soup(response.text)
    assert page.select("article[id^=comment-]") == []
    assert "No hay comentarios en esta página." in page.get_text()
    assert page.select_one('a[href="/guidelines/etica-ia/1.0/consultation?target=TR-2"]')
    for nonsense in ("0", "-3", "dos", "99999999999999999999"):
        assert public.get(f"{PAGE}?page={nonsense}").status_code == 200


def test_a_target_without_comments_says_so(
    db: Session, version: GuidelineVersion, public: TestClient
) -> None:
    add_comments(db, version, 2)  # the whole draft and TR-1
    page = soup(public.get(f"{PAGE}?target=TR-2").text)
    assert "No se ha publicado ningún comentario sobre esta parte del borrador." in page.text


def test_staff_forms_work_on_the_comments_shown_and_come_back_to_their_page(
    app: FastAPI,
    db: Session,
    version: GuidelineVersion,
    staff: User,
    clock: dict[str, dt.datetime],
) -> None:
    add_comments(db, version, 3 * PER_PAGE + 3)
    clock["now"] = AFTER
    last = db.scalars(
        consultation.public_comments_query(version).where(ConsultationComment.target_code == "TR-2")
    ).all()[-1]
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        sign_in_as(client, staff)
        where = f"{PAGE}?target=TR-2&page=2"
        page = soup(client.get(where).text)
        assert page.select_one(f'#comment-{last.id} form[action$="/disposition"]') is not None
        token = csrf_of(client, where)
        refused = client.post(
            f"{PAGE}/comments/{last.id}/disposition",
            data={"disposition": "accepted", "response": "", "csrf_token": token},
        )
        # Refused: the form comes back, as typed, on the page that shows its comment.
        assert refused.status_code == 422
        assert soup(refused.text).select_one(f"#c{last.id}-response-error") is not None
        answer = client.post(
            f"{PAGE}/comments/{last.id}/disposition",
            data={"disposition": "accepted", "response": "Se **acepta**.", "csrf_token": token},
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == f"{where}#comment-{last.id}"
        shown = soup(client.get(where).text).select_one(f"#comment-{last.id}")
        assert shown is not None
        assert "Se <strong>acepta</strong>." in str(shown)


def count_statements(db: Session, client: TestClient, path: str) -> int:
    """How many SQL statements one request for `path` runs."""
    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    connection = db.connection()
    event.listen(connection, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(connection, "before_cursor_execute", count)
    return statements[0]


@pytest.mark.parametrize("path", [PAGE, f"{PAGE}?target=TR-1", f"{PAGE}?page=2"])
def test_the_page_runs_as_many_statements_for_5_comments_as_for_60(
    app: FastAPI,
    db: Session,
    version: GuidelineVersion,
    staff: User,
    clock: dict[str, dt.datetime],
    path: str,
) -> None:
    clock["now"] = AFTER  # closed: the secretariat's forms are on every comment
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        sign_in_as(client, staff)
        add_comments(db, version, 5)
        client.get(path)  # warm: the first request of a client does its own bookkeeping
        small = count_statements(db, client, path)
        add_comments(db, version, 55, start=5)
        large = count_statements(db, client, path)
    assert small == large


def test_the_comments_api_gives_the_same_total_on_every_page(
    db: Session, version: GuidelineVersion, public: TestClient
) -> None:
    add_comments(db, version, 45)
    api = "/api/v1/guidelines/etica-ia/versions/1.0/comments"
    for page, shown in ((1, 20), (2, 20), (3, 5), (4, 0)):
        body = public.get(api, params={"page": page, "page_size": 20}).json()
        assert (len(body["items"]), body["total"]) == (shown, 45)
    whole = public.get(api, params={"page": 1, "page_size": 50}).json()
    assert (len(whole["items"]), whole["total"]) == (45, 45)
