"""A member of the public verifies a certificate in Chromium: its page, its PDF, a suspension."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.accounts import User
from core.db import make_engine, make_sessionmaker
from core.signing import CouncilKeys
from core.storage import FileStore
from council.demo_certificates import URGENT_REASON, bring_certificate_to
from quality_marks import certificates
from quality_marks.certificate_models import Certificate, CertificateStatus
from quality_marks.models import Application, Product
from tests.browser.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:EdDSA is deprecated")]

CHAIR = "presidencia@ceia.gob.mx"
SECRETARIAT = "secretaria@ceia.gob.mx"
WIDTHS = (320, 390, 1280)


def _issue_demo_certificate(server: LiveServer, keys: CouncilKeys) -> str:
    """The demo's granted mark (TriajeIA) gets its certificate, as the secretariat's button does."""
    with server.session() as session:
        application_id = session.scalar(
            select(Application.id)
            .join(Product, Product.id == Application.product_id)
            .where(Product.identifier == "MX-IA-DSA-TRIAJE")
        )
        assert application_id is not None
        staff = session.scalar(select(User).where(User.email == SECRETARIAT))
        assert staff is not None
    # Signing runs its own event loop; Playwright's already runs in this thread.
    engine = make_engine(server.settings.database_url)
    with ThreadPoolExecutor(max_workers=1) as worker:
        certificate = worker.submit(
            certificates.issue_for_application,
            make_sessionmaker(engine),
            application_id=application_id,
            keys=keys,
            store=FileStore(server.settings.storage_dir),
            base_url=server.url,
            prefix=server.settings.certificate_prefix,
            actor=staff,
            now=server.clock.now,
        ).result()
    engine.dispose()
    assert certificate.status == CertificateStatus.valid
    return certificate.number


def _suspend_urgently(server: LiveServer, number: str) -> None:
    """The chair suspends the certificate at once, by the council's own verb."""
    with server.session() as session:
        people = {
            u.email: u
            for u in session.scalars(select(User).where(User.email.in_([CHAIR, SECRETARIAT])))
        }
        certificate = session.scalars(select(Certificate).where(Certificate.number == number)).one()
        bring_certificate_to(
            session,
            certificate=certificate,
            status=CertificateStatus.suspended,
            secretary=people[SECRETARIAT],
            chair=people[CHAIR],
            base_url=server.url,
            now=server.clock.now,
        )
        session.commit()


def _upload(page: Page, server: LiveServer, pdf: Path) -> None:
    page.goto(server.url + "/verify")
    page.locator("#f-certificate").set_input_files(str(pdf))
    # By the form's address, not its words: the same steps serve both languages.
    page.locator("form[action='/verify'][method=post] button[type=submit]").click()
    expect(page.locator(".verdict")).to_be_visible()


def _fits(page: Page, width: int) -> None:
    """Nothing on the page is wider than the screen (no sideways scrolling)."""
    page.set_viewport_size({"width": width, "height": 900})
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px too wide at {width}px"


def test_the_public_verifies_a_certificate_and_then_sees_it_suspended(
    page: Page,
    english_pages: Callable[[], Page],
    live_server: LiveServer,
    council_keys: CouncilKeys,
    tmp_path: Path,
) -> None:
    number = _issue_demo_certificate(live_server, council_keys)
    public = english_pages()

    # The QR code's target: what the certificate states and that it is in force.
    public.goto(f"{live_server.url}/verify/{number}")
    expect(public.get_by_role("heading", level=1)).to_contain_text(number)
    expect(public.locator(".certificate-status")).to_contain_text("Status: Valid")
    expect(public.locator("dl.facts")).to_contain_text("TriajeIA")
    with public.expect_download() as download:
        public.get_by_role("link", name="Download the signed PDF").click()
    pdf = tmp_path / "certificado.pdf"
    download.value.save_as(pdf)

    # The downloaded file, uploaded on /verify, passes every check.
    _upload(public, live_server, pdf)
    expect(public.locator("li.check-passed")).to_have_count(4)
    expect(public.locator("li.check-failed")).to_have_count(0)
    expect(public.locator(".verdict")).to_contain_text("Genuine and in force")

    # Pages fit a phone and a desktop, in Spanish and in English.
    for reader in (page, public):
        for path in ("/verify", f"/verify/{number}"):
            reader.goto(live_server.url + path)
            for width in WIDTHS:
                _fits(reader, width)
    _upload(page, live_server, pdf)
    for width in WIDTHS:
        _fits(page, width)

    # The chair suspends it: the page says so at once, with the public reason.
    _suspend_urgently(live_server, number)
    public.goto(f"{live_server.url}/verify/{number}")
    public.reload()  # the page may be kept a minute by the browser; a reload asks again
    expect(public.locator(".certificate-status")).to_contain_text("Status: Suspended")
    expect(public.locator(".certificate-status")).to_contain_text(URGENT_REASON[1])
    _upload(public, live_server, pdf)
    expect(public.locator("li.check-failed")).to_have_count(1)
    expect(public.locator(".verdict")).to_contain_text("Genuine, but not in force")
