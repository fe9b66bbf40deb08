"""Throughput benchmark: public pages of `council serve` beside a bare Starlette ceiling.

One command:

    .venv/bin/python bench/throughput.py                       # 3 rounds of 4 s per path
    .venv/bin/python bench/throughput.py --code /tmp/before    # another checkout (figures before)

It seeds the demo into a fresh SQLite database (`council demo`), starts `council serve` with one
worker, asks each path below once as an anonymous reader and starts, on another port, a bare
Starlette app (one uvicorn worker too) that answers each path with exactly the bytes and content
type the service answered. Both are then loaded in the same run, one path and one server at a time,
in alternating rounds (so a change in the load of a shared machine hits both alike), with wrk when
it is installed (otherwise a Python asyncio load generator: keep-alive HTTP/1.1, the same number
of connections, a fixed duration). It prints the median over the rounds of req/s, p50 and p99 for
both, and of the ratio service / ceiling, beside the issue's target (30% for pages, 50% for
cached immutable documents).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import pickle
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# (path, what it is, target share of the ceiling)
PATHS: list[tuple[str, str, float]] = [
    ("/", "home page", 0.30),
    ("/guidelines/etica-ia/1.0", "adopted guideline page", 0.50),
    ("/api/v1/guidelines/etica-ia/versions/1.0", "adopted guideline JSON", 0.50),
    ("/guidelines/etica-ia/1.0/pdf", "adopted guideline PDF", 0.50),
    ("/council/resolutions", "resolutions page", 0.30),
    ("/guidelines/etica-ia/1.1/consultation", "consultation page", 0.30),
]

CEILING_APP = """
import pickle
from pathlib import Path
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

ANSWERS = pickle.loads(Path(__file__).with_name("answers.pickle").read_bytes())

def endpoint(body, media_type, status):
    async def answer(request):
        return Response(body, status_code=status, media_type=media_type)
    return answer

app = Starlette(routes=[
    Route(path, endpoint(body, media_type, status)) for path, (status, media_type, body)
    in ANSWERS.items()
])
"""


@dataclass
class Result:
    """One load run against one server and path."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as response:
            if response.status < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not start; see {log}")


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


def fetch(url: str) -> tuple[int, str, bytes]:
    """Status, content type and body of one anonymous GET."""
    request = urllib.request.Request(url, headers={"Accept-Language": "es-MX"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read()


# --- wrk -------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def load_with_wrk(url: str, connections: int, seconds: float) -> Result:
    """Run wrk (one thread, `connections` keep-alive connections) and read its summary."""
    wrk = shutil.which("wrk")
    assert wrk is not None
    out = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "--timeout",
            "60s",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:.*", out)
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(0)))
    return Result(
        float(rps.group(1)) if rps else 0.0,
        _wrk_ms(p50.group(1)) if p50 else float("nan"),
        _wrk_ms(p99.group(1)) if p99 else float("nan"),
        errors,
    )


# --- Python load generator (when wrk is absent) ----------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> int:
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
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _connection(
    host: str, port: int, request: bytes, until: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append((time.perf_counter() - started) * 1000)
            if status >= 400:
                errors.append(status)
    finally:
        writer.close()


async def _python_load(url: str, connections: int, seconds: float) -> Result:
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"GET {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept-Language: es-MX\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(
        *(_connection(host, port, request, until, latencies, errors) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(share: float) -> float:
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))] if latencies else 0

    return Result(len(latencies) / elapsed, pct(0.50), pct(0.99), len(errors))


def load_with_python(url: str, connections: int, seconds: float) -> Result:
    """Keep-alive HTTP/1.1 on `connections` asyncio connections for a fixed duration."""
    return asyncio.run(_python_load(url, connections, seconds))


# --- the run ---------------------------------------------------------------------------------


def _env(code: Path, work: Path, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "DATABASE_URL": f"sqlite:///{work / 'council.db'}",
        "SECRET_KEY": "bench-secret-key-that-is-long-enough",
        "VAR_DIR": str(work / "var"),
        "STORAGE_DIR": str(work / "storage"),
        "BASE_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("TEST_DATABASE_URL", None)
    return env


def _settle(base: str) -> None:
    """Wait until the service is idle again (a slow run's last requests may still be rendering)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        started = time.perf_counter()
        fetch(base + "/healthz")
        if time.perf_counter() - started < 0.05:
            return


def _row(results: list[Result], width: int, latency_width: int) -> str:
    """Median req/s, p50 and p99 of the rounds."""
    rps = statistics.median(r.requests_per_second for r in results)
    p50 = statistics.median(r.p50_ms for r in results)
    p99 = statistics.median(r.p99_ms for r in results)
    digits = 1 if rps >= 10 else 2
    return f"{rps:>{width}.{digits}f} {_ms(p50):>{latency_width}} {_ms(p99):>{latency_width}}"


def _ms(value: float) -> str:
    return f"{value / 1000:.2f}s" if value >= 1000 else f"{value:.1f}ms"


def _council(*args: str) -> list[str]:
    return [sys.executable, "-c", "from council.cli import app; app()", *args]


def main() -> None:
    """Seed, serve, capture, load both servers per path and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=4.0, help="length of one run (per path and server)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="runs per path and server")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--code", type=Path, default=REPO, help="checkout of the service to run")
    parser.add_argument("--python-load", action="store_true", help="ignore wrk even if installed")
    parser.add_argument("--paths", nargs="*", help="only these paths (default: all)")
    args = parser.parse_args()
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    load = load_with_wrk if use_wrk else load_with_python
    paths = [p for p in PATHS if not args.paths or p[0] in args.paths]

    with tempfile.TemporaryDirectory(prefix="ceia-throughput-") as tmp:
        work = Path(tmp)
        port, ceiling_port = _free_port(), _free_port()
        env = _env(args.code.resolve(), work, port)
        subprocess.run(
            _council("demo", "--no-serve"), env=env, cwd=work, check=True, capture_output=True
        )
        service = _start(
            _council("serve", "--port", str(port), "--workers", "1"), env, work, work / "serve.log"
        )
        ceiling: subprocess.Popen[bytes] | None = None
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(base + "/healthz", service, work / "serve.log")
            answers = {}
            single: dict[str, float] = {}
            for path, _what, _target in paths:
                started = time.perf_counter()
                status, media_type, body = fetch(base + path)
                single[path] = time.perf_counter() - started
                answers[path] = (status, media_type, body)
                if status != 200:
                    print(f"warning: {path} answered {status}", file=sys.stderr)
            (work / "answers.pickle").write_bytes(pickle.dumps(answers))
            (work / "ceiling.py").write_text(CEILING_APP)
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
                ],
                {**os.environ, "PYTHONPATH": str(work)},
                work,
                work / "ceiling.log",
            )
            ceiling_base = f"http://127.0.0.1:{ceiling_port}"
            _wait_until_up(ceiling_base + paths[0][0], ceiling, work / "ceiling.log")
            tool = "wrk -t1" if use_wrk else "Python asyncio load"
            print(
                f"{tool}, {args.connections} connections, {args.rounds} rounds of"
                f" {args.seconds:g} s per path and server, alternating; one uvicorn worker each,"
                " SQLite demo, anonymous GETs; figures are medians of the rounds"
            )
            header = (
                f"{'path':<44} {'KB':>6} | {'service r/s':>11} {'p50':>8} {'p99':>8} |"
                f" {'ceiling r/s':>11} {'p50':>7} {'p99':>7} | {'ratio':>6} {'target':>6}"
            )
            print(header)
            print("-" * len(header))
            for path, _what, target in paths:
                load(base + path, args.connections, 1.0)  # warm-up (caches, templates)
                _settle(base)
                mine: list[Result] = []
                bare: list[Result] = []
                # Alternating short runs: a change in the machine's load hits both servers alike.
                # A slow path (a PDF rendered per request) gets runs long enough to finish some.
                seconds = max(args.seconds, math.ceil(single[path] * args.connections * 3))
                for _round in range(args.rounds):
                    mine.append(load(base + path, args.connections, seconds))
                    _settle(base)
                    bare.append(load(ceiling_base + path, args.connections, seconds))
                ratio = statistics.median(
                    m.requests_per_second / b.requests_per_second
                    for m, b in zip(mine, bare, strict=True)
                )
                flag = "ok" if ratio >= target else "BELOW"
                errors = sum(m.errors for m in mine)
                print(
                    f"{path:<44} {len(answers[path][2]) / 1024:>6.1f} | {_row(mine, 11, 8)} |"
                    f" {_row(bare, 11, 7)} | {ratio:>6.1%} {target:>5.0%} {flag}"
                    + (f"  ({errors} errors)" if errors else ""),
                    flush=True,
                )
        finally:
            _stop(service)
            if ceiling is not None:
                _stop(ceiling)


if __name__ == "__main__":
    main()
