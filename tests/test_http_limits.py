"""Request size limits and refusing uploads before their body is read (issue 8, item 8)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.accounts import Role
from tests.conftest import csrf_of
from tests.factories import make_user, sign_in_as

MiB = 1024 * 1024


@dataclass
class Exchange:
    """One request played straight against the ASGI application, counting what it read."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks_read: int = 0


def play(
    app: FastAPI,
    method: str,
    path: str,
    headers: dict[str, str],
    chunks: list[bytes],
    *,
    cookies: str = "",
) -> Exchange:
    """Send a request chunk by chunk (as a slow or hostile client would) and record the answer."""
    result = Exchange()
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if cookies:
        raw_headers.append((b"cookie", cookies.encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *raw_headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    pending = list(chunks)

    async def receive() -> dict[str, object]:
        if not pending:
            return {"type": "http.disconnect"}
        result.chunks_read += 1
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            result.status = int(message["status"])  # type: ignore[call-overload]
            raw = message["headers"]
            assert isinstance(raw, list)
            result.headers = {k.decode().lower(): v.decode() for k, v in raw}
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            assert isinstance(body, bytes)
            result.body += body

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    return result


MULTIPART = {"Content-Type": "multipart/form-data; boundary=xyz"}


def test_an_anonymous_upload_to_a_page_is_refused_before_its_body_is_read(app: FastAPI) -> None:
    answer = play(
        app,
        "POST",
        "/applications/1/checklist/TR",
        {**MULTIPART, "Content-Length": str(1024 * MiB)},
        [b"--xyz\r\n" + b"x" * 65536] * 4,
    )
    assert answer.status == 303
    assert answer.headers["location"].startswith("/signin?next=")
    assert answer.chunks_read == 0


def test_the_evidence_api_checks_the_token_before_reading_the_upload(app: FastAPI) -> None:
    answer = play(
        app,
        "POST",
        "/api/v1/applications/1/evidence",
        {**MULTIPART, "Content-Length": str(300 * MiB), "Authorization": "Bearer not-a-token"},
        [b"--xyz\r\n" + b"x" * 65536] * 4,
    )
    assert answer.status == 401
    assert answer.chunks_read == 0
    assert b'"error":"unauthenticated"' in answer.body


def test_a_declared_oversize_form_is_refused_unread_in_the_visitors_language(
    app: FastAPI,
) -> None:
    answer = play(
        app,
        "POST",
        "/signin",
        {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(2 * MiB)},
        [b"email=a%40b.mx&password=" + b"x" * 65536],
    )
    assert answer.status == 413
    assert answer.chunks_read == 0
    text = answer.body.decode()
    assert "La solicitud es demasiado grande" in text
    assert "1 MB" in text


def test_an_undeclared_oversize_body_is_counted_as_it_arrives(
    app: FastAPI, client: TestClient
) -> None:
    # A multipart body sent to a form that takes no files is held to the form cap (1 MiB), even
    # without a Content-Length; the comment form of the report is such a form.
    head = b'--xyz\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n\r\n'
    chunks = [head] + [b"x" * (256 * 1024)] * 16  # 4 MiB of file in all
    answer = play(app, "POST", "/guidelines/g/1.0/consultation/comments", MULTIPART, chunks)
    assert answer.status == 413
    assert answer.chunks_read <= 6


def test_an_oversize_json_body_gets_a_json_413(app: FastAPI, db: Session) -> None:
    answer = play(
        app,
        "POST",
        "/api/v1/guidelines",
        {"Content-Type": "application/json", "Content-Length": str(6 * MiB)},
        [b"{}"],
    )
    assert answer.status == 413
    assert answer.chunks_read == 0
    assert answer.body.startswith(b'{"error":"too_large","detail":"')


def test_a_json_body_under_its_cap_but_over_the_form_cap_is_read(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    staff = make_user(db, role=Role.secretariat)
    sign_in_as(client, staff)
    body = b'{"slug": "abc", "title_es": "' + b"x" * (2 * MiB) + b'"}'
    response = client.post(
        "/api/v1/guidelines",
        content=body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer nope"},
    )
    assert response.status_code == 401  # read and judged, not cut off as too large


def test_a_signed_in_upload_may_exceed_the_form_cap(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    staff = make_user(db, role=Role.secretariat)
    sign_in_as(client, staff)
    token = csrf_of(client, "/guidelines")
    response = client.post(
        "/guidelines/missing-guideline/import",
        data={"csrf_token": token},
        files={"document": ("v.json", b"{" + b" " * (2 * MiB) + b"}", "application/json")},
    )
    assert response.status_code == 404  # the guideline does not exist: the body was accepted
