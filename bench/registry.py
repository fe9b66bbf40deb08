"""Registry benchmark: search at 100,000 certificates beside a bare ceiling and Datasette.

One command:

    .venv/bin/python bench/registry.py                 # SQLite, builds the data (minutes)
    .venv/bin/python bench/registry.py --reuse         # the data of the last run, if there
    .venv/bin/python bench/registry.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

It builds (or, with --reuse, takes from var/bench-registry/) the demo plus 100,000 generated
issued certificates (bench/registry_data.py, fixed seed), and a SQLite copy of their public
registry rows with an FTS5 table for the peer. Then it starts, each in its own process and with
one worker: `council serve`; a bare Starlette app whose one endpoint runs the same search
(`quality_marks.registry.search_registry`, so the same SQL) and answers json.dumps of it, the
ceiling; and Datasette (installed from PyPI into bench/.peer-venv on first use, never a project
dependency) serving the peer file with the same facets. The load comes from this process (a
Python asyncio generator on keep-alive HTTP/1.1 connections, 4 by default, each cycling through
the typical queries; its own CPU share is printed to show it is not the bottleneck). Requests to
the service carry a distinct `n` parameter so that no answer comes from the fast path's memory:
every request runs the search. Servers are loaded one at a time in alternating rounds, so a change
in the shared machine's load hits all alike; figures are medians over the rounds.

Targets (issue 13): typical search p95 <= 20 ms at 4 clients; worst case (a word in more than half
of the records) p95 <= 100 ms; JSON API >= 60% of the ceiling's throughput, the HTML page >= 50%;
the API >= 1.5x Datasette's; the CSV/JSON export of all records streams in constant memory (peak
RSS of the server while downloading it, when the service has the export).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import registry_data  # noqa: E402

from core.db import make_engine  # noqa: E402
from quality_marks.registry_models import RegistryEntry  # noqa: E402

WORK = REPO / "var" / "bench-registry"
PEER_VENV = REPO / "bench" / ".peer-venv"
PEER_PACKAGE = "datasette"
SECRET = "bench-secret-key-that-is-long-enough"
PEER_COLUMNS = [
    "certificate_id",
    "number",
    "status",
    "level",
    "sectors",
    "state",
    "guideline_version",
    "guideline_title_es",
    "issued_year",
    "issued_on",
    "valid_until",
    "organization_name",
    "product_name",
    "product_identifier",
    "search_text",
]
# How an answer says the search ran past its time limit (JSON; the page in either language).
TIMED_OUT = (
    b'"timed_out":true',
    b"The search took too long",
    "La búsqueda tardó demasiado".encode(),
)
PEER_FACETS = "&".join(
    [
        *(f"_facet={name}" for name in ("status", "level", "guideline_version", "state")),
        "_facet=issued_year",
        "_facet_array=sectors",
    ]
)

CEILING_APP = '''
"""The ceiling: one bare Starlette endpoint running the registry search's own SQL."""
import json
import os

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from core.db import make_engine, make_sessionmaker, open_session
from quality_marks.registry import registry_query, search_registry

Session = make_sessionmaker(make_engine(os.environ["DATABASE_URL"]))


# A plain function, as the service's routes are: Starlette runs it in its thread pool.
def registry(request):
    params = request.query_params
    query = registry_query(text=params.get("q", ""), page=int(params.get("page", "1")))
    # A reading session, as the service opens for a GET (no writer's lock).
    with open_session(Session, writes=False) as session:
        results = search_registry(session, query)
        body = {
            "items": [
                {
                    "number": hit.entry.number,
                    "status": hit.entry.status,
                    "level": hit.entry.level,
                    "product_name": hit.entry.product_name,
                    "product_identifier": hit.entry.product_identifier,
                    "organization_name": hit.entry.organization_name,
                    "sectors": hit.entry.sectors,
                    "state": hit.entry.state,
                    "guideline_slug": hit.entry.guideline_slug,
                    "guideline_version": hit.entry.guideline_version,
                    "guideline_title_es": hit.entry.guideline_title_es,
                    "guideline_title_en": hit.entry.guideline_title_en,
                    "issued_on": hit.entry.issued_on.isoformat(),
                    "valid_until": hit.entry.valid_until.isoformat(),
                    "url": "/verify/" + hit.entry.number,
                    "snippet": None if hit.snippet is None else str(hit.snippet),
                }
                for hit in results.items
            ],
            "total": results.total,
            "page": results.page,
            "facets": {
                name: [[f.value, f.count, f.selected] for f in values]
                for name, values in results.facets.items()
            },
        }
    return Response(json.dumps(body).encode(), media_type="application/json")


app = Starlette(routes=[Route("/api/v1/registry", registry)])
'''


@dataclass
class Result:
    """One load run against one server."""

    requests_per_second: float
    p50_ms: float
    p95_ms: float
    errors: int
    client_cpu: float


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(
    command: list[str], env: dict[str, str], cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=30) as response:
            if response.status < 500:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not start; see {log}")


def fetch(url: str) -> tuple[int, bytes]:
    """Status and body of one anonymous GET."""
    request = urllib.request.Request(url, headers={"Accept-Language": "es-MX"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# --- the load generator ----------------------------------------------------------------------

_RUNS = itertools.count()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length: int | None = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    body = b""
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += (await reader.readexactly(size + 2))[:-2]
            if size == 0:
                break
    elif length:
        body = await reader.readexactly(length)
    return status, body


async def _connection(
    base: str,
    paths: list[str],
    start: int,
    distinct: bool,
    until: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    parts = urllib.parse.urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    # Distinct across connections, runs and rounds: no request repeats an earlier address.
    run = next(_RUNS)
    sent = start
    try:
        while time.perf_counter() < until:
            path = paths[sent % len(paths)]
            if distinct:  # past the fast path's memory: every request runs the search
                path += f"&n={run}-{sent}"
            sent += len(paths) * 7 + 1
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept-Language: es-MX\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            writer.write(request)
            status, body = await _read_response(reader)
            latencies.append((time.perf_counter() - started) * 1000)
            # A search past its time limit answers fast and empty: a failure, not a result.
            if status >= 400 or any(marker in body for marker in TIMED_OUT):
                errors.append(status)
    finally:
        writer.close()


async def _load(
    base: str, paths: list[str], connections: int, seconds: float, distinct: bool
) -> Result:
    latencies: list[float] = []
    errors: list[int] = []
    started, cpu = time.perf_counter(), time.process_time()
    until = started + seconds
    await asyncio.gather(
        *(
            _connection(base, paths, index, distinct, until, latencies, errors)
            for index in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(share: float) -> float:
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))] if latencies else 0

    return Result(
        len(latencies) / elapsed,
        pct(0.50),
        pct(0.95),
        len(errors),
        (time.process_time() - cpu) / elapsed,
    )


def load(
    base: str, paths: list[str], connections: int, seconds: float, *, distinct: bool = False
) -> Result:
    """Keep-alive HTTP/1.1 on `connections` connections for a fixed time, cycling the paths."""
    return asyncio.run(_load(base, paths, connections, seconds, distinct))


# --- data ------------------------------------------------------------------------------------


def _env(database_url: str, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "VAR_DIR": str(WORK / "var"),
        "STORAGE_DIR": str(WORK / "storage"),
        "BASE_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("TEST_DATABASE_URL", None)
    return env


def _council(*args: str) -> list[str]:
    return [sys.executable, "-c", "from council.cli import app; app()", *args]


def _entries(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(RegistryEntry)) or 0)
    except Exception:
        return 0
    finally:
        engine.dispose()


def _postgres_database(server_url: str, count: int, reuse: bool) -> str:
    """A database of its own on the server for the benchmark (made anew unless reused)."""
    url = make_url(server_url).set(drivername="postgresql+psycopg", database="")
    name = f"council_bench_registry_{count}"
    target = url.set(database=name).render_as_string(hide_password=False)
    if reuse and _entries(target) >= count:
        return target
    admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return target


def prepare_data(database_url: str | None, count: int, reuse: bool) -> tuple[str, float]:
    """The service's database with the demo and `count` generated certificates, and how many
    seconds building it took (0 when reused)."""
    WORK.mkdir(parents=True, exist_ok=True)
    if database_url is None:
        path = WORK / f"registry-{count}.db"
        url = f"sqlite:///{path}"
        if reuse and _entries(url) >= count:
            return url, 0.0
        for stale in WORK.glob(f"registry-{count}.db*"):
            stale.unlink()
    else:
        url = _postgres_database(database_url, count, reuse)
        if reuse and _entries(url) >= count:
            return url, 0.0
    started = time.perf_counter()
    shutil.rmtree(WORK / "storage", ignore_errors=True)
    subprocess.run(
        _council("demo", "--no-serve"), env=_env(url, 8000), cwd=WORK, check=True, stdout=-3
    )
    registry_data.build(url, count=count, today=dt.date.today())
    return url, time.perf_counter() - started


def prepare_peer(url: str, count: int, reuse: bool) -> Path:
    """A SQLite file with the same public rows and an FTS5 table, for Datasette."""
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    path = WORK / f"peer-{backend}-{count}.db"
    if reuse and path.exists():
        return path
    path.unlink(missing_ok=True)
    peer = sqlite3.connect(path)
    peer.execute(
        "CREATE TABLE registry (certificate_id INTEGER PRIMARY KEY, "
        + ", ".join(f"{column} TEXT" for column in PEER_COLUMNS[1:])
        + ")"
    )
    engine = make_engine(url)
    columns = ", ".join(PEER_COLUMNS)
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {columns} FROM registry_entries ORDER BY certificate_id"))
        placeholders = ", ".join("?" for _ in PEER_COLUMNS)
        while chunk := rows.fetchmany(5000):
            peer.executemany(
                f"INSERT INTO registry VALUES ({placeholders})",
                [
                    tuple(
                        json.dumps(value, ensure_ascii=False)
                        if isinstance(value, list)
                        else str(value)
                        if isinstance(value, dt.date)
                        else value
                        for value in row
                    )
                    for row in chunk
                ],
            )
    engine.dispose()
    # The same tokenizer as the service's index: accents folded, words as written.
    peer.execute(
        'CREATE VIRTUAL TABLE registry_fts USING fts5(search_text, content="registry", '
        "content_rowid='certificate_id', tokenize='unicode61 remove_diacritics 2')"
    )
    peer.execute("INSERT INTO registry_fts(registry_fts) VALUES ('rebuild')")
    for column in ("status", "level", "guideline_version", "state", "issued_year"):
        peer.execute(f"CREATE INDEX ix_registry_{column} ON registry ({column})")
    peer.commit()
    peer.close()
    return path


def peer_datasette() -> Path:
    """Datasette in the benchmark's own virtualenv, installed from PyPI on first use."""
    datasette = PEER_VENV / "bin" / "datasette"
    if not datasette.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(PEER_VENV / "bin" / "pip"), "install", "-q", PEER_PACKAGE],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return datasette


# --- memory of a streamed export ------------------------------------------------------------


def _rss_mib(pid: int) -> float:
    """Anonymous resident memory (the heap: RssAnon) of a process and its children (a server's
    workers), in MiB. Pages of the database file that SQLite reads through its memory map are
    resident too, but they are the kernel's page cache, shared and given back under pressure:
    counting them (VmRSS) would report reading a 1.8 GB file as a leak."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(child) for child in children]
    for one in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    total += int(line.split()[1])
    return total / 1024


def export_memory(base: str, path: str, pid: int) -> tuple[float, float, int, float] | None:
    """(RSS before, peak RSS during, bytes, seconds) of one download, or None if not served."""
    try:
        with urllib.request.urlopen(base + path, timeout=120) as response:
            pass  # only whether it is served: closed before the body is read
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise
    before = _rss_mib(pid)
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_mib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    size = 0
    with urllib.request.urlopen(base + path, timeout=600) as response:
        while chunk := response.read(1 << 16):
            size += len(chunk)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return before, peak, size, seconds


# --- the run ---------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _median(results: list[Result], name: str) -> float:
    return float(statistics.median(getattr(result, name) for result in results))


def _quoted(query: str) -> str:
    return urllib.parse.quote(query)


def _show_totals(
    base: str,
    peer_base: str,
    api_paths: list[str],
    peer_paths: list[str],
    worst_path: str,
    entries: int,
) -> float:
    """Print what each query finds on the service and the peer; the worst case's share."""
    typical = registry_data.TYPICAL_QUERIES
    # What each query finds, so the reader sees that the peer answers the same question.
    print(f"{'query':<26} {'service':>8} {'peer':>8}")
    for query, api_path, peer_path in zip(typical, api_paths, peer_paths, strict=True):
        status, body = fetch(base + api_path)
        found = json.loads(body)["total"] if status == 200 else f"HTTP {status}"
        peer_status, peer_body = fetch(peer_base + peer_path)
        peer_found = (
            json.loads(peer_body).get("filtered_table_rows_count")
            if peer_status == 200
            else f"HTTP {peer_status}"
        )
        print(f"{query:<26} {found:>8} {peer_found!s:>8}")
    status, body = fetch(base + worst_path)
    if json.loads(body)["timed_out"]:  # a cold page cache: the second asking is the real one
        status, body = fetch(base + worst_path)
    worst_total = int(json.loads(body)["total"])
    share = worst_total / max(entries, 1)
    print(f"worst case: '{registry_data.COMMON_WORD}' is in {worst_total} ({share:.0%})")
    return share


def main() -> None:
    """Build or reuse the data, start the three servers, load them and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="certificates generated")
    parser.add_argument("--reuse", action="store_true", help="keep the data of the last run")
    parser.add_argument("--database-url", help="PostgreSQL server (default: a SQLite file)")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of one load run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per server")
    parser.add_argument("--clients", type=int, default=4, help="concurrent connections")
    args = parser.parse_args()

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    url, build_seconds = prepare_data(args.database_url, args.count, args.reuse)
    entries = _entries(url)
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    built = f"built in {build_seconds:.0f} s" if build_seconds else "reused"
    print(f"data: {entries} registry entries on {backend} ({built})")
    started = time.perf_counter()
    peer_file = prepare_peer(url, args.count, args.reuse)
    print(f"peer file: {peer_file.name} ({time.perf_counter() - started:.0f} s)")
    datasette = peer_datasette()

    port, ceiling_port, peer_port = _free_port(), _free_port(), _free_port()
    logs = WORK / "logs"
    logs.mkdir(exist_ok=True)
    env = _env(url, port)
    (WORK / "ceiling.py").write_text(CEILING_APP)
    servers: list[subprocess.Popen[bytes]] = []
    try:
        service = _start(
            _council("serve", "--port", str(port), "--workers", "1"),
            env,
            WORK,
            logs / "serve.log",
        )
        servers.append(service)
        ceiling = _start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "ceiling:app",
                "--port",
                str(ceiling_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            {**env, "PYTHONPATH": f"{WORK}:{REPO}"},
            WORK,
            logs / "ceiling.log",
        )
        servers.append(ceiling)
        peer = _start(
            [
                str(datasette),
                "serve",
                "--immutable",
                str(peer_file),
                "--port",
                str(peer_port),
                "--setting",
                "sql_time_limit_ms",
                "2000",
                "--setting",
                "facet_time_limit_ms",
                "2000",
                "--setting",
                "suggest_facets",
                "off",
            ],
            {k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
            WORK,
            logs / "peer.log",
        )
        servers.append(peer)
        base = f"http://127.0.0.1:{port}"
        ceiling_base = f"http://127.0.0.1:{ceiling_port}"
        peer_base = f"http://127.0.0.1:{peer_port}"
        _wait_until_up(base + "/healthz", service, logs / "serve.log")
        _wait_until_up(ceiling_base + "/api/v1/registry?q=x", ceiling, logs / "ceiling.log")
        _wait_until_up(peer_base + "/-/versions.json", peer, logs / "peer.log")
        database = peer_file.stem

        typical = registry_data.TYPICAL_QUERIES
        api_paths = [f"/api/v1/registry?q={_quoted(q)}" for q in typical]
        html_paths = [f"/registry?q={_quoted(q)}" for q in typical]
        peer_paths = [
            f"/{database}/registry.json?_search={_quoted(q)}&_size=20&_shape=objects&{PEER_FACETS}"
            for q in typical
        ]
        worst_paths = [f"/api/v1/registry?q={registry_data.COMMON_WORD}"]

        share = _show_totals(base, peer_base, api_paths, peer_paths, worst_paths[0], entries)

        # Warm-up: templates, caches, the page cache of the databases.
        for address, paths, distinct in (
            (base, api_paths, True),
            (base, html_paths, True),
            (ceiling_base, api_paths, False),
            (peer_base, peer_paths, False),
        ):
            load(address, paths, args.clients, 1.5, distinct=distinct)

        runs: dict[str, list[Result]] = {
            name: [] for name in ("api", "html", "ceiling", "peer", "worst")
        }
        for _round in range(args.rounds):
            runs["api"].append(load(base, api_paths, args.clients, args.seconds, distinct=True))
            runs["ceiling"].append(load(ceiling_base, api_paths, args.clients, args.seconds))
            runs["html"].append(load(base, html_paths, args.clients, args.seconds, distinct=True))
            runs["peer"].append(load(peer_base, peer_paths, args.clients, args.seconds))
            runs["worst"].append(load(base, worst_paths, args.clients, args.seconds, distinct=True))

        print()
        print(
            f"Python asyncio load, {args.clients} keep-alive connections, {args.rounds} rounds of"
            f" {args.seconds:g} s per server, alternating; one worker per server; {backend};"
            f" medians of the rounds; load average now"
            f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        header = f"{'server':<40} {'r/s':>7} {'p50':>8} {'p95':>8} {'errors':>6} {'client CPU':>10}"
        print(header)
        print("-" * len(header))
        names = {
            "api": "service JSON /api/v1/registry",
            "html": "service HTML /registry",
            "ceiling": "ceiling (bare Starlette, same SQL)",
            "peer": "peer (Datasette, FTS5, same facets)",
            "worst": f"service JSON, worst case q={registry_data.COMMON_WORD}",
        }
        for name, label in names.items():
            results = runs[name]
            print(
                f"{label:<40} {_median(results, 'requests_per_second'):>7.1f}"
                f" {_median(results, 'p50_ms'):>6.1f}ms {_median(results, 'p95_ms'):>6.1f}ms"
                f" {sum(r.errors for r in results):>6} {_median(results, 'client_cpu'):>9.0%}"
            )

        def ratio(mine: str, other: str) -> float:
            return statistics.median(
                m.requests_per_second / o.requests_per_second
                for m, o in zip(runs[mine], runs[other], strict=True)
            )

        typical_p95 = _median(runs["api"], "p95_ms")
        worst_p95 = _median(runs["worst"], "p95_ms")
        checks = [
            ("typical search p95 (JSON)", f"{typical_p95:.1f} ms", "<= 20 ms", typical_p95 <= 20),
            (
                f"worst case p95 ({share:.0%} of records)",
                f"{worst_p95:.1f} ms",
                "<= 100 ms",
                worst_p95 <= 100 and share > 0.5,
            ),
            ("JSON API / ceiling", f"{ratio('api', 'ceiling'):.0%}", ">= 60%", None),
            ("HTML page / ceiling", f"{ratio('html', 'ceiling'):.0%}", ">= 50%", None),
            ("JSON API / Datasette", f"{ratio('api', 'peer'):.2f}x", ">= 1.5x", None),
        ]
        verdicts = {
            "JSON API / ceiling": ratio("api", "ceiling") >= 0.60,
            "HTML page / ceiling": ratio("html", "ceiling") >= 0.50,
            "JSON API / Datasette": ratio("api", "peer") >= 1.5,
        }
        print()
        print(f"{'figure':<36} {'measured':>10} {'target':>10}")
        for label, measured, target, ok in checks:
            passed = verdicts[label] if ok is None else ok
            print(f"{label:<36} {measured:>10} {target:>10}  {_verdict(passed)}")

        for path in ("/registry/data/certificates.csv", "/registry/data/certificates.json"):
            memory = export_memory(base, path, service.pid)
            if memory is None:
                print(f"{'export ' + path:<36} {'not served by this branch':>21}  NOT MEASURED")
                continue
            before, peak, size, seconds = memory
            growth = peak - before
            print(
                f"{'export ' + path:<36} {growth:>7.1f} MiB growth (RSS {before:.0f} -> "
                f"{peak:.0f} MiB, {size / 1e6:.1f} MB in {seconds:.1f} s)"
                f"  {_verdict(growth < 64)} (target: constant, < 64 MiB growth)"
            )
    finally:
        for server in servers:
            _stop(server)


if __name__ == "__main__":
    main()
