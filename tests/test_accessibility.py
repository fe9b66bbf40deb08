"""Every page the demo shows, for each kind of visitor: one h1, labelled fields, unique ids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import find_user_by_email
from core.storage import FileStore
from council.demo import DEMO_PASSWORD, seed_demo
from quality_marks.models import Application, ApplicationStatus, Organization
from tests.factories import NOW, sign_in_as

PAGES: dict[str | None, list[str]] = {
    None: [
        "/",
        "/signin",
        "/account/reset",
        "/guidelines",
        "/guidelines/etica-ia",
        "/guidelines/etica-ia/1.0",
        "/guidelines/etica-ia/1.1",
        "/guidelines/etica-ia/1.1/consultation",
        "/guidelines/etica-ia/1.1/consultation/comment",
        "/guidelines/etica-ia/compare/versions?from=1.0&to=1.1",
        "/council",
        "/council/resolutions",
        "/verify",
        "/registry/statistics",
        "/registry/data",
        "/registry",
        "/registry?q=educacion&sort=newest",
    ],
    "secretaria@ceia.gob.mx": [
        "/dashboard",
        "/account",
        "/admin/users",
        "/admin/outbox",
        "/guidelines/new",
        "/guidelines/etica-ia",
        "/guidelines/etica-ia/1.1",
        "/guidelines/etica-ia/1.1/consultation",
        "/guidelines/etica-ia/1.1/revisions",
        "/council/members",
        "/council/ballots",
        "/complaints",
        "/council/conflicts?email=a@datasalud.example.mx&organisation=DataSalud&email_domain=datasalud.example.mx",
        # The work lists, searched and filtered (issue 14).
        "/organisations?q=analitica&verification=verified",
        "/guidelines/etica-ia/1.1/consultation/dispositions?criterion=TR-2",
        "/admin/users?q=lucia&role=council_member",
        "/council/ballots?status=closed",
    ],
    "rmartinez@ceia.gob.mx": [
        "/dashboard",
        "/council/interests",
        "/council/ballots",
        "/council/ballots/new?slug=etica-ia&number=1.1",
    ],
    "cumplimiento@datasalud.example.mx": ["/dashboard"],
}
# Pages whose address holds an id of the demo data, per visitor.
QUALITY_MARK_PAGES = {
    "cumplimiento@datasalud.example.mx": [
        "/organisations/{org}",
        "/organisations/{org}/products/new",
        "/products/{product}",
        "/products/{product}/edit",
        "/applications/{application}",
        "/applications/{application}/checklist/TR",
        "/applications/{draft}/checklist/TR",
    ],
    "secretaria@ceia.gob.mx": [
        "/applications",
        "/applications?q=analitica&status=decided&waiting=7",
        "/applications/{application}",
    ],
}
CONTROLS = "input:not([type=hidden]):not([type=submit]), select, textarea"


def _problems(html: str) -> list[str]:
    page = BeautifulSoup(html, "html.parser")
    problems = []
    if len(page.select("h1")) != 1:
        problems.append(f"{len(page.select('h1'))} h1 elements")
    html_tag = page.select_one("html")
    if html_tag is None or html_tag.get("lang") not in {"es-MX", "en"}:
        problems.append("no lang on <html>")
    ids = [str(tag["id"]) for tag in page.select("[id]")]
    problems += [f"duplicate id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    labelled = {str(label.get("for")) for label in page.select("label[for]")}
    for control in page.select(CONTROLS):
        if control.get("aria-hidden") or control.find_parent(attrs={"aria-hidden": "true"}):
            continue
        inside_label = control.find_parent("label") is not None
        if control.get("id") not in labelled and not inside_label and not control.get("aria-label"):
            problems.append(f"unlabelled {control.name} name={control.get('name')}")
    problems += [f"img without alt {img.get('src')}" for img in page.select("img:not([alt])")]
    return problems


def _demo_pages(db: Session, who: str | None) -> list[str]:
    templates = QUALITY_MARK_PAGES.get(who or "", [])
    if not templates:
        return []
    organization = db.scalars(select(Organization).where(Organization.rfc == "DSA180523KL9")).one()
    apps = db.scalars(
        select(Application).where(Application.organization_id == organization.id)
    ).all()
    submitted = next(a for a in apps if a.status != ApplicationStatus.draft)
    draft = next(a for a in apps if a.status == ApplicationStatus.draft)
    ids = {
        "org": organization.id,
        "product": submitted.product_id,
        "application": submitted.id,
        "draft": draft.id,
    }
    return [template.format(**ids) for template in templates]


@pytest.fixture
def demo(db: Session, tmp_path: Path) -> Session:
    """The demo data inside the test's transaction."""
    seed_demo(db, store=FileStore(tmp_path / "store"), base_url="http://testserver", now=NOW)
    return db


@pytest.mark.parametrize("who", list(PAGES))
@pytest.mark.parametrize("language", ["es-MX", "en"])
def test_pages_are_structured_and_labelled(
    client: TestClient, demo: Session, who: str | None, language: str
) -> None:
    if who is not None:
        user = find_user_by_email(demo, who)
        assert user is not None
        sign_in_as(client, user, DEMO_PASSWORD)
    failures = {}
    for path in PAGES[who] + _demo_pages(demo, who):
        response = client.get(path, headers={"Accept-Language": language})
        assert response.status_code == 200, f"{path}: {response.status_code}"
        if problems := _problems(response.text):
            failures[path] = problems
    assert failures == {}


def test_focus_is_visible_and_text_has_contrast() -> None:
    css = (Path(__file__).parent.parent / "static" / "site.css").read_text()
    assert re.search(r":focus-visible\s*\{[^}]*outline:\s*3px solid", css)

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def contrast(a: str, b: str) -> float:
        high, low = sorted((luminance(a), luminance(b)), reverse=True)
        return (high + 0.05) / (low + 0.05)

    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", css))
    for name in ("ink", "muted", "brand-dark", "bad", "warn", "ok"):
        assert contrast(colours[name], colours["paper"]) >= 4.5, name
    assert contrast("#ffffff", colours["brand"]) >= 4.5  # header text on the brand band
