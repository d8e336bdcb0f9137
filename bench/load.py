"""The body of bench/load.sh: load the 2017 round, serve under gunicorn, drive pages with wrk.

For each public page: a warm-up, then ``wrk`` for DURATION seconds at CONNECTIONS
connections (loopback only) on the page, the page with ``If-None-Match`` (the 304 path), the
page with ``Accept-Encoding: br`` and the minimal app answering a body of the page's size.
Prints requests/s, p50/p99, errors and the ratio to the minimal app, plus each page's raw,
gzip and brotli size. Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
BSO = ROOT.parent / "shared" / "data" / "mga-2017" / "BSO.csv"
DURATION = int(os.environ.get("DURATION", "10"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "64"))
WORKERS = int(os.environ.get("WORKERS", "4"))
THREADS = int(os.environ.get("WRK_THREADS", "2"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flask(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def gunicorn(env: dict[str, str], app: str, port: int, log: Path) -> subprocess.Popen:
    command = [str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
               "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), app]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)  # noqa: S310
            return process
        except OSError as error:
            if getattr(error, "code", None) == 404:  # the minimal app has no /healthz
                return process
            time.sleep(0.1)
    raise SystemExit(f"gunicorn {app} did not start; see {log}")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, *headers: str, duration: int = DURATION) -> dict[str, float]:
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency",
               "--timeout", "10s"]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        value, unit = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out).groups()
        result[f"p{pct}"] = float(value) * UNITS[unit]
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                          out):
        errors += sum(int(n) for n in match.groups())
    result["errors"] = errors
    return result


def pages(base: str, env: dict[str, str]) -> list[tuple[str, str]]:
    """The public pages driven, with a commitment id and the API list when they exist."""
    chosen = [("home", "/"), ("map", "/map?round=2017&index=GA"), ("state", "/states/10"),
              ("exercises", "/exercises"), ("plans", "/plans")]
    ids = re.findall(rb'href="/commitments/(\d+)"', fetch(base + "/commitments")[2])
    if ids:
        chosen.append(("commitment", f"/commitments/{ids[0].decode()}"))
    chosen += [("round", "/metric/2017"), ("comparison", "/metric/compare")]
    for api in ("/api/v1/states", "/api/v1/metric/rounds"):
        if fetch(base + api)[0] == 200:
            chosen.append(("api list", api))
            break
    return chosen


def main() -> None:
    if not BSO.exists():
        raise SystemExit(f"{BSO} is missing: the load test needs the 2017 round")
    work = Path(tempfile.mkdtemp(prefix="estado-load-"))
    database = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{work / 'load.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": database, "FLASK_SECRET_KEY": "load-test-only",
           "WEB_CONCURRENCY": str(WORKERS), "PYTHONDONTWRITEBYTECODE": "1"}
    kind = "PostgreSQL" if database.startswith("postgresql") else "SQLite"
    print(f"Preparing the {kind} database (migrations, seeds, the 2017 round)...", flush=True)
    flask(env, "db", "upgrade")
    flask(env, "seed", "all")
    flask(env, "metric", "import", str(BSO), "--round", "2017", "--format", "inai-2017")
    app_port, minimal_port = free_port(), free_port()
    log = work / "gunicorn.log"
    app = gunicorn(env, "wsgi:app", app_port, log)
    minimal = gunicorn({**env, "PYTHONPATH": str(ROOT / "bench")}, "minimal_app:app",
                       minimal_port, work / "minimal.log")
    base, yardstick = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{minimal_port}"
    rows = []
    try:
        for name, path in pages(base, env):
            status, headers, body = fetch(base + path)
            if status != 200:
                print(f"{name} {path}: status {status}, skipped", flush=True)
                continue
            etag = headers.get("ETag", "")
            sizes = {enc: len(fetch(base + path, **{"Accept-Encoding": enc})[2])
                     for enc in ("gzip", "br")}
            wrk(base + path, duration=2)  # warm every worker
            page = wrk(base + path)
            revalidated = wrk(base + path, f"If-None-Match: {etag}")
            brotli = wrk(base + path, "Accept-Encoding: br")
            reference = wrk(f"{yardstick}/bytes/{len(body)}")
            rows.append((name, path, len(body), sizes, page, revalidated, brotli, reference))
            print(f"  measured {name}", flush=True)
    finally:
        stop(app)
        stop(minimal)
    report(rows, kind)
    shutil.rmtree(work, ignore_errors=True)


def report(rows: list, kind: str) -> None:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    print(f"\n{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores ({cpu}), "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}; "
          f"{kind}; gunicorn {WORKERS} sync workers; wrk {THREADS} threads, {CONNECTIONS} "
          f"connections, {DURATION} s per run; the 2017 round loaded.\n")
    print("| page | bytes (gzip / br) | requests/s | p50 | p99 | errors | share of minimal "
          "| minimal app requests/s (p99) | 304: requests/s | 304: p99 | 304: share | br: "
          "requests/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, path, size, sizes, page, revalidated, brotli, reference in rows:
        share = page["rps"] / reference["rps"] * 100
        share304 = revalidated["rps"] / reference["rps"] * 100
        print(f"| {name} `{path}` | {size:,} ({sizes['gzip']:,} / {sizes['br']:,}) "
              f"| {page['rps']:,.0f} | {page['p50']:.1f} ms | {page['p99']:.1f} ms "
              f"| {page['errors'] + revalidated['errors'] + brotli['errors']} | {share:.0f} % "
              f"| {reference['rps']:,.0f} ({reference['p99']:.1f} ms) | {revalidated['rps']:,.0f} "
              f"| {revalidated['p99']:.1f} ms | {share304:.0f} % | {brotli['rps']:,.0f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
