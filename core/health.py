"""Readiness of an instance: whether its database and file store can serve requests now."""

from __future__ import annotations

import logging
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from core.storage import FileStore

logger = logging.getLogger("council.health")

probes = APIRouter(include_in_schema=False)


def database_ready(engine: Engine) -> bool:
    """Whether a new connection to the database answers a query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as error:
        logger.warning("readiness: database unavailable: %s", error)
        return False
    return True


def file_store_ready(store: FileStore) -> bool:
    """Whether the file store's directory takes a write and gives it back."""
    probe = store.root / f".ready-{secrets.token_hex(8)}"
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        ready = probe.read_bytes() == b"ok"
        probe.unlink()
    except OSError as error:
        logger.warning("readiness: file store unavailable: %s", error)
        return False
    return ready


@probes.get("/readyz")
def readiness(request: Request) -> JSONResponse:
    """Readiness probe for a load balancer: 503 while the database or the file store is out."""
    checks = {
        "database": database_ready(request.app.state.engine),
        "file_store": file_store_ready(request.app.state.file_store),
    }
    ready = all(checks.values())
    return JSONResponse(
        {
            "status": "ok" if ready else "unavailable",
            "checks": {name: "ok" if ok else "unavailable" for name, ok in checks.items()},
        },
        status_code=200 if ready else 503,
        headers=None if ready else {"Retry-After": "5"},
    )
