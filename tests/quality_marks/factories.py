"""Plain functions that build organisations, products and applications through the service verbs.

Like tests.guidelines.factories they commit (a savepoint inside the test's transaction), so a
request that rolls back after a refused change does not take the test's data with it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from bs4 import BeautifulSoup
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from guidelines import service as guideline_service
from guidelines.models import GuidelineVersion, RiskLevel
from guidelines.schemas import CriterionInput
from quality_marks import applications, organizations, products
from quality_marks.models import (
    Application,
    Organization,
    OrganizationInvitation,
    OrgRole,
    OrgSize,
    Product,
    VerificationMethod,
)
from quality_marks.schemas import OrganizationInput, ProductInput
from tests.factories import NOW, make_user
from tests.guidelines.builders import adopt, make_draft

_counter = itertools.count(1)

# Which questionnaire answer raises a product to each risk level.
_RISK_ANSWERS: dict[str, dict[str, bool]] = {
    "minimal": {},
    "limited": {"interacts": True},
    "high": {"essential_services": True},
}
# The default checklist layout: criteria for every level, for limited and high, for high only.
LAYOUT: dict[str, dict[str, list[RiskLevel]]] = {
    "TR": {
        "TR-1": [RiskLevel.minimal, RiskLevel.limited, RiskLevel.high],
        "TR-2": [RiskLevel.limited, RiskLevel.high],
        "TR-3": [RiskLevel.high],
    },
    "EQ": {
        "EQ-1": [RiskLevel.limited, RiskLevel.high],
        "EQ-2": [RiskLevel.high],
    },
}


def _rfc(n: int) -> str:
    letters = "".join("ABCDEFGHJKLMNPQRSTUVWXYZ"[(n // 24**i) % 24] for i in range(3))
    return f"{letters}180523{n % 1000:03d}"


def make_organization(
    db: Session,
    *,
    owner: User | None = None,
    legal_name: str | None = None,
    verified: bool = True,
) -> Organization:
    """An organisation registered by its owner (a new applicant account unless one is given).

    Verified by the secretariat unless asked otherwise, as every organisation that applies is.
    """
    n = next(_counter)
    owner = owner or make_user(db, role=Role.applicant)
    organization = organizations.register_organization(
        db,
        actor=owner,
        data=OrganizationInput(
            legal_name=legal_name or f"Datos Seguros {n} S.A. de C.V.",
            rfc=_rfc(n),
            address="Av. Reforma 100, Cuauhtémoc",
            state="Ciudad de México",
            sector="finanzas",
            size=OrgSize.small,
            contact_name="Ana López",
            contact_email=f"contacto{n}@datos.example.mx",
        ),
        now=NOW,
    )
    if verified:
        verify(db, organization.id)
    db.commit()
    return organization


def verify(db: Session, organization_id: int) -> None:
    """The secretariat verifies the organisation (by a proof it takes as read)."""
    organization = db.get(Organization, organization_id)
    assert organization is not None
    organization.proof_key = organization.proof_key or "00/" + "p" * 30
    organizations.verify_organization(
        db,
        actor=make_user(db, role=Role.secretariat),
        organization_id=organization.id,
        method=VerificationMethod.proof,
        reason="Constancia revisada.",
        base_url="http://testserver",
        now=NOW,
    )
    db.commit()


def accept_invitations(db: Session, person: User) -> None:
    """The person accepts every invitation waiting for them."""
    for invitation in db.scalars(
        select(OrganizationInvitation).where(
            OrganizationInvitation.user_id == person.id,
            OrganizationInvitation.status == "pending",
        )
    ):
        organizations.answer_invitation(
            db, actor=person, invitation_id=invitation.id, accept=True, now=NOW
        )
    db.commit()


def make_member(
    db: Session, organization: Organization, role: OrgRole, *, by: User | None = None
) -> User:
    """A colleague of the organisation with the given role (added by an owner)."""
    owner = by or next(
        p for p, r in organizations.members_of(db, organization.id) if r == OrgRole.owner
    )
    person = make_user(db, role=Role.applicant)
    organizations.invite_colleague(
        db,
        actor=owner,
        organization_id=organization.id,
        email=person.email,
        full_name=person.full_name,
        role=role,
        locale="es_MX",
        base_url="http://testserver",
        now=NOW,
    )
    db.commit()
    accept_invitations(db, person)
    return person


def make_product(
    db: Session,
    actor: User,
    organization: Organization,
    *,
    risk: Literal["minimal", "limited", "high"] = "high",
    name: str = "Evaluador de crédito",
) -> Product:
    """A product whose questionnaire answers lead to the given risk level."""
    answers = {q.key: False for q in products.RISK_QUESTIONS} | _RISK_ANSWERS[risk]
    product = products.create_product(
        db,
        actor=actor,
        organization_id=organization.id,
        data=ProductInput(
            name=name,
            version="2.1",
            intended_purpose="Estimar el riesgo de impago de solicitantes de crédito.",
            sectors=["finanzas"],
            states=["Ciudad de México", "Jalisco"],
            users_affected="Solicitantes de crédito personal.",
            risk_answers=answers,
            data_description="Historial crediticio e ingresos declarados.",
            personal_data=True,
            legal_basis="Consentimiento del titular.",
            model_type="Gradient boosting",
            human_oversight="Un analista revisa cada rechazo.",
            provider="Datos Seguros",
            deployer="Datos Seguros",
        ),
        now=NOW,
    )
    assert product.risk_level == RiskLevel(risk)
    db.commit()
    return product


def make_adopted_version(
    db: Session,
    staff: User | None = None,
    *,
    slug: str = "etica-ia",
    layout: dict[str, dict[str, list[RiskLevel]]] | None = None,
) -> GuidelineVersion:
    """A guideline version 1.0 in force whose criteria apply to different risk levels."""
    staff = staff or make_user(db, role=Role.secretariat)
    layout = layout or LAYOUT
    draft = make_draft(db, staff, slug=slug, criteria={p: [] for p in layout})
    for principle_code, criteria in layout.items():
        for code, levels in criteria.items():
            guideline_service.add_criterion(
                db,
                actor=staff,
                version=draft,
                data=CriterionInput(
                    code=code,
                    principle_code=principle_code,
                    title_es=f"Criterio {code}",
                    title_en=f"Criterion {code}",
                    requirement_es=f"El proveedor **debe** cumplir {code}.",
                    requirement_en=f"The provider **must** meet {code}.",
                    guidance_es=f"Orientación para {code}.",
                    guidance_en=f"Guidance for {code}.",
                    evidence_es=f"Documento que acredite {code}.",
                    evidence_en=f"A document showing {code}.",
                    risk_levels=levels,
                ),
                expected_revision=None,
                now=NOW,
            )
    version = adopt(db, draft)
    db.commit()
    return version


def make_application(
    db: Session,
    *,
    actor: User,
    product: Product,
    version: GuidelineVersion,
) -> Application:
    """A draft application for the product against the version."""
    application = applications.start_application(
        db, actor=actor, product_id=product.id, guideline_version=version, now=NOW
    )
    db.commit()
    return application


# Pages -------------------------------------------------------------------------------------

FormFields = dict[str, list[str]]


def form_fields(html: str, action: str) -> FormFields:
    """What a browser would send from the form posting to `action`: files and buttons aside."""
    soup = BeautifulSoup(html, "html.parser")
    form = soup.find("form", attrs={"action": action})
    assert form is not None, f"no form posting to {action}"
    fields: FormFields = {}
    for element in form.find_all(["input", "textarea", "select"]):
        name = element.get("name")
        kind = element.get("type", "text")
        if not name or kind in {"file", "submit", "button"}:
            continue
        value: object
        if element.name == "textarea":
            value = element.text
        elif element.name == "select":
            chosen = element.find("option", selected=True) or element.find("option")
            value = chosen.get("value", "") if chosen else ""
        elif kind in {"checkbox", "radio"}:
            if not element.has_attr("checked"):
                continue
            value = element.get("value", "on")
        else:
            value = element.get("value", "")
        fields.setdefault(str(name), []).append(str(value))
    return fields


def fill(fields: FormFields, changes: dict[str, str | bool | None]) -> FormFields:
    """Change a form's fields: text for a value, True/False to tick or untick, None to clear."""
    filled = dict(fields)
    for name, value in changes.items():
        if value is None or value is False:
            filled.pop(name, None)
        elif value is True:
            filled[name] = ["1"]
        else:
            filled[name] = [value]
    return filled


# Queries -----------------------------------------------------------------------------------


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements the engine runs inside the block, in order."""
    seen: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", remember)


def tree_loads(seen: list[str]) -> int:
    """How many times a guideline version's principles were read (one per version tree)."""
    return sum(1 for statement in seen if "FROM guideline_principles" in statement)
