"""Work lists come a page at a time: links between pages keep the filters; counts stop at a cap."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import find_user_by_email
from core.api import COUNT_CAP, Page
from core.pagination import count_up_to, page_number, page_of
from core.storage import FileStore
from council.demo import DEMO_PASSWORD, seed_demo
from council.demo_certificates import GRANT_STORIES
from council.demo_quality_marks import PRODUCTS
from council.demo_scale import seed_scale
from quality_marks.models import Application, OrganizationMember
from tests.factories import NOW, sign_in_as

# The demo's own applications, one per demo product, besides the scaled ones.
DEMO_APPLICATIONS = len(PRODUCTS) + len(GRANT_STORIES)

# More than two pages of applications (50 a page); fewer than a page of drafts.
SCALE = 120


@pytest.fixture
def secretariat(client: TestClient, db: Session, tmp_path: Path) -> TestClient:
    seed_demo(db, store=FileStore(tmp_path / "store"), base_url="http://testserver", now=NOW)
    seed_scale(db, scale=SCALE, now=NOW)
    db.commit()
    person = find_user_by_email(db, "secretaria@ceia.gob.mx")
    assert person is not None
    sign_in_as(client, person, DEMO_PASSWORD)
    return client


def test_the_queue_links_to_the_next_and_previous_pages(secretariat: TestClient) -> None:
    first = secretariat.get("/applications").text
    assert 'rel="next" href="/applications?page=2"' in first
    assert 'rel="prev"' not in first
    assert f"{SCALE + DEMO_APPLICATIONS} solicitudes" in first  # counted exactly below the cap
    second = secretariat.get("/applications?page=2").text
    assert 'rel="prev" href="/applications"' in second
    assert 'rel="next" href="/applications?page=3"' in second
    assert 'aria-label="Páginas de las solicitudes"' in second
    third = secretariat.get("/applications?page=3").text
    assert 'rel="next"' not in third


def test_each_page_of_the_queue_holds_other_applications(secretariat: TestClient) -> None:
    seen = []
    for page in (1, 2, 3):
        text = secretariat.get(f"/applications?page={page}").text
        seen += [part.split('"')[0] for part in text.split('href="/applications/')[1:]]
    assert len(seen) == len(set(seen)) == SCALE + DEMO_APPLICATIONS


def test_a_page_past_the_end_keeps_the_filter_in_its_links(secretariat: TestClient) -> None:
    answer = secretariat.get("/applications?status=draft&page=2")
    assert answer.status_code == 200
    assert "Esta página está después del final de la lista." in answer.text
    assert 'rel="prev" href="/applications?status=draft"' in answer.text
    assert 'rel="next"' not in answer.text


def test_a_page_that_is_not_a_number_is_the_first() -> None:
    assert [page_number(raw) for raw in ("", "abc", "0", "-3", "²", "7", None)] == [
        1,
        1,
        1,
        1,
        1,
        7,
        1,
    ]


def test_counting_stops_past_the_cap(db: Session, tmp_path: Path) -> None:
    seed_demo(db, store=FileStore(tmp_path / "store"), base_url="http://testserver", now=NOW)
    seed_scale(db, scale=30, now=NOW)
    everything = select(Application).order_by(Application.id)
    capped = count_up_to(db, everything, cap=10)
    assert (capped.number, capped.more) == (10, True)
    exact = count_up_to(db, everything, cap=1000)
    assert (exact.number, exact.more) == (30 + DEMO_APPLICATIONS, False)
    page = page_of(db, everything, page=2, page_size=10, filters={"status": "", "q": "x"})
    assert (len(page.items), page.has_prev, page.has_next) == (10, True, True)
    assert page.query(3) == {"q": "x", "page": "3"}
    assert page.query(1) == {"q": "x"}


def test_an_api_page_past_the_cap_says_there_are_more() -> None:
    assert Page[int](items=[], total=COUNT_CAP + 1, page=1, page_size=50).model_dump() == {
        "items": [],
        "total": COUNT_CAP,
        "page": 1,
        "page_size": 50,
        "more": True,
    }
    below = Page[int](items=[], total=3, page=1, page_size=50)
    assert (below.total, below.more) == (3, False)


def test_the_dashboards_lists_each_keep_the_others_page(
    client: TestClient, db: Session, tmp_path: Path
) -> None:
    seed_demo(db, store=FileStore(tmp_path / "store"), base_url="http://testserver", now=NOW)
    seed_scale(db, scale=SCALE, now=NOW)
    db.commit()
    company = find_user_by_email(db, "empresa00000@escala.example.mx")
    assert company is not None
    sign_in_as(client, company, DEMO_PASSWORD)
    organisation = db.scalar(
        select(OrganizationMember.organization_id).where(OrganizationMember.user_id == company.id)
    )
    path = f"/organisations/{organisation}"
    text = client.get(f"{path}?tasks_page=2&applications_page=2").text
    assert f'rel="prev" href="{path}?tasks_page=2"' in text
    assert f'rel="next" href="{path}?tasks_page=2&amp;applications_page=3"' in text
    # Fewer tasks than a page: the second page of tasks is past the end and links back.
    assert "Esta página está después del final de la lista." in text
    assert f'rel="prev" href="{path}?applications_page=2"' in text


def test_the_ballots_lists_each_keep_the_others_page(
    client: TestClient, db: Session, tmp_path: Path
) -> None:
    seed_demo(db, store=FileStore(tmp_path / "store"), base_url="http://testserver", now=NOW)
    seed_scale(db, scale=SCALE, now=NOW)
    db.commit()
    member = find_user_by_email(db, "presidencia@ceia.gob.mx")
    assert member is not None
    sign_in_as(client, member, DEMO_PASSWORD)
    first = client.get("/council/ballots").text
    assert "No hay votaciones abiertas." not in first
    assert 'rel="next"' not in first  # one page of each at this size
    past = client.get("/council/ballots?open_page=2&page=2")
    assert past.status_code == 200
    assert 'rel="prev" href="/council/ballots?page=2"' in past.text
    assert 'rel="prev" href="/council/ballots?open_page=2"' in past.text
    assert "No hay votaciones abiertas." in past.text
