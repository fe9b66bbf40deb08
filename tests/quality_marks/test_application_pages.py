"""Application pages: the checklist, completeness, submission, screening, requests and messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.errors import Invalid
from core.mail import OutboxMessage
from guidelines.models import GuidelineVersion, RiskLevel
from quality_marks import applications
from quality_marks.models import (
    Answer,
    AnswerValue,
    Application,
    ApplicationSnapshot,
    ApplicationStatus,
    Evidence,
    Message,
    MessageAttachment,
    Organization,
    OrgRole,
    Product,
)
from quality_marks.schemas import AnswerInput
from tests.conftest import csrf_of
from tests.factories import NOW, make_user, sign_in_as
from tests.quality_marks.factories import (
    FormFields,
    fill,
    form_fields,
    make_adopted_version,
    make_application,
    make_member,
    make_organization,
    make_product,
    statements,
    tree_loads,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CODES = {"TR": ["TR-1", "TR-2", "TR-3"], "EQ": ["EQ-1", "EQ-2"]}
BASE_URL = "http://testserver"

Login = Callable[[User | None], TestClient]


@dataclass
class Story:
    """A high-risk product's draft application against an adopted version."""

    staff: User
    owner: User
    organization: Organization
    product: Product
    version: GuidelineVersion
    application: Application

    @property
    def url(self) -> str:
        """The application's overview."""
        return f"/applications/{self.application.id}"

    def checklist(self, principle: str) -> str:
        """A principle's checklist page."""
        return f"{self.url}/checklist/{principle}"


@pytest.fixture
def story(db: Session) -> Story:
    """The staff, an organisation with its owner, a product and its draft application."""
    staff = make_user(db, role=Role.secretariat, full_name="Secretaría Técnica")
    version = make_adopted_version(db, staff)
    owner = make_user(db, role=Role.applicant, full_name="Ana López")
    organization = make_organization(db, owner=owner)
    product = make_product(db, owner, organization, risk="high")
    application = make_application(db, actor=owner, product=product, version=version)
    return Story(staff, owner, organization, product, version, application)


@pytest.fixture
def login(app: FastAPI) -> Iterator[Login]:
    """A fresh browser (English, so messages can be read) signed in as someone, or anonymous."""
    with ExitStack() as stack:

        def open_as(user: User | None) -> TestClient:
            client = stack.enter_context(
                TestClient(app, base_url="http://testserver", follow_redirects=False)
            )
            client.cookies.set("lang", "en")
            if user is not None:
                sign_in_as(client, user)
            return client

        yield open_as


def soup(html: str) -> BeautifulSoup:
    """Parsed HTML."""
    return BeautifulSoup(html, "html.parser")


def criteria_on(html: str) -> list[str]:
    """The criterion codes a checklist page shows, in order."""
    return [str(a["id"]) for a in soup(html).select("article.criterion")]


def save_principle(
    client: TestClient,
    story: Story,
    principle: str,
    changes: dict[str, str | bool | None],
) -> tuple[int, str]:
    """Fill a principle's checklist form as a browser would and send it."""
    page = client.get(story.checklist(principle))
    assert page.status_code == 200
    fields = fill(form_fields(page.text, story.checklist(principle)), changes)
    response = client.post(story.checklist(principle), data=fields)
    return response.status_code, response.text


def answer_everything(client: TestClient, story: Story) -> None:
    """Answer every criterion so that the application is complete."""
    for principle, codes in CODES.items():
        changes: dict[str, str | bool | None] = {}
        for code in codes:
            changes[f"answer-{code}"] = "partly_meets"
            changes[f"justification-{code}"] = f"Cumplimos {code} en parte."
        status, _ = save_principle(client, story, principle, changes)
        assert status == 303


def post(client: TestClient, url: str, data: FormFields | None = None) -> int:
    """Send a small form with the session's CSRF token taken from the overview."""
    response = client.post(url, data={**(data or {}), "csrf_token": [csrf_of(client)]})
    return response.status_code


def submitted(client: TestClient, story: Story) -> None:
    """Complete and submit the application."""
    answer_everything(client, story)
    assert post(client, f"{story.url}/submit") == 303


def under_review(db: Session, login: Login, story: Story) -> TestClient:
    """Submit, screen and accept; returns the secretariat's browser."""
    submitted(login(story.owner), story)
    staff = login(story.staff)
    assert post(staff, f"{story.url}/screening") == 303
    assert post(staff, f"{story.url}/accept") == 303
    return staff


def status_of(db: Session, story: Story) -> Application:
    """The application as the database holds it now."""
    db.expire_all()
    found = db.get(Application, story.application.id)
    assert found is not None
    return found


def mails_to(db: Session, user: User, template: str) -> int:
    """How many mails of a template are queued for a person."""
    return (
        db.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.to_address == user.email, OutboxMessage.template == template)
        )
        or 0
    )


# The checklist -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("risk", "expected"),
    [
        ("high", {"TR": ["TR-1", "TR-2", "TR-3"], "EQ": ["EQ-1", "EQ-2"]}),
        ("limited", {"TR": ["TR-1", "TR-2"], "EQ": ["EQ-1"]}),
        ("minimal", {"TR": ["TR-1"]}),
    ],
)
def test_checklist_shows_exactly_the_criteria_of_the_products_risk_level(
    db: Session, login: Login, story: Story, risk: str, expected: dict[str, list[str]]
) -> None:
    product = make_product(db, story.owner, story.organization, risk=risk, name=f"Chat {risk}")  # type: ignore[arg-type]
    application = make_application(db, actor=story.owner, product=product, version=story.version)
    assert application.risk_level == RiskLevel(risk)
    client = login(story.owner)
    for principle in ("TR", "EQ"):
        page = client.get(f"/applications/{application.id}/checklist/{principle}")
        if principle in expected:
            assert criteria_on(page.text) == expected[principle]
        else:
            assert page.status_code == 404
    overview = soup(client.get(f"/applications/{application.id}").text)
    assert [a.get_text(" ", strip=True) for a in overview.select(".progress-count")] == [
        f"{p} 0/{len(codes)}" for p, codes in expected.items()
    ]


def test_checklist_shows_requirement_guidance_and_a_labelled_field_for_everything(
    login: Login, story: Story
) -> None:
    page = soup(login(story.owner).get(story.checklist("TR")).text)
    form = page.find("form", attrs={"action": story.checklist("TR")})
    assert form is not None
    assert form["enctype"] == "multipart/form-data"
    article = page.find("article", id="TR-1")
    assert article is not None
    assert article.select_one(".requirement strong") is not None  # the requirement's markdown
    assert "Guidance for TR-1." in article.text
    assert "A document showing TR-1." in article.text
    radios = article.select('input[type="radio"][name="answer-TR-1"]')
    assert sorted(str(r["value"]) for r in radios) == sorted(v.value for v in AnswerValue)
    assert article.select_one('input[type="file"][name="files-TR-1"][multiple]') is not None
    for name in ("answer_public", "justification_public", "files_public", "link_public"):
        assert article.select_one(f'input[type="checkbox"][name="{name}-TR-1"]') is not None
    assert "Required unless you answer" in article.text
    # Every field has a label of its own, and no id is used twice.
    ids = [str(e["id"]) for e in page.select("[id]")]
    assert len(ids) == len(set(ids))
    for element in form.select("input, textarea, select"):
        if element.get("type") in {"hidden", "submit"}:
            continue
        wrapped = element.find_parent("label") is not None
        assert wrapped or page.find("label", attrs={"for": element["id"]}), element


def test_answers_and_confidentiality_are_saved_field_by_field(
    db: Session, login: Login, story: Story
) -> None:
    client = login(story.owner)
    status, _ = save_principle(
        client,
        story,
        "TR",
        {
            "answer-TR-1": "meets",
            "answer-TR-2": "does_not_meet",
            "justification-TR-2": "Aún no publicamos el registro de decisiones.",
            "answer_public-TR-2": False,
            "justification_public-TR-2": True,
            "link_url-TR-2": "https://datos.example.mx/politica",
            "link_label-TR-2": "Política de transparencia",
            "link_public-TR-2": True,
        },
    )
    assert status == 303
    db.expire_all()
    answers = {
        a.criterion_code: a
        for a in db.scalars(select(Answer).where(Answer.application_id == story.application.id))
    }
    assert answers["TR-1"].value == AnswerValue.meets
    assert (answers["TR-1"].answer_public, answers["TR-1"].justification_public) == (True, False)
    assert answers["TR-2"].value == AnswerValue.does_not_meet
    assert (answers["TR-2"].answer_public, answers["TR-2"].justification_public) == (False, True)
    assert answers["TR-3"].value is None
    link = db.scalars(select(Evidence).where(Evidence.criterion_code == "TR-2")).one()
    assert (link.url, link.label, link.public) == (
        "https://datos.example.mx/politica",
        "Política de transparencia",
        True,
    )
    page = soup(client.get(story.checklist("TR")).text)
    assert page.find("input", id="f-answer-TR-2-does_not_meet").has_attr("checked")  # type: ignore[union-attr]
    assert not page.find("input", id="f-answer_public-TR-2").has_attr("checked")  # type: ignore[union-attr]
    assert page.select_one("#TR-2 table.evidence a[href='https://datos.example.mx/politica']")


def test_save_and_continue_goes_to_the_next_principle(login: Login, story: Story) -> None:
    client = login(story.owner)
    page = client.get(story.checklist("TR"))
    button = soup(page.text).find("button", attrs={"name": "then"})
    assert button is not None
    assert button["value"] == "EQ"
    fields = {**form_fields(page.text, story.checklist("TR")), "then": ["EQ"]}
    response = client.post(story.checklist("TR"), data=fields)
    assert (response.status_code, response.headers["location"]) == (303, story.checklist("EQ"))
    last = soup(client.get(story.checklist("EQ")).text)
    assert last.find("button", attrs={"name": "then"}) is None
    assert last.find("a", rel="prev")["href"] == story.checklist("TR")  # type: ignore[index]


def test_a_bad_link_keeps_everything_typed_and_saves_the_answers(
    db: Session, login: Login, story: Story
) -> None:
    status, html = save_principle(
        login(story.owner),
        story,
        "TR",
        {
            "answer-TR-1": "partly_meets",
            "justification-TR-1": "Texto que no debe perderse.",
            "link_url-TR-1": "ftp://datos.example.mx",
            "link_label-TR-1": "Servidor",
        },
    )
    assert status == 422
    page = soup(html)
    assert page.select_one("#f-link_url-TR-1-error") is not None
    assert page.find("input", id="f-link_url-TR-1")["value"] == "ftp://datos.example.mx"  # type: ignore[index]
    assert page.find("input", id="f-link_label-TR-1")["value"] == "Servidor"  # type: ignore[index]
    assert page.find("textarea", id="f-justification-TR-1").text == "Texto que no debe perderse."  # type: ignore[union-attr]
    assert "Your answers have been saved" in page.select_one('[role="alert"]').text  # type: ignore[union-attr]
    db.expire_all()
    assert db.scalar(select(Answer.justification).where(Answer.criterion_code == "TR-1")) == (
        "Texto que no debe perderse."
    )
    assert db.scalar(select(func.count()).select_from(Evidence)) == 0


def test_justification_is_required_except_for_meets(
    db: Session, login: Login, story: Story
) -> None:
    client = login(story.owner)
    answer_everything(client, story)
    save_principle(
        client,
        story,
        "TR",
        {
            "answer-TR-1": "meets",
            "justification-TR-1": "",
            "answer-TR-2": "does_not_meet",
            "justification-TR-2": "",
        },
    )
    response = client.post(
        f"{story.url}/submit",
        data={"csrf_token": csrf_of(client)},
    )
    assert response.status_code == 422
    listed = soup(response.text).select(".missing-list li")
    assert [li.select_one(".code").text for li in listed] == ["TR-2"]  # type: ignore[union-attr]
    assert "Give a justification" in listed[0].text
    assert listed[0].a["href"] == f"{story.checklist('TR')}#TR-2"  # type: ignore[index]
    assert status_of(db, story).status == ApplicationStatus.draft


def test_overview_shows_completeness_per_principle_with_links(login: Login, story: Story) -> None:
    client = login(story.owner)
    save_principle(
        client,
        story,
        "TR",
        {
            "answer-TR-1": "meets",
            "answer-TR-2": "not_applicable",
            "justification-TR-2": "No interactúa con personas.",
            "answer-TR-3": "partly_meets",
        },
    )
    page = soup(client.get(story.url).text)
    rows = {
        row.select_one(".progress-count").get_text(" ", strip=True): row.a["href"]  # type: ignore[union-attr,index]
        for row in page.select("table.progress tbody tr")
    }
    assert rows == {"TR 2/3": story.checklist("TR"), "EQ 0/2": story.checklist("EQ")}
    assert "2 of 5 criteria complete" in page.text


def test_submission_is_blocked_with_the_list_of_what_is_missing_then_allowed(
    db: Session, login: Login, story: Story
) -> None:
    client = login(story.owner)
    token = csrf_of(client)
    blocked = client.post(f"{story.url}/submit", data={"csrf_token": token})
    assert blocked.status_code == 422
    listed = soup(blocked.text).select(".missing-list li")
    assert [li.select_one(".code").text for li in listed] == [  # type: ignore[union-attr]
        "TR-1",
        "TR-2",
        "TR-3",
        "EQ-1",
        "EQ-2",
    ]
    assert all("Choose an answer." in li.text for li in listed)
    assert listed[3].a["href"] == f"{story.checklist('EQ')}#EQ-1"  # type: ignore[index]

    answer_everything(client, story)
    allowed = client.post(f"{story.url}/submit", data={"csrf_token": token})
    assert allowed.status_code == 303
    assert allowed.headers["location"] == story.url
    assert "has been submitted" in client.get(story.url).text
    application = status_of(db, story)
    assert application.status == ApplicationStatus.submitted
    assert db.scalar(select(func.count()).select_from(ApplicationSnapshot)) == 1
    assert mails_to(db, story.staff, "mail/application_submitted.txt") == 1


def test_a_submitted_self_assessment_is_frozen(db: Session, login: Login, story: Story) -> None:
    client = login(story.owner)
    page = client.get(story.checklist("TR"))
    fields = form_fields(page.text, story.checklist("TR"))
    submitted(client, story)
    db.expire_all()
    before = {a.criterion_code: (a.value, a.justification) for a in db.scalars(select(Answer))}
    changed = fill(fields, {"answer-TR-1": "meets", "justification-TR-1": "Cambiado"})
    response = client.post(story.checklist("TR"), data=changed)
    assert response.status_code == 409
    assert "frozen" in response.text
    db.expire_all()
    assert {a.criterion_code: (a.value, a.justification) for a in db.scalars(select(Answer))} == (
        before
    )
    readonly = soup(client.get(story.checklist("TR")).text)
    assert readonly.find("form", attrs={"action": story.checklist("TR")}) is None
    assert "Partly meets" in readonly.select_one("#TR-1 dl.answer").text  # type: ignore[union-attr]


def test_a_viewer_and_the_secretariat_read_the_checklist_without_a_form(
    db: Session, login: Login, story: Story
) -> None:
    viewer = make_member(db, story.organization, OrgRole.viewer)
    for person in (viewer, story.staff):
        client = login(person)
        page = client.get(story.checklist("TR"))
        assert page.status_code == 200
        assert soup(page.text).find("form", attrs={"action": story.checklist("TR")}) is None
        assert criteria_on(page.text) == CODES["TR"]
    owner_fields = form_fields(
        login(story.owner).get(story.checklist("TR")).text, story.checklist("TR")
    )
    viewer_client = login(viewer)
    token = csrf_of(viewer_client)
    response = viewer_client.post(story.checklist("TR"), data={**owner_fields, "csrf_token": token})
    assert response.status_code == 403


def test_withdrawal_with_a_reason(db: Session, login: Login, story: Story) -> None:
    client = login(story.owner)
    assert post(client, f"{story.url}/withdraw", {"reason": ["Cambiamos de proveedor."]}) == 303
    application = status_of(db, story)
    assert application.status == ApplicationStatus.withdrawn
    assert application.withdrawn_at is not None
    page = soup(client.get(story.url).text)
    assert page.find("form", attrs={"action": f"{story.url}/withdraw"}) is None
    assert "Withdrawn" in page.select_one(".badge").text  # type: ignore[union-attr]
    assert post(client, f"{story.url}/withdraw") == 409


# Screening ---------------------------------------------------------------------------------


def test_screening_returns_the_application_with_a_reason(
    db: Session, login: Login, story: Story
) -> None:
    submitted(login(story.owner), story)
    staff = login(story.staff)
    queue_page = soup(staff.get(story.url).text)
    assert queue_page.find("form", attrs={"action": f"{story.url}/screening"}) is not None
    assert post(staff, f"{story.url}/screening") == 303
    # A return needs a reason; the refusal is shown on the overview.
    token = csrf_of(staff)
    refused = staff.post(f"{story.url}/return", data={"csrf_token": token, "reason": "  "})
    assert refused.status_code == 422
    assert soup(refused.text).select_one("#return-reason-error") is not None
    reason = "Falta la evaluación de impacto de EQ-2."
    assert post(staff, f"{story.url}/return", {"reason": [reason]}) == 303

    application = status_of(db, story)
    assert (application.status, application.revision) == (ApplicationStatus.draft, 2)
    # Screening started, then the return: each status change is mailed.
    assert mails_to(db, story.owner, "mail/application_status.txt") == 2
    owner_page = soup(login(story.owner).get(story.url).text)
    assert reason in owner_page.select_one(".return-reason").text  # type: ignore[union-attr]
    assert owner_page.find("form", attrs={"action": f"{story.url}/submit"}) is not None


def test_request_for_information_reopens_the_answers_until_answered(
    db: Session, login: Login, story: Story
) -> None:
    staff = under_review(db, login, story)
    assert post(staff, f"{story.url}/request-information", {"body": ["¿Quién audita EQ-2?"]}) == 303
    assert status_of(db, story).status == ApplicationStatus.information_requested
    # Screening started, accepted, then the request.
    assert mails_to(db, story.owner, "mail/application_status.txt") == 3

    owner = login(story.owner)
    overview = soup(owner.get(story.url).text)
    assert "¿Quién audita EQ-2?" in overview.select_one(".request-body").text  # type: ignore[union-attr]
    # An incomplete self-assessment cannot answer: the missing criteria are listed, the text kept.
    status, _ = save_principle(
        owner, story, "EQ", {"answer-EQ-2": "does_not_meet", "justification-EQ-2": ""}
    )
    assert status == 303
    token = csrf_of(owner)
    incomplete = owner.post(
        f"{story.url}/answer", data={"csrf_token": token, "body": "Ya respondimos."}
    )
    assert incomplete.status_code == 422
    page = soup(incomplete.text)
    assert [li.select_one(".code").text for li in page.select(".missing-list li")] == ["EQ-2"]  # type: ignore[union-attr]
    assert page.find("textarea", id="answer-body").text == "Ya respondimos."  # type: ignore[union-attr]
    status, _ = save_principle(
        owner, story, "EQ", {"answer-EQ-2": "meets", "justification-EQ-2": "Auditoría externa."}
    )
    assert status == 303
    empty = owner.post(f"{story.url}/answer", data={"csrf_token": token, "body": ""})
    assert empty.status_code == 422
    assert soup(empty.text).select_one("#answer-body-error") is not None
    answered = owner.post(
        f"{story.url}/answer", data={"csrf_token": token, "body": "La audita un tercero."}
    )
    assert answered.status_code == 303
    assert status_of(db, story).status == ApplicationStatus.under_review
    snapshots = db.scalars(select(ApplicationSnapshot).order_by(ApplicationSnapshot.revision))
    revisions = [(s.revision, s.document["answers"][-1]["value"]) for s in snapshots]
    assert revisions == [(1, "partly_meets"), (2, "meets")]
    assert mails_to(db, story.staff, "mail/application_message.txt") == 1


def test_messages_with_attachments_both_ways(db: Session, login: Login, story: Story) -> None:
    owner = login(story.owner)
    token = csrf_of(owner)
    sent = owner.post(
        f"{story.url}/messages",
        data={"csrf_token": token, "body": "Adjuntamos el informe de sesgos."},
        files=[
            ("attachments", ("sesgos.pdf", PDF, "application/pdf")),
            ("attachments", ("notas.txt", b"Notas del equipo\n", "text/plain")),
        ],
    )
    assert sent.status_code == 303
    assert mails_to(db, story.staff, "mail/application_message.txt") == 1

    staff = login(story.staff)
    thread = soup(staff.get(story.url).text)
    links = thread.select("#messages .attachments a")
    assert [a.text for a in links] == ["sesgos.pdf", "notas.txt"]
    download = staff.get(str(links[0]["href"]))
    assert (download.status_code, download.content) == (200, PDF)
    token = csrf_of(staff)
    reply = staff.post(
        f"{story.url}/messages",
        data={"csrf_token": token, "body": "Recibido; va la guía."},
        files=[("attachments", ("guia.pdf", PDF, "application/pdf"))],
    )
    assert reply.status_code == 303
    assert mails_to(db, story.owner, "mail/application_message.txt") == 1

    messages = list(db.scalars(select(Message).order_by(Message.id)))
    assert [m.from_secretariat for m in messages] == [False, True]
    page = soup(owner.get(story.url).text)
    assert "Secretariat" in page.select(f"#message-{messages[1].id}")[0].text
    (attachment,) = db.scalars(
        select(MessageAttachment).where(MessageAttachment.message_id == messages[1].id)
    )
    got = owner.get(f"{story.url}/attachments/{attachment.id}")
    assert (got.status_code, got.content) == (200, PDF)
    assert got.headers["content-disposition"].startswith('attachment; filename="guia.pdf"')


def test_a_refused_attachment_keeps_the_message_typed(
    db: Session, login: Login, story: Story
) -> None:
    owner = login(story.owner)
    token = csrf_of(owner)
    refused = owner.post(
        f"{story.url}/messages",
        data={"csrf_token": token, "body": "Mensaje largo que no se pierde."},
        files=[("attachments", ("programa.pdf", b"\x7fELF\x02\x01\x01\x00", "application/pdf"))],
    )
    assert refused.status_code == 422
    page = soup(refused.text)
    assert page.find("textarea", id="message-body").text == "Mensaje largo que no se pierde."  # type: ignore[union-attr]
    assert "not accepted" in page.select_one("#message-attachments-error").text  # type: ignore[union-attr]
    assert db.scalar(select(func.count()).select_from(Message)) == 0


# The queue and who may see what ------------------------------------------------------------


def test_the_queue_is_the_secretariats(db: Session, login: Login, story: Story) -> None:
    other = make_product(db, story.owner, story.organization, risk="limited", name="Asistente")
    make_application(db, actor=story.owner, product=other, version=story.version)
    submitted(login(story.owner), story)
    staff = login(story.staff)
    page = soup(staff.get("/applications").text)
    rows = page.select("table.queue tbody tr")
    assert len(rows) == 2
    assert story.organization.legal_name in rows[0].text
    filtered = soup(staff.get("/applications", params={"status": "submitted"}).text)
    (row,) = filtered.select("table.queue tbody tr")
    assert story.product.name in row.text
    assert row.a["href"] == story.url  # type: ignore[index]
    assert filtered.find("option", selected=True)["value"] == "submitted"  # type: ignore[index]
    assert login(story.owner).get("/applications").status_code == 403


def test_people_of_another_organisation_get_404_everywhere(
    db: Session, login: Login, story: Story
) -> None:
    client = login(story.owner)
    save_principle(client, story, "TR", {"link_url-TR-1": "https://datos.example.mx/a"})
    evidence_id = db.scalars(select(Evidence.id)).one()
    stranger = make_user(db, role=Role.applicant)
    make_organization(db, owner=stranger)
    outsider = login(stranger)
    token = csrf_of(outsider)
    for path in (
        story.url,
        story.checklist("TR"),
        f"{story.url}/evidence/{evidence_id}",
    ):
        assert outsider.get(path).status_code == 404, path
    for suffix in (
        "/checklist/TR",
        "/submit",
        "/withdraw",
        "/messages",
        "/answer",
        f"/evidence/{evidence_id}/delete",
    ):
        response = outsider.post(f"{story.url}{suffix}", data={"csrf_token": token, "body": "x"})
        assert response.status_code == 404, suffix
    expert = login(make_user(db, role=Role.expert))
    assert expert.get(story.url).status_code == 404


def test_evidence_of_the_current_round_can_be_removed_and_earlier_rounds_stay(
    db: Session, login: Login, story: Story, app: FastAPI
) -> None:
    owner = login(story.owner)
    fields = form_fields(owner.get(story.checklist("TR")).text, story.checklist("TR"))
    response = owner.post(
        story.checklist("TR"),
        data=fields,
        files=[("files-TR-1", ("uno.pdf", PDF, "application/pdf"))],
    )
    assert response.status_code == 303
    evidence = db.scalars(select(Evidence)).one()
    stored = app.state.file_store.path_of(evidence.stored_key)
    assert stored.is_file()
    page = soup(owner.get(story.checklist("TR")).text)
    button = page.select_one(f"#evidence-{evidence.id} button")
    assert button is not None
    remove_form = page.find("form", id=str(button["form"]))
    assert remove_form is not None
    assert remove_form["action"] == f"{story.url}/evidence/{evidence.id}/delete"
    assert post(owner, f"{story.url}/evidence/{evidence.id}/delete") == 303
    assert db.scalar(select(func.count()).select_from(Evidence)) == 0
    assert not stored.exists()

    # A link added in revision 1 stays on record once the application is submitted and returned.
    save_principle(owner, story, "TR", {"link_url-TR-1": "https://datos.example.mx/b"})
    submitted(owner, story)
    staff = login(story.staff)
    assert post(staff, f"{story.url}/screening") == 303
    assert post(staff, f"{story.url}/return", {"reason": ["Completar TR-1."]}) == 303
    link = db.scalars(select(Evidence)).one()
    page = soup(owner.get(story.checklist("TR")).text)
    assert page.select_one(f"#evidence-{link.id} button") is None
    assert post(owner, f"{story.url}/evidence/{link.id}/delete") == 409


# Reading the version once ------------------------------------------------------------------


def test_applicable_codes_follow_the_products_risk_level(db: Session, story: Story) -> None:
    minimal = make_product(db, story.owner, story.organization, risk="minimal", name="Buscador")
    other = make_application(db, actor=story.owner, product=minimal, version=story.version)
    assert applications.applicable_codes(db, story.application) == {
        "TR-1",
        "TR-2",
        "TR-3",
        "EQ-1",
        "EQ-2",
    }
    assert applications.applicable_codes(db, other) == {"TR-1"}
    assert {i.criterion.code for i in applications.checklist(db, other)} == {"TR-1"}


def test_answers_and_evidence_check_the_codes_without_reading_the_version_tree(
    db: Session, engine: Engine, story: Story
) -> None:
    with statements(engine) as seen:
        applications.save_answers(
            db,
            actor=story.owner,
            application=story.application,
            answers={"TR-1": AnswerInput(value=AnswerValue.meets)},
            now=NOW,
        )
        applications.add_evidence_link(
            db,
            actor=story.owner,
            application=story.application,
            criterion_code="TR-1",
            url="https://datos.example.mx/politica",
            label="Política",
            public=True,
            now=NOW,
        )
    assert tree_loads(seen) == 0
    assert sum(1 for statement in seen if "FROM guideline_criteria" in statement) == 2
    with pytest.raises(Invalid) as refused:
        applications.add_evidence_link(
            db,
            actor=story.owner,
            application=story.application,
            criterion_code="ZZ-9",
            url="https://datos.example.mx/otra",
            label="",
            public=True,
            now=NOW,
        )
    assert refused.value.message == applications.NOT_ON_CHECKLIST


def test_submission_and_answer_read_the_checklist_once(
    db: Session, engine: Engine, story: Story
) -> None:
    answers = {
        code: AnswerInput(value=AnswerValue.meets) for codes in CODES.values() for code in codes
    }
    applications.save_answers(
        db, actor=story.owner, application=story.application, answers=answers, now=NOW
    )
    with statements(engine) as seen:
        snapshot = applications.submit_application(
            db, actor=story.owner, application=story.application, base_url=BASE_URL, now=NOW
        )
    assert tree_loads(seen) == 1
    assert [a["code"] for a in snapshot.document["answers"]] == [
        code for codes in CODES.values() for code in codes
    ]
    applications.start_screening(db, actor=story.staff, application=story.application, now=NOW)
    applications.accept_application(
        db, actor=story.staff, application=story.application, base_url=BASE_URL, now=NOW
    )
    applications.request_information(
        db, actor=story.staff, application=story.application, body="¿Y?", base_url=BASE_URL, now=NOW
    )
    with statements(engine) as seen:
        applications.answer_request(
            db,
            actor=story.owner,
            application=story.application,
            body="Así.",
            base_url=BASE_URL,
            now=NOW,
        )
    assert tree_loads(seen) == 1


def test_an_id_too_large_for_the_database_is_refused(login: Login, story: Story) -> None:
    client = login(story.owner)
    huge = "99999999999999999999"
    for path in (
        f"/applications/{huge}",
        f"/applications/{huge}/checklist/TR",
        f"{story.url}/evidence/{huge}",
        f"{story.url}/attachments/{huge}",
    ):
        assert client.get(path).status_code == 422, path
    assert post(client, f"/applications/{huge}/submit") == 422


def test_checklist_tabs_name_each_principle_and_mark_the_current_one(
    login: Login, story: Story
) -> None:
    page = soup(login(story.owner).get(story.checklist("EQ")).text)
    tabs = page.select("nav.checklist-nav ol.checklist-tabs a")
    assert [str(a["href"]) for a in tabs] == [story.checklist("TR"), story.checklist("EQ")]
    for tab in tabs:
        assert tab.select_one(".tab-name").get_text(strip=True)  # type: ignore[union-attr]
    (current,) = page.select("nav.checklist-nav a[aria-current=page]")
    assert current["href"] == story.checklist("EQ")
    assert current.select_one(".code").get_text(strip=True) == "EQ"  # type: ignore[union-attr]
    assert current.select_one(".tab-count").get_text(strip=True) == "0 of 2 answered"  # type: ignore[union-attr]
    assert "large-choices" in page.select_one("form.checklist-form")["class"]  # type: ignore[index]


def test_checklist_folds_each_criterions_evidence_and_opens_the_one_with_an_error(
    login: Login, story: Story
) -> None:
    client = login(story.owner)
    page = soup(client.get(story.checklist("TR")).text)
    for code in CODES["TR"]:
        article = page.find("article", id=code)
        assert article is not None
        (fold,) = article.select("details.evidence-fold")
        assert not fold.has_attr("open")
        assert fold.select_one(f'input[type="file"][name="files-{code}"]') is not None
        assert fold.select_one("summary").get_text(" ", strip=True) == (  # type: ignore[union-attr]
            f"Evidence for {code} (0 attached)"
        )
    status, html = save_principle(
        client, story, "TR", {"link_url-TR-2": "ftp://datos.example.mx", "link_label-TR-2": "X"}
    )
    assert status == 422
    refused = soup(html)
    opened = [
        str(fold.find_parent("article")["id"])  # type: ignore[index]
        for fold in refused.select("details.evidence-fold[open]")
    ]
    assert opened == ["TR-2"]
