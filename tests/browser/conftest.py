"""A live server on loopback with the demo data, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy.orm import Session

from core.auth import now_utc
from core.db import make_engine, make_sessionmaker, utcnow
from core.settings import Settings
from core.signing import CouncilKeys
from core.storage import FileStore
from council.app import create_app
from council.demo import DEMO_PASSWORD, seed_demo
from council.demo_certificates import certify_demo

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Clock:
    """The live server's clock, which a journey may move forward (a consultation closing...)."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.now += dt.timedelta(**delta)


@dataclass(frozen=True)
class LiveServer:
    """A running instance of the service."""

    url: str
    settings: Settings
    clock: Clock

    def session(self) -> Session:
        """A session on the server's database, to read what a person would find in their mail."""
        return make_sessionmaker(make_engine(self.settings.database_url))()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(
    fresh_database_url: str, tmp_path: Path, council_keys: CouncilKeys
) -> Iterator[LiveServer]:
    """The service with demo data and the council's keys, served by uvicorn in a thread."""
    port = _free_port()
    settings = Settings(
        database_url=fresh_database_url,
        secret_key="browser-test-secret-key-long-enough",
        var_dir=tmp_path / "var",
        storage_dir=tmp_path / "storage",
        keys_dir=council_keys.directory,
        base_url=f"http://127.0.0.1:{port}",
        _env_file=None,
    )
    engine = make_engine(fresh_database_url)
    with make_sessionmaker(engine)() as session:
        seed_demo(
            session,
            store=FileStore(settings.storage_dir),
            base_url=settings.base_url,
            now=utcnow(),
        )
        session.commit()
    # Signing runs an event loop of its own; Playwright's may already run in this thread.
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(
            certify_demo,
            make_sessionmaker(engine),
            keys=council_keys,
            store=FileStore(settings.storage_dir),
            base_url=settings.base_url,
            prefix=settings.certificate_prefix,
            now=utcnow(),
        ).result()
    engine.dispose()
    clock = Clock(utcnow())
    app = create_app(settings)
    app.dependency_overrides[now_utc] = clock
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    yield LiveServer(url=f"http://127.0.0.1:{port}", settings=settings, clock=clock)
    server.should_exit = True
    thread.join(timeout=10)
    app.state.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium; its absence fails the run rather than skipping the journeys."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: run `bash bin/install` with WITH_BROWSER=1")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) with a Spanish-speaking browser."""
    context = browser.new_context(locale="es-MX")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def english_pages(browser: Browser) -> Iterator[Callable[[], Page]]:
    """Separate English-speaking browsers, one per person in a journey."""
    contexts: list[BrowserContext] = []

    def open_page() -> Page:
        context = browser.new_context(locale="en-US")
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page: Page, server: LiveServer, email: str) -> None:
    """Sign in through the form with the demo password."""
    page.goto(server.url + "/signin")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form[action='/signin'] button[type=submit]").click()
    page.wait_for_url(server.url + "/dashboard")  # sign-in lands on the dashboard
