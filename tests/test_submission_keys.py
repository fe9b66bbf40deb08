"""A create form sent twice creates once and shows the first result (issue 8, item 19)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import Role
from core.mail import OutboxMessage
from guidelines.models import ConsultationComment, Guideline, GuidelineVersion
from tests.factories import make_user, sign_in_as
from tests.guidelines.test_consultation import (  # noqa: F401  (fixtures)
    PAGE,
    _form,
    clock,
    public,
    staff,
    version,
)
from tests.quality_marks.factories import fill, form_fields


def _count(db: Session, model: type[object]) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_a_comment_sent_twice_is_received_once(
    public: TestClient,  # noqa: F811
    version: GuidelineVersion,  # noqa: F811
    db: Session,
) -> None:
    action = PAGE + "/comments"
    sent = fill(
        form_fields(public.get(PAGE + "/comment").text, action), {**_form(), "website": None}
    )
    mails_before = _count(db, OutboxMessage)
    first = public.post(action, data=sent)
    again = public.post(action, data=sent)  # the browser's back button, then send again
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert _count(db, ConsultationComment) == 1
    assert _count(db, OutboxMessage) == mails_before + 1
    page = public.get(again.headers["location"]).text
    assert "Este formulario ya se había enviado" in page


def test_a_form_shown_again_carries_a_new_key_and_creates_again(
    public: TestClient,  # noqa: F811
    version: GuidelineVersion,  # noqa: F811
    db: Session,
) -> None:
    action = PAGE + "/comments"
    first_form = form_fields(public.get(PAGE + "/comment").text, action)
    second_form = form_fields(public.get(PAGE + "/comment").text, action)
    assert first_form["submission_key"] != second_form["submission_key"]
    for fields in (first_form, second_form):
        response = public.post(action, data=fill(fields, {**_form(), "website": None}))
        assert response.status_code == 303
    assert _count(db, ConsultationComment) == 2


def test_a_refused_form_keeps_its_key_usable(
    public: TestClient,  # noqa: F811
    version: GuidelineVersion,  # noqa: F811
    db: Session,
) -> None:
    action = PAGE + "/comments"
    fields = form_fields(public.get(PAGE + "/comment").text, action)
    refused = public.post(action, data=fill(fields, {**_form(body="corto"), "website": None}))
    assert refused.status_code == 422
    accepted = public.post(action, data=fill(fields, {**_form(), "website": None}))
    assert accepted.status_code == 303
    assert _count(db, ConsultationComment) == 1


def test_a_new_guideline_sent_twice_is_created_once(client: TestClient, db: Session) -> None:
    sign_in_as(client, make_user(db, role=Role.secretariat))
    fields = fill(
        form_fields(client.get("/guidelines/new").text, "/guidelines"),
        {"slug": "privacidad", "title_es": "Privacidad", "title_en": "Privacy"},
    )
    first = client.post("/guidelines", data=fields)
    again = client.post("/guidelines", data=fields)
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert _count(db, Guideline) == 1
