"""Load and fault benchmark: mixed traffic against `council serve` on the demo, then integrity.

One command:

    .venv/bin/python bench/load.py                      # SQLite 1 and 2 workers, PostgreSQL 4
    .venv/bin/python bench/load.py --setup pg4 --outage # PostgreSQL stopped in the middle

Sixteen clients send, for a bounded time, 60% public pages, 30% answers saved through the API by
companies (each client owns one criterion of a draft application) and 10% secretariat pages.
Per request type it prints the count, errors by kind and p50/p95/p99; then the connections the
server dropped, and whether every answer reads back as its client's last acknowledged write.
With --outage the PostgreSQL cluster is stopped for a few seconds in the middle of the run
(`pg_ctlcluster`), and it prints what clients saw meanwhile and how long service took to resume.
--code runs another checkout of the service (for figures before a change); given twice, both
checkouts are served and loaded at once, so one outage serves to compare them:

    .venv/bin/python bench/load.py --setup pg4 --outage --code ../before --code .
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_CLUSTER = ["15", "main"]
DEMO_PASSWORD = "demo-ceia-2026"
SECRETARIAT = "secretaria@ceia.gob.mx"
COMPANIES = ["cumplimiento@datasalud.example.mx", "legal@finintel.example.mx"]
PUBLIC_PAGES = [
    "/",
    "/guidelines",
    "/council",
    "/council/resolutions",
    "/api/v1/guidelines",
    "/api/v1/council/resolutions",
]
SECRETARIAT_PAGES = ["/applications", "/admin/users", "/council/members", "/council/ballots"]
MIX = [("public", 0.6), ("api_write", 0.3), ("secretariat", 0.1)]
VALUES = ["meets", "partly_meets", "does_not_meet"]
SETUPS = {"sqlite1": ("sqlite", 1), "sqlite2": ("sqlite", 2), "pg4": ("postgresql", 4)}
# Shorter than uvicorn's keep-alive timeout (5 s): an idle connection is not reused after it.
IDLE_SECONDS = 4.0
CONNECTION_ERRORS = (ConnectionError, http.client.HTTPException, OSError)


@dataclass
class Outcome:
    """One request as a client saw it."""

    kind: str
    started: float
    seconds: float
    status: int | None  # None: the connection failed
    error: str = ""


@dataclass
class Server:
    """A running `council serve` and what clients need to use it."""

    url: str
    process: subprocess.Popen[bytes]
    database_url: str
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _python_env(code: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra, "PYTHONPATH": str(code)}
    env.pop("TEST_DATABASE_URL", None)
    return env


def _council(*args: str) -> list[str]:
    return [sys.executable, "-c", "from council.cli import app; app()", *args]


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-q", "-X", PG_ADMIN, "-c", sql], check=True, capture_output=True, text=True
    )


def _pg_database(name: str) -> str:
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _psql(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def start_server(code: Path, backend: str, workers: int, work: Path) -> Server:
    """Seed the demo into a new database and serve it with `council serve`."""
    port = _free_port()
    if backend == "sqlite":
        database_url = f"sqlite:///{work / 'council.db'}"
    else:
        database_url = _pg_database(f"ceia_bench_{os.getpid()}_{port}")
    env = _python_env(
        code,
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-secret-key-that-is-long-enough",
            "VAR_DIR": str(work / "var"),
            "STORAGE_DIR": str(work / "storage"),
            "BASE_URL": f"http://127.0.0.1:{port}",
        },
    )
    subprocess.run(
        _council("demo", "--no-serve"),
        env=env,
        cwd=work,
        check=True,
        capture_output=True,
    )
    tokens = json.loads(
        subprocess.run(
            [sys.executable, "-c", TOKEN_SCRIPT, *COMPANIES],
            env=env,
            cwd=work,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    log = (work / "server.log").open("wb")
    process = subprocess.Popen(
        _council("serve", "--port", str(port), "--workers", str(workers)),
        env=env,
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(f"http://127.0.0.1:{port}", process, database_url, env, tokens)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if _get_status(server.url + "/healthz") == 200:
                return server
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError("the server did not start; see " + str(work / "server.log"))


def stop_server(server: Server) -> None:
    """Stop the server's process group and drop a PostgreSQL bench database."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()
    if server.database_url.startswith("postgresql"):
        name = server.database_url.rsplit("/", 1)[1]
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


TOKEN_SCRIPT = """
import json, sys
from sqlalchemy import select
from core.accounts import User, issue_api_token
from core.db import make_engine, make_sessionmaker, utcnow
from core.settings import Settings
engine = make_engine(Settings().database_url)
tokens = {}
with make_sessionmaker(engine)() as session:
    for email in sys.argv[1:]:
        user = session.scalar(select(User).where(User.email == email))
        tokens[email] = issue_api_token(session, user=user, name="bench", now=utcnow())[1]
    session.commit()
print(json.dumps(tokens))
"""


def _get_status(url: str) -> int:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
    try:
        conn.request("GET", parts.path)
        return conn.getresponse().status
    finally:
        conn.close()


class Client:
    """One keep-alive HTTP connection that notices when the server drops it."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}
        self.dropped = 0
        self.last_used = 0.0

    def request(
        self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None
    ) -> tuple[int, bytes, http.client.HTTPResponse]:
        """Send one request on the kept connection (reconnecting, and counting, after a drop)."""
        if self.conn is not None and time.monotonic() - self.last_used > IDLE_SECONDS:
            self.conn.close()  # the server ends idle keep-alive connections; so do browsers
            self.conn = None
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=all_headers)
            response = self.conn.getresponse()
            data = response.read()
            self.last_used = time.monotonic()
        except CONNECTION_ERRORS:
            self.dropped += 1
            self.conn.close()
            self.conn = None
            raise
        for header in response.headers.get_all("set-cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.will_close:
            self.dropped += 1
            self.conn.close()
            self.conn = None
        return response.status, data, response


def sign_in(client: Client, email: str) -> None:
    """Sign in through the form, as a browser would."""
    _, page, _ = client.request("GET", "/signin", headers=None)
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on /signin"
    form = urllib.parse.urlencode(
        {"email": email, "password": DEMO_PASSWORD, "csrf_token": match.group(1).decode()}
    ).encode()
    status, _, _ = client.request(
        "POST",
        "/signin",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 303, f"sign-in of {email} answered {status}"


@dataclass
class Assignment:
    """The criterion of a draft application one client writes."""

    token: str
    application_id: int
    code: str
    last_acknowledged: str | None = None


def assignments(server: Server, clients: int) -> list[Assignment]:
    """Give each client its own criterion of the companies' draft applications."""
    slots: list[tuple[str, int, str]] = []
    for token in server.tokens.values():
        client = Client(server.url)
        auth = {"Authorization": f"Bearer {token}"}
        _, data, _ = client.request("GET", "/api/v1/applications?page_size=100", headers=auth)
        for item in json.loads(data)["items"]:
            if item["status"] != "draft":
                continue
            _, detail, _ = client.request("GET", f"/api/v1/applications/{item['id']}", headers=auth)
            slots += [(token, item["id"], c["code"]) for c in json.loads(detail)["checklist"]]
    if len(slots) < clients:
        raise RuntimeError(f"only {len(slots)} draft criteria for {clients} clients")
    random.Random(7).shuffle(slots)
    return [Assignment(*slot) for slot in slots[:clients]]


def _pick(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for kind, share in MIX:
        total += share
        if roll < total:
            return kind
    return MIX[-1][0]


def run_client(
    server: Server,
    index: int,
    mine: Assignment,
    staff: Client,
    until: float,
    outcomes: list[Outcome],
    dropped: Counter[str],
) -> None:
    """One client's loop until the deadline."""
    rng = random.Random(index)
    public, api = Client(server.url), Client(server.url)
    auth = {"Authorization": f"Bearer {mine.token}", "Content-Type": "application/json"}
    sequence = 0
    while time.monotonic() < until:
        kind = _pick(rng)
        started = time.monotonic()
        status: int | None = None
        error = ""
        try:
            if kind == "public":
                status, _, _ = public.request("GET", rng.choice(PUBLIC_PAGES), headers=None)
            elif kind == "secretariat":
                status, _, _ = staff.request("GET", rng.choice(SECRETARIAT_PAGES), headers=None)
            else:
                sequence += 1
                text = f"client {index} write {sequence}"
                body = json.dumps({"value": rng.choice(VALUES), "justification": text}).encode()
                status, _, _ = api.request(
                    "PUT",
                    f"/api/v1/applications/{mine.application_id}/answers/{mine.code}",
                    body=body,
                    headers=auth,
                )
                if status == 200:
                    mine.last_acknowledged = text
        except CONNECTION_ERRORS as exc:
            error = type(exc).__name__
        outcomes.append(Outcome(kind, started, time.monotonic() - started, status, error))
    dropped["public"] += public.dropped
    dropped["api_write"] += api.dropped
    dropped["secretariat"] += staff.dropped


def integrity(server: Server, mine: list[Assignment]) -> tuple[int, list[str]]:
    """Read every answer back; each must equal its client's last acknowledged write."""
    problems: list[str] = []
    checked = 0
    client = Client(server.url)
    for a in mine:
        if a.last_acknowledged is None:
            continue
        auth = {"Authorization": f"Bearer {a.token}"}
        _, data, _ = client.request("GET", f"/api/v1/applications/{a.application_id}", headers=auth)
        (item,) = [c for c in json.loads(data)["checklist"] if c["code"] == a.code]
        checked += 1
        if item["justification"] != a.last_acknowledged:
            problems.append(
                f"{a.code}: read {item['justification']!r}, wrote {a.last_acknowledged!r}"
            )
    return checked, problems


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def _kind_of_error(o: Outcome) -> str | None:
    if o.status is None:
        return f"connection:{o.error}"
    if o.status >= 400:
        return str(o.status)
    return None


def report(title: str, outcomes: list[Outcome], dropped: Counter[str], seconds: float) -> None:
    """Print the per-type table."""
    print(f"\n== {title}: {len(outcomes)} requests in {seconds:.0f} s")
    print(f"{'type':<12} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  errors")
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_kind[o.kind].append(o)
    for kind, _ in MIX:
        rows = by_kind.get(kind, [])
        if not rows:
            continue
        lat = [o.seconds for o in rows]
        errors = Counter(k for o in rows if (k := _kind_of_error(o)))
        shown = ", ".join(f"{k} x{n}" for k, n in errors.most_common()) or "none"
        print(
            f"{kind:<12} {len(rows):>6} {_percentile(lat, 0.5):>8.0f} "
            f"{_percentile(lat, 0.95):>8.0f} {_percentile(lat, 0.99):>8.0f}  {shown}"
        )
    fives = sum(1 for o in outcomes if o.status is not None and o.status >= 500)
    print(f"5xx: {fives}; connections dropped by the server: {sum(dropped.values())}")


@dataclass
class Outage:
    """When the database was stopped and started, and what probes answered meanwhile."""

    stopped: float = 0.0
    started: float = 0.0
    probes: list[tuple[str, float, str, int | None]] = field(default_factory=list)

    def probe(self, url: str, path: str) -> int | None:
        """Ask one probe of one server, and remember its answer."""
        try:
            status: int | None = _get_status(url + path)
        except OSError:
            status = None
        self.probes.append((url, time.monotonic(), path, status))
        return status


def _pg_ctl(action: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *PG_CLUSTER, action],
        check=True,
        capture_output=True,
    )


def cause_outage(
    servers: list[Server], at: float, seconds: float, outage: Outage, until: float
) -> None:
    """Stop PostgreSQL at `at` for `seconds`, probing /healthz and /readyz throughout."""
    while time.monotonic() < at:
        time.sleep(0.05)
    outage.stopped = time.monotonic()
    _pg_ctl("stop")
    try:
        while time.monotonic() < outage.stopped + seconds:
            for server in servers:
                outage.probe(server.url, "/healthz")
                outage.probe(server.url, "/readyz")
            time.sleep(0.5)
    finally:
        _pg_ctl("start")
        outage.started = time.monotonic()
    for server in servers:
        while time.monotonic() < until and outage.probe(server.url, "/readyz") != 200:
            time.sleep(0.1)


def outage_report(outcomes: list[Outcome], outage: Outage, url: str) -> None:
    """What clients saw while the database was down, and how long recovery took."""
    during = [o for o in outcomes if outage.stopped <= o.started <= outage.started]
    print(f"== PostgreSQL stopped for {outage.started - outage.stopped:.1f} s; clients saw:")
    seen = Counter(
        (o.kind, str(o.status) if o.status is not None else f"connection:{o.error}") for o in during
    )
    for (kind, what), n in sorted(seen.items()):
        print(f"  {kind:<12} {what:<28} {n}")
    probes = Counter(
        (path, status) for u, t, path, status in outage.probes if u == url and t <= outage.started
    )
    shown = ", ".join(f"{p} {s} x{n}" for (p, s), n in sorted(probes.items(), key=str))
    print(f"  probes during the outage: {shown}")
    ready = [t for u, t, path, s in outage.probes if u == url and t > outage.started and s == 200]
    if ready:
        print(f"  /readyz 200 again {ready[0] - outage.started:.2f} s after the restart")
    after = sorted(
        o.started + o.seconds
        for o in outcomes
        if o.kind != "public" and o.status == 200 and o.started >= outage.started
    )
    if after:
        print(f"  first database success {after[0] - outage.started:.2f} s after the restart")
    else:
        print("  no database success after the restart")


@dataclass
class Run:
    """One served checkout under load: its server, its clients' criteria and what they saw."""

    code: Path
    server: Server
    mine: list[Assignment]
    staff: list[Client]
    outcomes: list[Outcome] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)


def prepare(code: Path, backend: str, workers: int, work: Path, clients: int) -> Run:
    """Serve a checkout on fresh demo data and sign its secretariat clients in."""
    server = start_server(code, backend, workers, work)
    try:
        mine = assignments(server, clients)
        staff = [Client(server.url) for _ in range(clients)]
        for client in staff:  # before the clock: a sign-in costs a deliberately slow hash
            sign_in(client, SECRETARIAT)
            client.dropped = 0
    except BaseException:
        stop_server(server)
        raise
    return Run(code, server, mine, staff)


def run_setup(
    codes: list[Path], name: str, seconds: float, clients: int, outage_seconds: float
) -> bool:
    """Serve one setup of each checkout, load them at once, print figures; True when every run
    met the bar (no 5xx and no drops, or 503s only during an outage; answers read back)."""
    backend, workers = SETUPS[name]
    with contextlib.ExitStack() as stack:
        runs: list[Run] = []
        for code in codes:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ceia-bench-")))
            run = prepare(code, backend, workers, work, clients)
            stack.callback(stop_server, run.server)
            runs.append(run)
        begin = time.monotonic()
        until = begin + seconds
        threads = [
            threading.Thread(
                target=run_client,
                args=(run.server, i, run.mine[i], run.staff[i], until, run.outcomes, run.dropped),
            )
            for run in runs
            for i in range(clients)
        ]
        outage = Outage()
        servers = [run.server for run in runs]
        if outage_seconds:
            # One outage seen by every checkout at once: the cluster is shared with others.
            threads.append(
                threading.Thread(
                    target=cause_outage,
                    args=(servers, begin + seconds / 3, outage_seconds, outage, until),
                )
            )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ok = True
        for run in runs:
            title = f"{name} ({backend}, {workers} worker{'s' if workers > 1 else ''}), {run.code}"
            report(title, run.outcomes, run.dropped, time.monotonic() - begin)
            if outage_seconds:
                outage_report(run.outcomes, outage, run.server.url)
            checked, problems = integrity(run.server, run.mine)
            print(f"integrity: {checked} answers read back, {len(problems)} differ")
            for problem in problems[:5]:
                print("  " + problem)
            fives = [o for o in run.outcomes if o.status is not None and o.status >= 500]
            if outage_seconds:
                fives = [o for o in fives if o.status != 503]
            ok &= not problems and not fives and not run.dropped.total()
        return ok


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the chosen setups."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", choices=[*SETUPS, "all"], default="all")
    parser.add_argument("--seconds", type=float, default=20.0, help="Length of each run.")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--outage",
        type=float,
        nargs="?",
        const=5.0,
        default=0.0,
        help="Stop PostgreSQL this many seconds a third into the run (pg4 only; default 5).",
    )
    parser.add_argument(
        "--code",
        type=Path,
        action="append",
        help="Checkout of the service to run (repeat to load several at once; default this one).",
    )
    options = parser.parse_args(argv)
    codes = [c.resolve() for c in options.code or [REPO]]
    names = list(SETUPS) if options.setup == "all" else [options.setup]
    if options.outage and names != ["pg4"]:
        parser.error("--outage needs --setup pg4")
    ok = True
    for name in names:
        ok &= run_setup(codes, name, options.seconds, options.clients, options.outage)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
