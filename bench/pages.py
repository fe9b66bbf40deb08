"""Page benchmark: the work lists and APIs at two sizes of data, in process.

One command:

    .venv/bin/python bench/pages.py                        # SQLite, N = 1,000 and 10,000
    .venv/bin/python bench/pages.py --database postgresql  # the same on PostgreSQL
    .venv/bin/python bench/pages.py --sizes 200 2000 --repeat 5

For each size it builds a fresh database with `council demo --scale N` (the demo plus N
applications, N consultation comments, N/10 closed ballots with resolutions, N/100 open ballots
and a 300-criterion guideline), then asks every page below as the person who uses it, through the
whole application (middleware, session, templates) in this process. Per page and size it prints
the median time, the SQL statements per request and the response size; then the growth exponent
of time and statements between the two sizes (0 = does not grow with the data, 1 = linear).
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import event, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.accounts import User, issue_api_token  # noqa: E402
from core.db import make_engine, make_sessionmaker, open_session, utcnow  # noqa: E402
from core.schema import upgrade_database  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.storage import FileStore  # noqa: E402
from council.app import create_app  # noqa: E402
from council.demo import DEMO_PASSWORD, seed_demo  # noqa: E402
from council.demo_scale import seed_scale  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BASE_URL = "http://testserver"
SECRETARIAT = "secretaria@ceia.gob.mx"
MEMBER = "presidencia@ceia.gob.mx"
LARGE_COMPANY = "empresa00000@escala.example.mx"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Probe:
    """One page or API asked at every size, and who asks it."""

    name: str
    path: str
    who: str | None  # an e-mail for a signed-in page, "token:<e-mail>" for the API, None: public


PROBES = [
    Probe("consultation page (N comments)", "/guidelines/etica-ia/1.1/consultation", None),
    Probe(
        "consultation page, one criterion",
        "/guidelines/etica-ia/1.1/consultation?target=TR-1",
        None,
    ),
    Probe("application queue (N applications)", "/applications", SECRETARIAT),
    Probe("ballots list (N/10 ballots)", "/council/ballots", MEMBER),
    Probe("large organisation's dashboard", "/organisation", LARGE_COMPANY),
    Probe("resolutions page (N/10)", "/council/resolutions", None),
    Probe("API applications, page 1", "/api/v1/applications", f"token:{SECRETARIAT}"),
    Probe("API comments, page 1", "/api/v1/guidelines/etica-ia/versions/1.1/comments", None),
    Probe("API resolutions, page 1", "/api/v1/council/resolutions", None),
    Probe("300-criterion version page", "/guidelines/escala-300/1.0", None),
    Probe("application queue, a status filter", "/applications?status=submitted", SECRETARIAT),
    Probe("organisations verification queue", "/organisations/verification", SECRETARIAT),
    Probe("users admin list (N/50)", "/admin/users", SECRETARIAT),
    Probe("API users, page 1", "/api/v1/users", f"token:{SECRETARIAT}"),
    Probe("API organisations, page 1", "/api/v1/organisations", f"token:{SECRETARIAT}"),
]


@dataclass
class Figure:
    """What one probe measured at one size."""

    median_ms: float
    statements: int
    size: int
    status: int


@contextmanager
def database(kind: str, scale: int, workdir: Path) -> Iterator[str]:
    """A fresh, empty database for one size; dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'bench-{scale}.db'}"
        return
    name = f"bench_pages_{scale}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def seed(url: str, scale: int, store: FileStore) -> dict[str, str]:
    """The demo at this scale; returns an API token per person the probes call the API as."""
    upgrade_database(url)
    engine = make_engine(url)
    started = time.perf_counter()
    with open_session(make_sessionmaker(engine), writes=True) as session:
        now = utcnow()
        seed_demo(session, store=store, base_url=BASE_URL, now=now)
        seed_scale(session, scale=scale, now=now)
        tokens = {}
        for probe in PROBES:
            if probe.who and probe.who.startswith("token:"):
                email = probe.who.removeprefix("token:")
                user = session.scalar(select(User).where(User.email == email))
                assert user is not None
                tokens[email] = issue_api_token(session, user=user, name="bench", now=now)[1]
        session.commit()
    engine.dispose()
    print(f"  seeded N = {scale:,} in {time.perf_counter() - started:.0f} s", flush=True)
    return tokens


def sign_in(client: TestClient, email: str) -> None:
    """Sign in through the form, as a person would."""
    page = client.get("/signin")
    token = CSRF.search(page.text)
    assert token is not None
    answer = client.post(
        "/signin",
        data={"email": email, "password": DEMO_PASSWORD, "next": "/", "csrf_token": token[1]},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]


def measure(url: str, workdir: Path, tokens: dict[str, str], repeat: int) -> dict[str, Figure]:
    """Every probe against one seeded database."""
    settings = Settings(
        database_url=url,
        var_dir=workdir,
        storage_dir=workdir / "files",
        base_url=BASE_URL,
        secret_key="bench-secret-key-not-for-production-use-0123456789",
    )
    app = create_app(settings)
    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    event.listen(app.state.engine, "before_cursor_execute", count)
    clients: dict[str | None, TestClient] = {}
    figures = {}
    for probe in PROBES:
        key = probe.who if probe.who and not probe.who.startswith("token:") else None
        if key not in clients:
            clients[key] = TestClient(app, base_url=BASE_URL)
            if key:
                sign_in(clients[key], key)
        client = clients[key]
        headers = {}
        if probe.who and probe.who.startswith("token:"):
            headers["Authorization"] = f"Bearer {tokens[probe.who.removeprefix('token:')]}"
        client.get(probe.path, headers=headers)  # warm: templates compiled, caches filled
        times = []
        for _ in range(repeat):
            statements[0] = 0
            started = time.perf_counter()
            answer = client.get(probe.path, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
        figures[probe.name] = Figure(
            statistics.median(times), statements[0], len(answer.content), answer.status_code
        )
    for client in clients.values():
        client.close()
    app.state.engine.dispose()
    return figures


def exponent(small: float, large: float, ratio: float) -> float:
    """How a figure grows with the data: log(large/small) / log(size ratio)."""
    if small <= 0 or large <= 0:
        return 0.0
    return math.log(large / small) / math.log(ratio)


def report(sizes: list[int], results: dict[int, dict[str, Figure]]) -> None:
    """The table: per probe and size, then the growth exponents."""
    small, large = sizes[0], sizes[-1]
    ratio = large / small
    head = f"{'page':<38}" + "".join(f"{f'N={n:,}':>28}" for n in sizes)
    print("\n" + head + f"{'time exp':>10}{'stmt exp':>10}")
    print(" " * 38 + "".join(f"{'ms':>10}{'stmts':>7}{'KB':>8}{'HTTP':>5}" for _ in sizes))
    for probe in PROBES:
        row = f"{probe.name:<38}"
        for n in sizes:
            f = results[n][probe.name]
            row += f"{f.median_ms:>10.1f}{f.statements:>7}{f.size / 1024:>8.0f}{f.status:>5}"
        a, b = results[small][probe.name], results[large][probe.name]
        row += f"{exponent(a.median_ms, b.median_ms, ratio):>10.2f}"
        row += f"{exponent(a.statements, b.statements, ratio):>10.2f}"
        print(row)
    print(
        "\ntargets (issue 10): every list under 50 ms at the larger size, statements constant "
        "(exponent 0), time exponent under 0.2"
    )


def main() -> None:
    """Seed each size, measure every probe, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 10000])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=7, help="requests per probe (median)")
    args = parser.parse_args()
    results: dict[int, dict[str, Figure]] = {}
    for scale in args.sizes:
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-pages-{scale}-"))
        try:
            with database(args.database, scale, workdir) as url:
                tokens = seed(url, scale, FileStore(workdir / "files"))
                results[scale] = measure(url, workdir, tokens, args.repeat)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    report(args.sizes, results)


if __name__ == "__main__":
    main()
