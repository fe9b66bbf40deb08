"""A live server on loopback with the demo data, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from core.db import make_engine, make_sessionmaker, utcnow
from core.settings import Settings
from council.app import create_app
from council.demo import seed_demo

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass(frozen=True)
class LiveServer:
    """A running instance of the service."""

    url: str
    settings: Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(fresh_database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The service with demo data, served by uvicorn in a background thread."""
    port = _free_port()
    settings = Settings(
        database_url=fresh_database_url,
        secret_key="browser-test-secret-key-long-enough",
        var_dir=tmp_path / "var",
        storage_dir=tmp_path / "storage",
        base_url=f"http://127.0.0.1:{port}",
        _env_file=None,
    )
    engine = make_engine(fresh_database_url)
    with make_sessionmaker(engine)() as session:
        seed_demo(session, now=utcnow())
        session.commit()
    engine.dispose()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    yield LiveServer(url=f"http://127.0.0.1:{port}", settings=settings)
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
