"""A live server in a thread, for tests that need real connections and real concurrency."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn

from core.settings import Settings


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_server(server: uvicorn.Server) -> threading.Thread:
    """Start uvicorn in a thread and wait until it accepts connections."""
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    return thread


def server_settings(database_url: str, tmp_path: Path, port: int) -> Settings:
    """Settings of a live server on its own state directory."""
    return Settings(
        database_url=database_url,
        secret_key="concurrency-test-secret-key-long-enough",
        var_dir=tmp_path / "var",
        storage_dir=tmp_path / "storage",
        base_url=f"http://127.0.0.1:{port}",
        _env_file=None,
    )
