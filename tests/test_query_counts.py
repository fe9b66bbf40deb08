"""Every work list asks the database the same number of questions whatever the amount of work.

Two databases are filled by the scaled demo (`council demo --scale N`) at two sizes; each list
page and list API is asked by the person who uses it, and the SQL statements of one request are
counted. A page that queries once per row (a tally per ballot, a checklist per draft) asks more
of the larger database and fails here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from core.accounts import User, issue_api_token
from core.db import make_engine, make_sessionmaker, open_session
from core.settings import Settings
from core.storage import FileStore
from council.app import create_app
from council.demo import DEMO_PASSWORD, seed_demo
from council.demo_scale import seed_scale
from quality_marks.models import Application, OrganizationMember
from tests.conftest import TEST_SECRET, create_database, drop_database
from tests.factories import NOW, sign_in_as

# Past one page of applications at the larger size; one and two open ballots.
SIZES = (50, 250)
SECRETARIAT = "secretaria@ceia.gob.mx"
MEMBER = "presidencia@ceia.gob.mx"
LARGE_COMPANY = "empresa00000@escala.example.mx"


@dataclass(frozen=True)
class Probe:
    """A list asked by one person; `{organisation}` and `{product}` name the large company's."""

    path: str
    who: str | None  # an e-mail signs in; "token:<e-mail>" calls the API; None: anonymous


PROBES = [
    Probe("/applications", SECRETARIAT),
    Probe("/applications?status=submitted", SECRETARIAT),
    Probe("/applications?page=2", SECRETARIAT),
    Probe("/council/ballots", MEMBER),
    # One page, three people (the fragment, never sent, keeps their measures apart).
    Probe("/dashboard#secretariat", SECRETARIAT),
    Probe("/dashboard#member", MEMBER),
    Probe("/dashboard#company", LARGE_COMPANY),
    Probe("/council/resolutions", None),
    Probe("/organisations/{organisation}", LARGE_COMPANY),
    Probe("/products/{product}", LARGE_COMPANY),
    Probe("/organisations/verification", SECRETARIAT),
    Probe("/admin/users", SECRETARIAT),
    Probe("/admin/outbox", SECRETARIAT),
    Probe("/admin/outbox?status=pending&q=ceia", SECRETARIAT),
    Probe("/api/v1/applications", f"token:{SECRETARIAT}"),
    Probe("/api/v1/council/resolutions", None),
    Probe("/api/v1/users", f"token:{SECRETARIAT}"),
    Probe("/api/v1/organisations", f"token:{SECRETARIAT}"),
    Probe("/api/v1/organisations/{organisation}/products", f"token:{LARGE_COMPANY}"),
    # The work lists searched and filtered (issue 14).
    Probe("/applications?q=escala&status=draft&waiting=7", SECRETARIAT),
    Probe("/council/ballots?q=etica&status=closed", MEMBER),
    Probe("/organisations?q=escala&verification=verified", SECRETARIAT),
    Probe("/admin/users?q=empresa&role=applicant", SECRETARIAT),
    Probe("/guidelines/etica-ia/1.1/consultation/dispositions?state=awaiting", SECRETARIAT),
    Probe("/api/v1/applications?q=escala", f"token:{SECRETARIAT}"),
]


@dataclass(frozen=True)
class Measured:
    """Per probe path: statements in one request, the answer's status and body."""

    statements: dict[str, int]
    status: dict[str, int]
    bodies: dict[str, str]


def _seed(url: str, scale: int, store: FileStore) -> tuple[dict[str, str], dict[str, int]]:
    """The demo at one scale; the API tokens and the large company's organisation and product."""
    engine = make_engine(url)
    with open_session(make_sessionmaker(engine), writes=True) as session:
        seed_demo(session, store=store, base_url="http://testserver", now=NOW)
        seed_scale(session, scale=scale, now=NOW)
        tokens = {}
        for email in (SECRETARIAT, LARGE_COMPANY):
            user = session.scalar(select(User).where(User.email == email))
            assert user is not None
            tokens[email] = issue_api_token(session, user=user, name="counts", now=NOW)[1]
        organisation = session.scalar(
            select(OrganizationMember.organization_id)
            .join(User, User.id == OrganizationMember.user_id)
            .where(User.email == LARGE_COMPANY)
        )
        assert organisation is not None
        product = session.scalar(
            select(Application.product_id)
            .where(Application.organization_id == organisation)
            .group_by(Application.product_id)
            .order_by(func.count().desc(), Application.product_id)
        )
        assert product is not None
        session.commit()
    engine.dispose()
    return tokens, {"organisation": organisation, "product": product}


def _measure(url: str, workdir: Path, scale: int) -> Measured:
    tokens, ids = _seed(url, scale, FileStore(workdir / "files"))
    settings = Settings(
        database_url=url,
        secret_key=TEST_SECRET,
        var_dir=workdir / "var",
        storage_dir=workdir / "files",
        base_url="http://testserver",
        _env_file=None,
    )
    app = create_app(settings)
    counted = [0]

    def count(*_args: Any) -> None:
        counted[0] += 1

    event.listen(app.state.engine, "before_cursor_execute", count)
    clients: dict[str | None, TestClient] = {}
    statements, status, bodies = {}, {}, {}
    try:
        for probe in PROBES:
            signed_in = probe.who if probe.who and not probe.who.startswith("token:") else None
            if signed_in not in clients:
                clients[signed_in] = TestClient(
                    app, base_url="http://testserver", follow_redirects=False
                )
                if signed_in:
                    with open_session(make_sessionmaker(app.state.engine), writes=False) as session:
                        person = session.scalar(select(User).where(User.email == signed_in))
                    assert person is not None
                    sign_in_as(clients[signed_in], person, DEMO_PASSWORD)
            headers = {}
            if probe.who and probe.who.startswith("token:"):
                headers["Authorization"] = f"Bearer {tokens[probe.who.removeprefix('token:')]}"
            path = probe.path.format(**ids)
            # The first request warms what is done once (a token's last use, a session's touch).
            clients[signed_in].get(path, headers=headers)
            counted[0] = 0
            answer = clients[signed_in].get(path, headers=headers, follow_redirects=False)
            statements[probe.path] = counted[0]
            status[probe.path] = answer.status_code
            bodies[probe.path] = answer.text
    finally:
        for client in clients.values():
            client.close()
        app.state.engine.dispose()
    return Measured(statements, status, bodies)


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Measured]:
    """Every probe measured on a database of each size."""
    results = {}
    for scale in SIZES:
        workdir = tmp_path_factory.mktemp(f"counts-{scale}")
        url = create_database(f"ceia_counts_{scale}_{os.getpid()}", workdir)
        try:
            results[scale] = _measure(url, workdir, scale)
        finally:
            drop_database(url)
    return results


@pytest.mark.parametrize("probe", PROBES, ids=[p.path for p in PROBES])
def test_a_list_asks_as_many_questions_for_more_work(
    measured: dict[int, Measured], probe: Probe
) -> None:
    small, large = (measured[size] for size in SIZES)
    assert small.status[probe.path] == large.status[probe.path] == 200
    assert small.statements[probe.path] == large.statements[probe.path], (
        f"{probe.path}: {small.statements[probe.path]} statements at N = {SIZES[0]}, "
        f"{large.statements[probe.path]} at N = {SIZES[1]}"
    )


def test_the_larger_lists_are_cut_into_pages(measured: dict[int, Measured]) -> None:
    large = measured[SIZES[1]]
    assert 'rel="next"' in large.bodies["/applications"]
    assert 'rel="prev"' in large.bodies["/applications?page=2"]
    assert "Más de" not in large.bodies["/applications"]  # 250 is below the counting cap
