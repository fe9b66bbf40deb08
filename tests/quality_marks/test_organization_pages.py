"""Organisation pages: sign-up, dashboard, colleagues, products with the risk questionnaire."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core import accounts
from core.accounts import Role, User, find_user_by_email
from core.audit import AuditEvent
from core.auth import now_utc
from core.mail import OutboxMessage
from core.ratelimit import RateLimitHit
from guidelines import service as guidelines_service
from guidelines.models import GuidelineVersion, RiskLevel
from quality_marks import applications, organizations, products
from quality_marks.models import (
    Application,
    ApplicationStatus,
    Organization,
    OrgRole,
    OrgSize,
    OrgVerification,
    Product,
)
from quality_marks.schemas import AnswerInput, OrganizationInput, ProductInput
from tests.conftest import csrf_of
from tests.factories import NOW, PASSWORD, make_user, sign_in_as
from tests.guidelines.builders import adopt, make_draft, make_staff
from tests.quality_marks.factories import accept_invitations, statements, tree_loads, verify
from tests.test_accessibility import _problems

_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def english_and_pinned(app: FastAPI, client: TestClient) -> None:
    """Pages in English, and every request at the factories' moment."""
    app.dependency_overrides[now_utc] = lambda: NOW
    client.headers["Accept-Language"] = "en"


# Builders ----------------------------------------------------------------------------------


def _rfc() -> str:
    return f"DSA180523{next(_numbers):03d}"


def _organization(db: Session, owner: User, name: str = "Datos Seguros, S.A. de C.V.") -> int:
    organization = organizations.register_organization(
        db,
        actor=owner,
        data=OrganizationInput(
            legal_name=name,
            rfc=_rfc(),
            address="Av. Reforma 100, Cuauhtémoc",
            state="Ciudad de México",
            sector="finanzas",
            size=OrgSize.small,
            contact_name="Ana López",
            contact_email="contacto@datos.example.mx",
        ),
        now=NOW,
    )
    db.commit()  # a request that rolls back must not take the test's data with it
    verify(db, organization.id)
    return organization.id


def _organization_with_rfc(db: Session, owner: User, rfc: str) -> int:
    organization = organizations.register_organization(
        db,
        actor=owner,
        data=OrganizationInput(
            legal_name="Suplantadora, S.A.",
            rfc=rfc,
            address="Calle Falsa 123, Centro",
            state="Jalisco",
            sector="otro",
            size=OrgSize.micro,
            contact_name="Alguien",
            contact_email="alguien@suplanta.example.mx",
        ),
        now=NOW,
    )
    db.commit()
    return organization.id


def _colleague(db: Session, organization_id: int, owner: User, role: OrgRole) -> User:
    person = make_user(db)
    organizations.invite_colleague(
        db,
        actor=owner,
        organization_id=organization_id,
        email=person.email,
        full_name=person.full_name,
        role=role,
        locale="en",
        base_url="http://testserver",
        now=NOW,
    )
    db.commit()
    accept_invitations(db, person)
    return person


def _product(db: Session, owner: User, organization_id: int, name: str = "Evaluador") -> int:
    product = products.create_product(
        db,
        actor=owner,
        organization_id=organization_id,
        data=ProductInput.model_validate(
            {
                **_product_input_values(),
                "name": name,
                "sectors": ["finanzas"],
                "states": ["Jalisco"],
                "personal_data": False,
                "risk_answers": {q.key: q.key == "essential_services" for q in _questions()},
            }
        ),
        now=NOW,
    )
    db.commit()
    return product.id


def _adopted_version(db: Session, slug: str = "etica-ia") -> GuidelineVersion:
    version = adopt(db, make_draft(db, make_staff(db), slug=slug))
    db.commit()
    return version


def _questions() -> tuple[products.RiskQuestion, ...]:
    return products.RISK_QUESTIONS


def _product_input_values() -> dict[str, Any]:
    return {
        "name": "Evaluador de crédito",
        "version": "2.1",
        "identifier": "",
        "intended_purpose": "Estimar el riesgo de impago de solicitantes de crédito.",
        "users_affected": "Solicitantes de crédito personal.",
        "data_description": "Historial crediticio e ingresos declarados.",
        "legal_basis": "",
        "model_type": "Gradient boosting",
        "human_oversight": "Un analista revisa cada rechazo.",
        "provider": "Datos Seguros",
        "deployer": "Datos Seguros",
    }


def _product_form(**overrides: Any) -> dict[str, Any]:
    """What a person sends from the product form: every question answered no."""
    form: dict[str, Any] = {
        **_product_input_values(),
        "sectors": ["finanzas", "seguros"],
        "states": ["Jalisco", "Nuevo León"],
        "personal_data": "no",
        **{f"risk_{q.key}": "no" for q in _questions()},
    }
    return {**form, **overrides}


def _signup_form(**overrides: str) -> dict[str, str]:
    return {
        "full_name": "Paola Jiménez Torres",
        "email": "paola@datasalud.example.mx",
        "password": "una-clave-larga-123",
        "legal_name": "DataSalud Analítica, S.A. de C.V.",
        "rfc": "DSA180523KL9",
        "address": "Av. Insurgentes Sur 1602, Benito Juárez",
        "state": "Ciudad de México",
        "sector": "salud",
        "size": "medium",
        "contact_name": "Paola Jiménez Torres",
        "contact_email": "cumplimiento@datasalud.example.mx",
        "contact_phone": "+52 55 5555 0142",
        "website": "https://datasalud.example.mx",
        **overrides,
    }


def _post(client: TestClient, path: str, data: dict[str, Any], form_page: str = "/") -> Response:
    return client.post(path, data={**data, "csrf_token": csrf_of(client, form_page)})


def _page(response: Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def _value(page: BeautifulSoup, selector: str) -> str:
    tag = page.select_one(selector)
    assert tag is not None, selector
    return str(tag.get("value", ""))


def _field_error(page: BeautifulSoup, name: str) -> str:
    tag = page.select_one(f"#f-{name}-error")
    return tag.get_text(strip=True) if tag else ""


# Sign-up -----------------------------------------------------------------------------------


def _confirmation_link(db: Session, email: str) -> str:
    mail = db.scalar(
        select(OutboxMessage).where(
            OutboxMessage.to_address == email,
            OutboxMessage.template == "mail/signup_confirmation.txt",
        )
    )
    assert mail is not None
    (link,) = re.findall(r"http://testserver(/register/confirm/\S+)", mail.body_text)
    return str(link)


def _confirm(client: TestClient, link: str) -> Response:
    """Open the e-mailed link (which changes nothing) and press its one button."""
    opened = client.get(link)
    assert opened.status_code == 200
    form = _page(opened).select_one(f"form[method=post][action='{link}']")
    assert form is not None
    return _post(client, link, {}, link)


def test_sign_up_opens_nothing_until_the_address_is_confirmed_by_link(
    client: TestClient, db: Session
) -> None:
    response = _post(client, "/register", _signup_form(), "/register")
    assert response.status_code == 303
    assert response.headers["location"] == "/register/sent"
    assert find_user_by_email(db, "paola@datasalud.example.mx") is None
    assert db.scalar(select(Organization).where(Organization.rfc == "DSA180523KL9")) is None
    assert client.get("/organisation").status_code == 303  # not signed in: asked to sign in
    assert db.scalar(select(func.count(RateLimitHit.id))) == 2  # per network and per address

    link = _confirmation_link(db, "paola@datasalud.example.mx")
    client.get(link)
    assert find_user_by_email(db, "paola@datasalud.example.mx") is None  # opening is not confirming
    response = _confirm(client, link)
    assert response.status_code == 303
    user = find_user_by_email(db, "paola@datasalud.example.mx")
    assert user is not None
    assert user.role == Role.applicant
    organization = db.scalar(select(Organization).where(Organization.rfc == "DSA180523KL9"))
    assert organization is not None
    assert response.headers["location"] == f"/organisations/{organization.id}"
    assert organization.state == "Ciudad de México"
    assert organization.verification == OrgVerification.unverified
    member = organizations.membership(db, user, organization.id)
    assert member is not None
    assert member.role == OrgRole.owner
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"signup.request", "user.create", "organization.register"} <= actions

    mine = client.get("/organisation")
    assert mine.headers["location"] == f"/organisations/{organization.id}"
    dashboard = _page(client.get(mine.headers["location"]))
    heading = dashboard.select_one("h1")
    assert heading is not None
    assert heading.get_text(strip=True) == organization.legal_name
    people = [td.get_text(strip=True) for td in dashboard.select("#people-heading ~ table td")]
    assert "Paola Jiménez Torres" in people
    assert "Owner" in people
    assert "Awaiting verification" in dashboard.select_one("#identity-heading ~ p").get_text()  # type: ignore[union-attr]
    assert dashboard.select_one("form[action$='/proof'] input[type=file]") is not None
    # The link works once.
    assert _confirm(client, _confirmation_link(db, "paola@datasalud.example.mx")).status_code == 422


def test_sign_up_with_a_malformed_rfc_keeps_what_was_typed(client: TestClient, db: Session) -> None:
    response = _post(client, "/register", _signup_form(rfc="XYZ-12"), "/register")
    assert response.status_code == 422
    page = _page(response)
    assert "valid format" in _field_error(page, "rfc")
    assert page.select_one("#f-rfc[aria-invalid=true]") is not None
    assert _value(page, "#f-rfc") == "XYZ-12"
    assert _value(page, "#f-full_name") == "Paola Jiménez Torres"
    assert _value(page, "#f-website") == "https://datasalud.example.mx"
    assert page.select_one("#f-state option[selected]") is not None
    assert _value(page, "#f-state option[selected]") == "Ciudad de México"
    assert _value(page, "#f-size option[selected]") == "medium"
    assert _value(page, "#f-password") == ""  # never sent back
    assert "una-clave-larga-123" not in response.text
    assert find_user_by_email(db, "paola@datasalud.example.mx") is None
    # The refused attempt still counts toward the network's sign-up limit, and nothing else stays.
    assert (
        db.scalar(select(func.count(RateLimitHit.id)).where(RateLimitHit.bucket == "signup")) == 1
    )
    assert db.scalar(select(func.count(OutboxMessage.id))) == 0


def test_a_second_claimant_of_a_registered_rfc_is_led_to_a_dispute(
    client: TestClient, db: Session
) -> None:
    holder = make_user(db)
    _organization_with_rfc(db, holder, "DSA180523KL9")
    form = _signup_form(email="otra@ejemplo.mx", legal_name="DataSalud Verdadera, S.A.")
    assert _post(client, "/register", form, "/register").status_code == 303
    response = _confirm(client, _confirmation_link(db, "otra@ejemplo.mx"))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/organisations/disputes/new?")
    claimant = find_user_by_email(db, "otra@ejemplo.mx")
    assert claimant is not None
    assert organizations.my_organizations(db, claimant) == []
    page = _page(client.get(response.headers["location"]))
    assert _value(page, "#f-legal_name") == "DataSalud Verdadera, S.A."
    assert _value(page, "#f-rfc") == "DSA180523KL9"


def test_sign_up_answers_the_same_for_an_address_with_an_account_and_mails_its_owner(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(db, email="paola@datasalud.example.mx")
    db.commit()
    hashed: list[str] = []
    real_hash = accounts.hash_password

    def counting_hash(password: str) -> str:
        hashed.append(password)
        return real_hash(password)

    monkeypatch.setattr("quality_marks.organizations.hash_password", counting_hash)
    known = _post(client, "/register", _signup_form(), "/register")
    assert len(hashed) == 1  # the slow part of the work is done for a known address too
    unknown = _post(client, "/register", _signup_form(email="nueva@ejemplo.mx"), "/register")
    assert len(hashed) == 2
    assert (known.status_code, known.headers["location"]) == (
        unknown.status_code,
        unknown.headers["location"],
    )
    assert (
        _page(client.get(known.headers["location"])).select_one("h1").get_text(strip=True)  # type: ignore[union-attr]
        == "Check your e-mail"
    )
    assert "already exists" not in known.text
    (notice,) = db.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == "paola@datasalud.example.mx")
    )
    assert notice.template == "mail/signup_existing_account.txt"
    assert "http://testserver/account/reset" in notice.body_text
    assert db.scalar(select(Organization).where(Organization.rfc == "DSA180523KL9")) is None


def test_sign_up_is_limited_per_network_address(client: TestClient, db: Session) -> None:
    for _ in range(10):
        assert _post(client, "/register", {"full_name": "x"}, "/register").status_code == 422
    response = _post(client, "/register", _signup_form(), "/register")
    assert response.status_code == 429
    page = _page(response)
    alert = page.select_one(".form-error")
    assert alert is not None
    assert "Too many attempts" in alert.get_text()
    assert _value(page, "#f-legal_name") == "DataSalud Analítica, S.A. de C.V."
    assert find_user_by_email(db, "paola@datasalud.example.mx") is None


def test_applicant_without_organisation_registers_one(client: TestClient, db: Session) -> None:
    applicant = make_user(db)
    db.commit()
    sign_in_as(client, applicant)
    page = _page(client.get("/organisation"))
    assert page.select_one("a.button[href='/organisations/new']") is not None

    form = {k: v for k, v in _signup_form().items() if k not in {"full_name", "email", "password"}}
    response = _post(client, "/organisations/new", form, "/organisations/new")
    assert response.status_code == 303
    organization = db.scalar(select(Organization).where(Organization.rfc == "DSA180523KL9"))
    assert organization is not None
    assert response.headers["location"] == f"/organisations/{organization.id}"
    member = organizations.membership(db, applicant, organization.id)
    assert member is not None
    assert member.role == OrgRole.owner


def test_person_of_several_organisations_chooses_one(client: TestClient, db: Session) -> None:
    owner = make_user(db)
    first = _organization(db, owner, "Alfa, S.A.")
    second = _organization(db, owner, "Beta, S.A.")
    sign_in_as(client, owner)
    response = client.get("/organisation")
    assert response.status_code == 200
    links = {a["href"] for a in _page(response).select("main table a")}
    assert links == {f"/organisations/{first}", f"/organisations/{second}"}


# Colleagues --------------------------------------------------------------------------------


def test_owner_invites_a_colleague_by_email(client: TestClient, db: Session) -> None:
    owner = make_user(db)
    organization_id = _organization(db, owner)
    sign_in_as(client, owner)
    page_path = f"/organisations/{organization_id}"
    response = _post(
        client,
        f"{page_path}/members",
        {"full_name": "Luis Pérez", "email": "luis@datos.example.mx", "role": "viewer"},
        page_path,
    )
    assert response.status_code == 303

    colleague = find_user_by_email(db, "luis@datos.example.mx")
    assert colleague is not None
    member = organizations.membership(db, colleague, organization_id)
    assert member is not None
    assert member.role == OrgRole.viewer
    mail = db.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == "luis@datos.example.mx")
    )
    assert mail is not None
    assert "/account/invitation/" in mail.body_text
    people = _page(client.get(page_path)).select("#people-heading ~ table td")
    assert "Luis Pérez" in [td.get_text(strip=True) for td in people]


def test_invitation_of_a_member_again_is_shown_with_the_form(
    client: TestClient, db: Session
) -> None:
    owner = make_user(db)
    organization_id = _organization(db, owner)
    colleague = _colleague(db, organization_id, owner, OrgRole.editor)
    sign_in_as(client, owner)
    page_path = f"/organisations/{organization_id}"
    response = _post(
        client,
        f"{page_path}/members",
        {"full_name": colleague.full_name, "email": colleague.email, "role": "viewer"},
        page_path,
    )
    assert response.status_code == 409
    page = _page(response)
    alert = page.select_one("#invite-heading ~ .form-error")
    assert alert is not None
    assert alert.get_text(strip=True) == "This person cannot be added to the organisation."
    assert _value(page, "#f-invite-email") == colleague.email
    assert _value(page, "#f-invite-role option[selected]") == "viewer"


def _invite(client: TestClient, organization_id: int, email: str, role: str = "editor") -> Response:
    page_path = f"/organisations/{organization_id}"
    data = {"full_name": "Alguien", "email": email, "role": role}
    return _post(client, f"{page_path}/members", data, page_path)


def test_council_accounts_are_refused_in_the_words_used_for_members(
    client: TestClient, db: Session
) -> None:
    owner = make_user(db)
    organization_id = _organization(db, owner)
    member = _colleague(db, organization_id, owner, OrgRole.viewer)
    sign_in_as(client, owner)
    refusals = []
    for role in (Role.secretariat, Role.council_member, Role.expert, Role.admin):
        staff = make_user(db, role=role)
        response = _invite(client, organization_id, staff.email)
        assert response.status_code == 409
        refusals.append(_page(response).select_one("#invite-heading ~ .form-error"))
        assert organizations.membership(db, staff, organization_id) is None
    response = _invite(client, organization_id, member.email)
    refusals.append(_page(response).select_one("#invite-heading ~ .form-error"))
    texts = {tag.get_text(strip=True) for tag in refusals if tag is not None}
    assert texts == {"This person cannot be added to the organisation."}
    assert len([tag for tag in refusals if tag is not None]) == 5


def test_an_applicant_with_an_account_joins_only_after_accepting(
    client: TestClient, db: Session
) -> None:
    owner = make_user(db, full_name="Ana López")
    organization_id = _organization(db, owner, "Datos Seguros, S.A. de C.V.")
    colleague = make_user(db, locale="en")
    db.commit()
    sign_in_as(client, owner)
    assert _invite(client, organization_id, colleague.email, "viewer").status_code == 303

    assert organizations.membership(db, colleague, organization_id) is None
    people = _page(client.get(f"/organisations/{organization_id}")).select(
        "#people-heading ~ table td"
    )
    assert "Invited, has not answered" in [td.get_text(strip=True) for td in people]
    (mail,) = db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == colleague.email))
    assert mail.template == "mail/added_to_organization.txt"
    assert mail.locale == "en"
    assert mail.subject == "Invitation to act for Datos Seguros, S.A. de C.V."
    assert "Ana López" in mail.body_text
    assert "Viewer" in mail.body_text
    assert "http://testserver/organisation\n" in mail.body_text
    assert "/account/invitation/" not in mail.body_text

    sign_in_as(client, colleague)
    dashboard = client.get("/organisation")
    assert dashboard.status_code == 200
    form = _page(dashboard).select_one("form[action$='/accept']")
    assert form is not None
    assert (
        "Datos Seguros" in _page(dashboard).select_one("#invitations-heading ~ article").get_text()  # type: ignore[union-attr]
    )
    response = _post(client, str(form["action"]), {}, "/organisation")
    assert response.headers["location"] == f"/organisations/{organization_id}"
    member = organizations.membership(db, colleague, organization_id)
    assert member is not None
    assert member.role == OrgRole.viewer
    # An answered invitation cannot be answered again.
    assert (
        _post(client, str(form["action"]).replace("accept", "decline"), {}, "/").status_code == 409
    )


def test_a_declined_invitation_changes_nothing(client: TestClient, db: Session) -> None:
    owner = make_user(db)
    organization_id = _organization(db, owner)
    colleague = make_user(db)
    db.commit()
    sign_in_as(client, owner)
    assert _invite(client, organization_id, colleague.email).status_code == 303
    sign_in_as(client, colleague)
    form = _page(client.get("/organisation")).select_one("form[action$='/decline']")
    assert form is not None
    assert _post(client, str(form["action"]), {}, "/organisation").status_code == 303
    assert organizations.membership(db, colleague, organization_id) is None
    assert "decline_invitation" in " ".join(db.scalars(select(AuditEvent.action)))


def test_the_added_mail_is_in_the_persons_language(client: TestClient, db: Session) -> None:
    owner = make_user(db)
    organization_id = _organization(db, owner, "Datos Seguros, S.A. de C.V.")
    colleague = make_user(db, locale="es_MX")
    sign_in_as(client, owner)
    assert _invite(client, organization_id, colleague.email, "editor").status_code == 303
    (mail,) = db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == colleague.email))
    assert mail.subject == "Invitación para actuar en nombre de Datos Seguros, S.A. de C.V."
    assert "Editor" in mail.body_text


def test_editor_cannot_invite(client: TestClient, db: Session) -> None:
    owner = make_user(db)
    organization_id = _organization(db, owner)
    editor = _colleague(db, organization_id, owner, OrgRole.editor)
    sign_in_as(client, editor)
    page_path = f"/organisations/{organization_id}"
    assert _page(client.get(page_path)).select_one("#invite-heading") is None
    response = _post(
        client,
        f"{page_path}/members",
        {"full_name": "Luis Pérez", "email": "luis@datos.example.mx", "role": "owner"},
        page_path,
    )
    assert response.status_code == 403
    assert find_user_by_email(db, "luis@datos.example.mx") is None


# Products ----------------------------------------------------------------------------------


def _create_product(client: TestClient, organization_id: int, form: dict[str, Any]) -> Response:
    path = f"/organisations/{organization_id}/products"
    return _post(client, path, form, f"{path}/new")


def _risk_heading(page: BeautifulSoup) -> str:
    heading = page.select_one("#risk-heading")
    assert heading is not None
    return heading.get_text(strip=True)


def test_a_yes_to_essential_services_makes_the_product_high_risk(
    client: TestClient, db: Session
) -> None:
    owner = make_user(db)
    organization_id = _organization(db, owner)
    sign_in_as(client, owner)
    form_page = _page(client.get(f"/organisations/{organization_id}/products/new"))
    legends = [legend.get_text(strip=True) for legend in form_page.select(".questionnaire legend")]
    assert any("credit, insurance, employment" in text for text in legends)
    assert len(form_page.select("input[type=checkbox][name=states]")) == 32

    response = _create_product(
        client, organization_id, _product_form(risk_essential_services="yes")
    )
    assert response.status_code == 303
    product = db.scalar(select(Product).where(Product.organization_id == organization_id))
    assert product is not None
    assert response.headers["location"] == f"/products/{product.id}"
    assert product.risk_level == RiskLevel.high
    assert product.sectors == ["finanzas", "seguros"]
    assert product.states == ["Jalisco", "Nuevo León"]

    page = _page(client.get(f"/products/{product.id}"))
    assert _risk_heading(page) == "Risk level: High risk"
    decisive = [li.get_text(" ", strip=True) for li in page.select("ul.decisive li")]
    assert len(decisive) == 1
    assert "credit, insurance, employment" in decisive[0]


def test_all_answers_no_make_the_product_minimal_risk(client: TestClient, db: Session) -> None:
    owner = make_user(db)
    organization_id = _organization(db, owner)
    sign_in_as(client, owner)
    response = _create_product(client, organization_id, _product_form())
    assert response.status_code == 303
    page = _page(client.get(response.headers["location"]))
    assert _risk_heading(page) == "Risk level: Minimal risk"
    assert page.select("ul.decisive li") == []


def test_personal_data_without_legal_basis_is_flagged_and_the_form_kept(
    client: TestClient, db: Session
) -> None:
    owner = make_user(db)
    organization_id = _organization(db, owner)
    sign_in_as(client, owner)
    response = _create_product(
        client,
        organization_id,
        _product_form(personal_data="yes", risk_interacts="yes", name="Asistente"),
    )
    assert response.status_code == 422
    page = _page(response)
    assert "legal basis" in _field_error(page, "legal_basis")
    assert _value(page, "#f-name") == "Asistente"
    assert _value(page, "input[name=personal_data][checked]") == "yes"
    assert _value(page, "input[name=risk_interacts][checked]") == "yes"
    assert _value(page, "input[name=risk_biometrics][checked]") == "no"
    checked_states = {str(box["value"]) for box in page.select("input[name=states][checked]")}
    assert checked_states == {"Jalisco", "Nuevo León"}
    assert db.scalar(select(Product).where(Product.organization_id == organization_id)) is None


@pytest.mark.parametrize("name", ["Asistente", ""], ids=["otherwise-valid", "name-missing-too"])
def test_unanswered_questions_are_flagged_one_by_one(
    client: TestClient, db: Session, name: str
) -> None:
    owner = make_user(db)
    organization_id = _organization(db, owner)
    sign_in_as(client, owner)
    form = _product_form(name=name)
    del form["risk_emotions"]
    response = _create_product(client, organization_id, form)
    assert response.status_code == 422
    page = _page(response)
    assert "Answer every question" in _field_error(page, "risk_answers")
    assert _field_error(page, "risk_emotions") == "Answer this question."
    assert _field_error(page, "risk_biometrics") == ""
    assert bool(_field_error(page, "name")) == (name == "")


def test_editor_changes_a_product_and_its_risk_level(client: TestClient, db: Session) -> None:
    owner = make_user(db)
    organization_id = _organization(db, owner)
    product_id = _product(db, owner, organization_id)
    editor = _colleague(db, organization_id, owner, OrgRole.editor)
    sign_in_as(client, editor)
    edit_path = f"/products/{product_id}/edit"
    form_page = _page(client.get(edit_path))
    assert _value(form_page, "#f-model_type") == "Gradient boosting"
    assert _value(form_page, "input[name=risk_essential_services][checked]") == "yes"

    response = _post(
        client, f"/products/{product_id}", _product_form(risk_emotions="yes"), edit_path
    )
    assert response.status_code == 303
    product = db.get(Product, product_id)
    assert product is not None
    assert product.risk_level == RiskLevel.limited


def test_product_of_another_organisation_does_not_exist_for_outsiders(
    client: TestClient, db: Session
) -> None:
    owner_a = make_user(db)
    organization_a = _organization(db, owner_a, "Alfa, S.A.")
    product_id = _product(db, owner_a, organization_a)
    owner_b = make_user(db)
    organization_b = _organization(db, owner_b, "Beta, S.A.")
    sign_in_as(client, owner_b)
    assert client.get(f"/products/{product_id}").status_code == 404
    assert client.get(f"/products/{product_id}/edit").status_code == 404
    token = csrf_of(client, f"/organisations/{organization_b}")
    response = client.post(
        f"/products/{product_id}", data={**_product_form(name="Robado"), "csrf_token": token}
    )
    assert response.status_code == 404
    assert client.get(f"/organisations/{organization_a}").status_code == 404
    product = db.get(Product, product_id)
    assert product is not None
    assert product.name == "Evaluador"


def test_viewer_reads_but_cannot_edit(client: TestClient, db: Session) -> None:
    owner = make_user(db)
    organization_id = _organization(db, owner)
    product_id = _product(db, owner, organization_id)
    viewer = _colleague(db, organization_id, owner, OrgRole.viewer)
    sign_in_as(client, viewer)
    page = _page(client.get(f"/products/{product_id}"))
    assert page.select_one(f"a[href='/products/{product_id}/edit']") is None
    assert page.select_one("form[action$='/applications']") is None
    assert client.get(f"/products/{product_id}/edit").status_code == 403
    token = csrf_of(client, f"/products/{product_id}")
    response = client.post(
        f"/products/{product_id}", data={**_product_form(name="Cambio"), "csrf_token": token}
    )
    assert response.status_code == 403
    assert client.get(f"/organisations/{organization_id}/products/new").status_code == 403


# Applications ------------------------------------------------------------------------------


def test_start_an_application_from_the_product_page(client: TestClient, db: Session) -> None:
    version = _adopted_version(db)
    owner = make_user(db)
    organization_id = _organization(db, owner)
    product_id = _product(db, owner, organization_id)
    sign_in_as(client, owner)
    page = _page(client.get(f"/products/{product_id}"))
    options = {str(o["value"]) for o in page.select("#f-version option")}
    assert options == {"", str(version.id)}

    response = _post(
        client,
        f"/products/{product_id}/applications",
        {"version": str(version.id)},
        f"/products/{product_id}",
    )
    assert response.status_code == 303
    application = db.scalar(select(Application).where(Application.product_id == product_id))
    assert application is not None
    assert response.headers["location"] == f"/applications/{application.id}"
    assert application.status == ApplicationStatus.draft
    assert application.guideline_version_id == version.id
    assert application.risk_level == RiskLevel.high


def test_second_application_while_one_is_open_is_refused(client: TestClient, db: Session) -> None:
    version = _adopted_version(db)
    owner = make_user(db)
    organization_id = _organization(db, owner)
    product_id = _product(db, owner, organization_id)
    applications.start_application(
        db, actor=owner, product_id=product_id, guideline_version=version, now=NOW
    )
    db.commit()
    sign_in_as(client, owner)
    response = _post(
        client,
        f"/products/{product_id}/applications",
        {"version": str(version.id)},
        f"/products/{product_id}",
    )
    assert response.status_code == 409
    alert = _page(response).select_one("#apply-heading ~ .form-error")
    assert alert is not None
    assert "already has an application in progress" in alert.get_text()
    count = db.scalar(
        select(func.count(Application.id)).where(Application.product_id == product_id)
    )
    assert count == 1


def test_unknown_version_is_flagged_on_the_product_page(client: TestClient, db: Session) -> None:
    owner = make_user(db)
    organization_id = _organization(db, owner)
    product_id = _product(db, owner, organization_id)
    sign_in_as(client, owner)
    response = _post(
        client, f"/products/{product_id}/applications", {"version": ""}, f"/products/{product_id}"
    )
    assert response.status_code == 422
    assert db.scalar(select(Application.id)) is None


@pytest.mark.parametrize("raw", ["²", "٣", "99999999999999999999"])
def test_a_malformed_version_choice_is_flagged_on_the_product_page(
    client: TestClient, db: Session, raw: str
) -> None:
    _adopted_version(db)
    owner = make_user(db)
    organization_id = _organization(db, owner)
    product_id = _product(db, owner, organization_id)
    sign_in_as(client, owner)
    response = _post(
        client, f"/products/{product_id}/applications", {"version": raw}, f"/products/{product_id}"
    )
    assert response.status_code == 422
    assert _field_error(_page(response), "version")
    assert db.scalar(select(Application.id)) is None


def test_an_id_too_large_for_the_database_is_refused(client: TestClient, db: Session) -> None:
    owner = make_user(db)
    _organization(db, owner)
    sign_in_as(client, owner)
    huge = "99999999999999999999"
    for path in (f"/organisations/{huge}", f"/products/{huge}", f"/products/{huge}/edit"):
        assert client.get(path).status_code == 422, path
    response = _post(client, f"/organisations/{huge}/members", {"email": "x@ejemplo.mx"})
    assert response.status_code == 422


def test_accepted_versions_are_read_from_the_loaded_guideline(db: Session, engine: Engine) -> None:
    version = _adopted_version(db)
    guideline = guidelines_service.get_guideline(db, "etica-ia")
    with statements(engine) as seen:
        accepted = applications.accepted_versions(guideline, NOW)
    assert [v.id for v in accepted] == [version.id]
    assert seen == []


def _answer_everything(db: Session, owner: User, application: Application) -> None:
    items = applications.checklist(db, application)
    applications.save_answers(
        db,
        actor=owner,
        application=application,
        answers={item.criterion.code: AnswerInput(value="meets") for item in items},
        now=NOW,
    )


def test_dashboard_says_what_is_expected(client: TestClient, db: Session) -> None:
    version = _adopted_version(db)
    staff = make_staff(db)
    owner = make_user(db)
    organization_id = _organization(db, owner)
    started = [
        applications.start_application(
            db,
            actor=owner,
            product_id=_product(db, owner, organization_id, name=name),
            guideline_version=version,
            now=NOW,
        )
        for name in ("Borrador", "Devuelto", "Consultado")
    ]
    draft, returned, asked = started
    applications.save_answers(
        db,
        actor=owner,
        application=draft,
        answers={"TR-1": AnswerInput(value="meets")},
        now=NOW,
    )
    for application in (returned, asked):
        _answer_everything(db, owner, application)
        applications.submit_application(
            db, actor=owner, application=application, base_url="http://testserver", now=NOW
        )
        applications.start_screening(db, actor=staff, application=application, now=NOW)
    applications.return_application(
        db,
        actor=staff,
        application=returned,
        reason="Falta la evaluación de impacto.",
        base_url="http://testserver",
        now=NOW,
    )
    applications.accept_application(
        db, actor=staff, application=asked, base_url="http://testserver", now=NOW
    )
    applications.request_information(
        db,
        actor=staff,
        application=asked,
        body="¿Quién revisa?",
        base_url="http://testserver",
        now=NOW,
    )
    db.commit()

    sign_in_as(client, owner)
    page = _page(client.get(f"/organisations/{organization_id}"))
    tasks = {
        kind: page.select(f"li.task-{kind}")
        for kind in ("draft", "returned", "information_requested")
    }
    assert [len(items) for items in tasks.values()] == [1, 1, 1]
    draft_task = tasks["draft"][0]
    link = draft_task.select_one("a")
    assert link is not None
    assert link["href"] == f"/applications/{draft.id}"
    assert "1 of 3 criteria" in draft_task.get_text(" ", strip=True)
    assert "Falta la evaluación de impacto." in tasks["returned"][0].get_text()
    statuses = [td.get_text(strip=True) for td in page.select("#applications-heading ~ table td")]
    assert "Information requested" in statuses


def test_the_dashboard_reads_the_criteria_once_for_every_draft(
    client: TestClient, db: Session, engine: Engine
) -> None:
    version = _adopted_version(db)
    owner = make_user(db)
    organization_id = _organization(db, owner)
    for name in ("Uno", "Dos", "Tres"):
        applications.start_application(
            db,
            actor=owner,
            product_id=_product(db, owner, organization_id, name=name),
            guideline_version=version,
            now=NOW,
        )
    db.commit()
    sign_in_as(client, owner)
    with statements(engine) as seen:
        page = _page(client.get(f"/organisations/{organization_id}"))
    assert len(page.select("li.task-draft")) == 3
    # The drafts' progress comes from one read of the criteria, not a version tree per draft.
    assert tree_loads(seen) == 0
    assert sum(1 for statement in seen if "FROM guideline_criteria" in statement) == 1


def test_secretariat_reads_the_dashboard_without_forms(client: TestClient, db: Session) -> None:
    owner = make_user(db)
    organization_id = _organization(db, owner)
    product_id = _product(db, owner, organization_id)
    staff = make_staff(db)
    db.commit()
    sign_in_as(client, staff)
    page = _page(client.get(f"/organisations/{organization_id}"))
    assert page.select_one(".notice") is not None
    assert page.select("main form") == []
    product_page = _page(client.get(f"/products/{product_id}"))
    assert product_page.select("main form") == []
    assert client.get(f"/products/{product_id}/edit").status_code == 403


def test_organisation_pages_are_structured_and_labelled(client: TestClient, db: Session) -> None:
    _adopted_version(db)
    owner = make_user(db)
    organization_id = _organization(db, owner)
    product_id = _product(db, owner, organization_id)
    failures = {"/register": _problems(client.get("/register").text)}
    sign_in_as(client, owner, PASSWORD)
    for path in (
        f"/organisations/{organization_id}",
        f"/organisations/{organization_id}/products/new",
        f"/products/{product_id}",
        f"/products/{product_id}/edit",
        "/organisations/new",
    ):
        failures[path] = _problems(client.get(path).text)
    invalid = _create_product(client, organization_id, _product_form(personal_data="yes"))
    failures["product form with errors"] = _problems(invalid.text)
    assert {path: problems for path, problems in failures.items() if problems} == {}


def test_home_page_invites_companies_to_apply(client: TestClient) -> None:
    link = _page(client.get("/")).select_one("main a[href='/register']")
    assert link is not None
    assert link.get_text(strip=True) == "Apply for a quality mark"
