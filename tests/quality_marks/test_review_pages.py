"""Review pages and API: the reviewer's form, who reads what, the private thread, the next round."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.accounts import Role, User, issue_api_token
from core.storage import FileStore
from quality_marks import applications, reviews
from quality_marks.models import Finding, Recommendation, Review, ReviewStatus
from quality_marks.schemas import FindingInput
from tests.conftest import csrf_of
from tests.factories import NOW, sign_in_as
from tests.quality_marks.factories import FormFields, fill, form_fields
from tests.quality_marks.review_builders import (
    BASE_URL,
    CONFIDENTIAL,
    UnderReview,
    assign,
    complete_findings,
    make_reviewer,
    under_review,
)
from tests.test_html_valid import parse_errors

Login = Callable[..., TestClient]
PRIVATE = "Nota privada: el proveedor parece subestimar el riesgo."
COMMENT = "Documente la auditoría de sesgo."


@dataclass
class Case:
    """An application under review with two reviewers and an expert who is not one."""

    app: UnderReview
    alice: User
    bruno: User
    stranger: User
    review_a: Review
    review_b: Review


@pytest.fixture
def case(db: Session, app: FastAPI) -> Case:
    store: FileStore = app.state.file_store
    under = under_review(db, store)
    alice = make_reviewer(db)
    bruno = make_reviewer(db, role=Role.council_member)
    stranger = make_reviewer(db)
    review_a = assign(db, under.application, alice, by=under.staff)
    review_b = assign(db, under.application, bruno, by=under.staff)
    return Case(under, alice, bruno, stranger, review_a, review_b)


@pytest.fixture
def login(app: FastAPI) -> Iterator[Login]:
    """A fresh browser signed in as someone, in English unless another language is asked for."""
    with ExitStack() as stack:

        def open_as(user: User, lang: str = "en") -> TestClient:
            client = stack.enter_context(
                TestClient(app, base_url="http://testserver", follow_redirects=False)
            )
            client.cookies.set("lang", lang)
            sign_in_as(client, user)
            return client

        yield open_as


def post(client: TestClient, url: str, data: FormFields) -> tuple[int, str]:
    """Send a form as a browser would, with the session's CSRF token."""
    response = client.post(url, data={**data, "csrf_token": [csrf_of(client)]})
    return response.status_code, response.text


def review_form(client: TestClient, review: Review, action: str = "") -> FormFields:
    """The review form's fields as the page offers them."""
    page = client.get(f"/reviews/{review.id}")
    assert page.status_code == 200, page.text
    return form_fields(page.text, f"/reviews/{review.id}{action}")


def complete(fields: FormFields, **special: str) -> FormFields:
    """The form with every criterion conforming, a grant and a summary."""
    changes: dict[str, str | bool | None] = {
        f"finding-{code}": "conforms" for code in ("TR-1", "TR-2", "TR-3", "EQ-1", "EQ-2")
    }
    changes.update(recommendation="grant", summary="Cumple.")
    changes.update({name.replace("__", "-"): value for name, value in special.items()})
    return fill(fields, changes)


def submit_through_service(db: Session, reviewer: User, review: Review, **extra: object) -> None:
    """Save a complete review with a private note and submit it."""
    findings = complete_findings(
        TR_2=FindingInput(
            finding=Finding.minor_nonconformity, comment=COMMENT, private_note=PRIVATE
        )
    )
    fields: dict[str, object] = {
        "findings": findings,
        "recommendation": Recommendation.grant,
        "summary": "Cumple con observaciones.",
        "conditions": "",
        "private_note": PRIVATE,
    }
    fields.update(extra)
    loaded = reviews.get_review(db, reviewer, review.id)
    reviews.record_review(
        db,
        actor=reviewer,
        review=loaded,
        version=loaded.version,
        now=NOW,
        **fields,  # type: ignore[arg-type]
    )
    reviews.submit_review(
        db, actor=reviewer, review=loaded, version=loaded.version, base_url=BASE_URL, now=NOW
    )
    db.commit()


def bearer(db: Session, user: User) -> dict[str, str]:
    token = issue_api_token(db, user=user, name="revisión", now=NOW)[1]
    db.commit()
    return {"Authorization": f"Bearer {token}"}


# Reading the application -------------------------------------------------------------------


def test_a_reviewer_reads_the_application_and_its_confidential_evidence(
    login: Login, case: Case
) -> None:
    client = login(case.alice)
    page = client.get(case.app.url)
    assert page.status_code == 200
    assert f'href="/reviews/{case.review_a.id}"' in page.text
    checklist = client.get(f"{case.app.url}/checklist/TR")
    assert CONFIDENTIAL in checklist.text
    download = client.get(f"{case.app.url}/evidence/{case.app.evidence.id}")
    assert download.status_code == 200
    assert download.content.startswith(b"%PDF")


def test_an_unrelated_expert_finds_nothing(login: Login, case: Case) -> None:
    client = login(case.stranger)
    assert client.get(case.app.url).status_code == 404
    assert client.get(f"{case.app.url}/evidence/{case.app.evidence.id}").status_code == 404
    assert client.get(f"/reviews/{case.review_a.id}").status_code == 404
    assert client.get(f"{case.app.url}/reviews").status_code == 404
    assert client.get(f"{case.app.url}/review-notes").status_code == 404


# The reviewer's form -----------------------------------------------------------------------


def test_the_form_saves_and_a_refused_submission_comes_back_filled_in(
    db: Session, login: Login, case: Case
) -> None:
    client = login(case.alice)
    fields = fill(
        review_form(client, case.review_a),
        {"finding-TR-1": "conforms", "comment-TR-2": COMMENT, "summary": "Va bien."},
    )
    assert post(client, f"/reviews/{case.review_a.id}", fields)[0] == 303
    saved = reviews.get_review(db, case.alice, case.review_a.id)
    assert saved.status == ReviewStatus.in_progress
    assert {f.criterion_code: f.comment for f in saved.findings}["TR-2"] == COMMENT

    fields = fill(review_form(client, case.review_a), {"private_note-TR-3": "Revisar."})
    status, html = post(client, f"/reviews/{case.review_a.id}/submit", fields)
    assert status == 422
    soup = BeautifulSoup(html, "html.parser")
    assert "TR-2, TR-3, EQ-1, EQ-2" in soup.select_one(".form-error").text  # type: ignore[union-attr]
    assert soup.select_one("#f-finding-TR-2-error").text == "Choose a finding."  # type: ignore[union-attr]
    assert soup.select_one("#f-finding-TR-1 option[selected]")["value"] == "conforms"  # type: ignore[index]
    assert soup.select_one("#f-private_note-TR-3").text == "Revisar."  # type: ignore[union-attr]
    assert soup.select_one("#f-recommendation-error") is not None


def test_the_form_submits_a_complete_review(db: Session, login: Login, case: Case) -> None:
    client = login(case.alice)
    fields = complete(review_form(client, case.review_a))
    assert post(client, f"/reviews/{case.review_a.id}/submit", fields)[0] == 303
    submitted = reviews.get_review(db, case.alice, case.review_a.id)
    assert submitted.status == ReviewStatus.submitted
    page = client.get(f"/reviews/{case.review_a.id}")
    assert "This review cannot be changed" in page.text
    assert f'action="/reviews/{case.review_a.id}"' not in page.text


def test_a_stale_form_is_refused_with_409_naming_who_saved(login: Login, case: Case) -> None:
    first, second = login(case.alice), login(case.alice)
    old = review_form(second, case.review_a)
    assert (
        post(first, f"/reviews/{case.review_a.id}", complete(review_form(first, case.review_a)))[0]
        == 303
    )
    status, html = post(second, f"/reviews/{case.review_a.id}", fill(old, {"summary": "Mío."}))
    assert status == 409
    assert case.alice.full_name in html
    assert "Mío." in html


def test_the_review_page_is_in_spanish_and_english(login: Login, case: Case) -> None:
    spanish = login(case.alice, "es_MX").get(f"/reviews/{case.review_a.id}")
    assert 'lang="es' in spanish.text
    assert "Guardar" in spanish.text
    assert "Enviar revisión" in spanish.text
    assert "Su hallazgo sobre TR-1" in spanish.text
    english = login(case.alice, "en").get(f"/reviews/{case.review_a.id}")
    assert "Submit review" in english.text
    assert "Your finding on TR-1" in english.text


# Who reads what ----------------------------------------------------------------------------


def test_a_reviewer_reads_the_others_review_only_after_submitting(
    db: Session, login: Login, case: Case
) -> None:
    submit_through_service(db, case.bruno, case.review_b)
    client = login(case.alice)
    assert client.get(f"/reviews/{case.review_b.id}").status_code == 404
    listing = client.get(f"{case.app.url}/reviews")
    assert case.bruno.full_name not in listing.text
    submit_through_service(db, case.alice, case.review_a)
    assert client.get(f"/reviews/{case.review_b.id}").status_code == 200
    listing = client.get(f"{case.app.url}/reviews")
    assert case.bruno.full_name in listing.text
    assert PRIVATE in listing.text


def test_the_applicant_never_sees_reviews_names_or_private_notes(
    db: Session, login: Login, case: Case, client: TestClient
) -> None:
    submit_through_service(db, case.alice, case.review_a)
    reviews.post_review_note(
        db, actor=case.bruno, application=case.app.application, body=PRIVATE, now=NOW
    )
    db.commit()
    owner = login(case.app.owner)
    assert owner.get(f"/reviews/{case.review_a.id}").status_code == 403
    assert owner.get(f"{case.app.url}/reviews").status_code == 403
    assert owner.get(f"{case.app.url}/review-notes").status_code == 403
    for page in (case.app.url, f"{case.app.url}/checklist/TR"):
        html = owner.get(page).text
        assert PRIVATE not in html
        assert case.alice.full_name not in html
        assert case.bruno.full_name not in html
    headers = bearer(db, case.app.owner)
    api = f"/api/v1/applications/{case.app.application.id}"
    assert client.get(f"/api/v1/reviews/{case.review_a.id}", headers=headers).status_code == 403
    assert client.get(f"{api}/reviews", headers=headers).status_code == 403
    assert client.get(f"{api}/review-notes", headers=headers).status_code == 403
    assert PRIVATE not in client.get(api, headers=headers).text


# The private thread ------------------------------------------------------------------------


def test_reviewers_write_and_read_the_private_thread(login: Login, case: Case) -> None:
    url = f"{case.app.url}/review-notes"
    alice = login(case.alice)
    assert post(alice, url, {"body": [""]})[0] == 422
    assert post(alice, url, {"body": ["¿Alguien revisó el informe de sesgo?"]})[0] == 303
    page = login(case.app.staff).get(url)
    assert "¿Alguien revisó el informe de sesgo?" in page.text
    assert case.alice.full_name in page.text


# Requests and rounds -----------------------------------------------------------------------


def test_the_request_form_is_prefilled_and_the_next_round_shows_the_changes(
    db: Session, login: Login, case: Case
) -> None:
    for reviewer, review in ((case.alice, case.review_a), (case.bruno, case.review_b)):
        submit_through_service(
            db, reviewer, review, recommendation=Recommendation.request_information
        )
    staff = login(case.app.staff)
    fields = form_fields(staff.get(case.app.url).text, f"{case.app.url}/request-information")
    assert fields["body"] == [f"- **TR-2**: {COMMENT}\n- **TR-2**: {COMMENT}"]
    assert post(staff, f"{case.app.url}/request-information", fields)[0] == 303

    owner = login(case.app.owner)
    checklist = form_fields(
        owner.get(f"{case.app.url}/checklist/TR").text, f"{case.app.url}/checklist/TR"
    )
    changed = fill(checklist, {"answer-TR-2": "meets", "justification-TR-2": "Auditoría hecha."})
    assert post(owner, f"{case.app.url}/checklist/TR", changed)[0] == 303
    # While the organisation revises, the round-one review says the answers are not those read.
    revising = login(case.alice).get(f"/reviews/{case.review_a.id}").text
    assert "the answers below are its current ones" in revising
    assert post(owner, f"{case.app.url}/answer", {"body": ["Adjuntamos la auditoría."]})[0] == 303

    db.expire_all()
    application = applications.get_application(db, case.app.staff, case.app.application.id)
    mine = reviews.my_reviews(db, case.alice, application)[0]
    assert (mine.round, mine.status) == (application.revision, ReviewStatus.assigned)
    page = login(case.alice).get(f"/reviews/{mine.id}")
    assert "the answers below are its current ones" not in page.text  # the new round's own
    soup = BeautifulSoup(page.text, "html.parser")
    changes = soup.select_one("#changes-heading")
    assert changes is not None
    table = soup.select_one("table.changes")
    assert table is not None
    assert [th.text for th in table.select("tbody th")] == ["TR-2"]
    assert "Auditoría hecha." in table.text
    assert soup.select_one("#f-finding-TR-2 option[selected]")["value"] == "minor_nonconformity"  # type: ignore[index]


# The API -----------------------------------------------------------------------------------


def test_the_api_saves_with_a_version_and_refuses_a_stale_one(
    db: Session, client: TestClient, case: Case
) -> None:
    headers = bearer(db, case.alice)
    url = f"/api/v1/reviews/{case.review_a.id}"
    body = client.get(url, headers=headers).json()
    assert (body["version"], body["status"], body["actions"][:2]) == (
        1,
        "assigned",
        ["start", "save"],
    )
    sent = {
        "version": 1,
        "findings": {"TR-1": {"finding": "conforms", "comment": "Bien."}},
        "summary": "En curso.",
    }
    saved = client.put(url, json=sent, headers=headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 2
    assert saved.json()["findings"][0]["comment"] == "Bien."
    stale = client.put(url, json=sent, headers=headers)
    assert stale.status_code == 409
    assert case.alice.full_name in stale.json()["detail"]
    refused = client.post(f"{url}/submit", json={"version": 2}, headers=headers)
    assert refused.status_code == 422
    assert set(refused.json()["fields"]) >= {"TR-2", "recommendation"}
    listing = client.get(f"/api/v1/applications/{case.app.application.id}/reviews", headers=headers)
    assert [r["id"] for r in listing.json()] == [case.review_a.id]


def test_the_api_writes_and_pages_the_private_thread(
    db: Session, client: TestClient, case: Case
) -> None:
    headers = bearer(db, case.bruno)
    url = f"/api/v1/applications/{case.app.application.id}/review-notes"
    written = client.post(url, json={"body": "Primera nota."}, headers=headers)
    assert written.status_code == 201, written.text
    assert written.json()["author"] == case.bruno.full_name
    assert client.post(url, json={"body": ""}, headers=headers).status_code == 422
    page = client.get(url, headers=headers).json()
    assert (page["total"], page["items"][0]["body"]) == (1, "Primera nota.")


def test_the_review_pages_are_valid_html(db: Session, login: Login, case: Case) -> None:
    submit_through_service(db, case.bruno, case.review_b)
    reviews.post_review_note(
        db, actor=case.bruno, application=case.app.application, body="**Ojo**", now=NOW
    )
    db.commit()
    bruno = login(case.bruno, "es_MX")
    alice = login(case.alice, "es_MX")
    pages = [
        alice.get(f"/reviews/{case.review_a.id}"),
        bruno.get(f"/reviews/{case.review_b.id}"),
        bruno.get(f"{case.app.url}/reviews"),
        bruno.get(f"{case.app.url}/review-notes"),
        bruno.get(case.app.url),
    ]
    for page in pages:
        assert page.status_code == 200
        assert parse_errors(page.text) == [], page.url
