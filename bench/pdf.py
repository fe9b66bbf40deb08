"""PDF benchmark: the app's cost over a raw WeasyPrint render, and the stored PDF's.

One command:

    .venv/bin/python bench/pdf.py                 # SQLite, 7 rounds
    .venv/bin/python bench/pdf.py --repeat 21     # steadier on a busy machine

It seeds the demo in a fresh SQLite database and asks, through the whole application in this
process, for the PDF of a live document (draft 1.1 of etica-ia, in consultation: rendered on each
new revision) with its stored renders removed before each request, so every request renders. The
HTML the app handed to WeasyPrint is captured and rendered again by WeasyPrint alone
(`HTML(string=...).write_pdf(pdf_tags=True)`, with one font configuration kept as the app keeps
one), in pairs with the app's requests whose order alternates, so both see the same load; it
prints the ratio of the medians and the median and quartiles of the pairs' ratios. Then it asks
for the adopted version's PDF (1.0), stored after its first request.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import weasyprint
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from weasyprint.text.fonts import FontConfiguration

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import core.pdf  # noqa: E402
from core.db import make_engine, make_sessionmaker, open_session, utcnow  # noqa: E402
from core.schema import upgrade_database  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.storage import FileStore  # noqa: E402
from council.app import create_app  # noqa: E402
from council.demo import seed_demo  # noqa: E402

BASE_URL = "http://testserver"
LIVE = "/guidelines/etica-ia/1.1/pdf"
STORED = "/guidelines/etica-ia/1.0/pdf"


class RecordingHTML(weasyprint.HTML):  # type: ignore[misc]
    """WeasyPrint's HTML, remembering the last source the app rendered."""

    last_source = ""

    def __init__(self, *args: Any, string: str | None = None, **kwargs: Any) -> None:
        if string is not None:
            RecordingHTML.last_source = string
        super().__init__(*args, string=string, **kwargs)


def forget_stored(url: str) -> None:
    """Remove every stored render, so the next request renders again."""
    engine = make_engine(url)
    with engine.begin() as connection:
        if engine.dialect.has_table(connection, "rendered_documents"):
            connection.execute(text("DELETE FROM rendered_documents"))
    engine.dispose()


async def asgi_get(app: FastAPI, path: str) -> int:
    """One GET straight into the ASGI app (no test client thread); returns the body's size."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    size = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal size
        if message["type"] == "http.response.body":
            size += len(message.get("body", b""))

    await app(scope, receive, send)
    return size


async def asgi_times(app: FastAPI, path: str, repeat: int) -> list[float]:
    """Milliseconds per request of `repeat` GETs in one event loop, as a server would run them."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await asgi_get(app, path)
        times.append(ms(started))
    return times


def ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def main() -> None:
    """Seed the demo, measure, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-pdf-"))
    try:
        url = f"sqlite:///{workdir / 'bench.db'}"
        upgrade_database(url)
        engine = make_engine(url)
        with open_session(make_sessionmaker(engine), writes=True) as session:
            seed_demo(session, store=FileStore(workdir / "files"), base_url=BASE_URL, now=utcnow())
            session.commit()
        engine.dispose()
        settings = Settings(
            database_url=url,
            var_dir=workdir,
            storage_dir=workdir / "files",
            base_url=BASE_URL,
            secret_key="bench-secret-key-not-for-production-use-0123456789",
        )
        core.pdf.HTML = RecordingHTML  # type: ignore[attr-defined]
        app = create_app(settings)
        client = TestClient(app, base_url=BASE_URL)
        assert client.get(LIVE).status_code == 200  # warm: templates, fonts, CSS
        source = RecordingHTML.last_source
        # The raw render keeps one font configuration too, as the app does: otherwise it would
        # pay for loading the system fonts on every render and flatter the app.
        fonts = FontConfiguration()

        def raw_render() -> float:
            started = time.perf_counter()
            weasyprint.HTML(string=source).write_pdf(pdf_tags=True, font_config=fonts)
            return ms(started)

        def app_render() -> float:
            forget_stored(url)
            started = time.perf_counter()
            answer = client.get(LIVE)
            elapsed = ms(started)
            assert answer.content.startswith(b"%PDF"), answer.status_code
            return elapsed

        raw_render()
        app_times, raw_times = [], []
        for index in range(args.repeat):
            # Pairs in alternating order: whatever the first of a pair pays (a collection, a
            # cooler cache) is paid as often by each.
            if index % 2:
                raw_times.append(raw_render())
                app_times.append(app_render())
            else:
                app_times.append(app_render())
                raw_times.append(raw_render())
        answer = client.get(LIVE)
        ratios = sorted(a / r for a, r in zip(app_times, raw_times, strict=True))
        first = time.perf_counter()
        stored = client.get(STORED)
        first_ms = ms(first)
        stored_times = []
        for _ in range(max(args.repeat, 20)):
            started = time.perf_counter()
            again = client.get(STORED)
            stored_times.append(ms(started))
        assert again.content == stored.content
        in_process = asgi_times(app, STORED, max(args.repeat, 50))
        app_ms, raw_ms = statistics.median(app_times), statistics.median(raw_times)
        print(f"live PDF {LIVE} ({len(answer.content) / 1024:.0f} KB), median of {args.repeat}:")
        print(f"  app request   {app_ms:8.1f} ms")
        print(f"  raw WeasyPrint {raw_ms:7.1f} ms   (the same HTML, tagged)")
        print(f"  app / raw     {app_ms / raw_ms:8.2f}   (medians' ratio; target <= 1.15)")
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        pairs = len(ratios)
        print(
            f"  pair ratios   {statistics.median(ratios):8.2f}   (median of the {pairs} pairs;"
            f" quartiles {quartiles[0]:.2f}-{quartiles[2]:.2f})"
        )
        print(f"stored PDF {STORED} ({len(stored.content) / 1024:.0f} KB):")
        print(f"  first request {first_ms:8.1f} ms")
        print(
            f"  later, median {statistics.median(stored_times):8.2f} ms   (through the test client)"
        )
        print(
            f"  later, median {statistics.median(asyncio.run(in_process)):8.2f} ms   "
            "(ASGI in process; target < 5 ms)"
        )
        client.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
