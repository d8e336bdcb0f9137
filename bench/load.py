"""The body of bench/load.sh: every public page through the production stack, against the
fastest this machine can serve the same bytes.

Loads the 2017 round, starts the stack of `make serve` (deploy/stack.py: nginx with
deploy/nginx.conf in front of HOSTS gunicorn hosts of WORKERS workers, redis) and, beside it,
bench/minimal_app.py under gunicorn with as many workers in all. For each public page, at
each of CONNECTIONS (default 64 and 256), ``wrk`` drives for DURATION seconds:

- the page through nginx (its cache answering, revalidating with the app every second);
- the same nginx serving a static file of the page's size (the ceiling: no page can be served
  faster here);
- the minimal Flask app answering a body of that size (the ceiling of any Python process).

Then the cold path: the page's first render after a change (every dataset's revision bumped,
asked of an app host directly), median of COLD_RUNS. Prints the table; figures only, nothing
here passes or fails. The share of static is the page's rate over the static file's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BSO = ROOT.parent / "shared" / "data" / "mga-2017" / "BSO.csv"
DURATION = int(os.environ.get("DURATION", "10"))
CONNECTIONS = [int(c) for c in os.environ.get("CONNECTIONS", "64,256").split(",")]
HOSTS = int(os.environ.get("HOSTS", "2"))
WORKERS = int(os.environ.get("WORKERS", "2"))
THREADS = int(os.environ.get("WRK_THREADS", "2"))
COLD_RUNS = int(os.environ.get("COLD_RUNS", "5"))
SLICES = int(os.environ.get("SLICES", "5"))

_spec = importlib.util.spec_from_file_location("estado_stack", ROOT / "deploy" / "stack.py")
assert _spec is not None and _spec.loader is not None
stack_module = importlib.util.module_from_spec(_spec)
sys.modules["estado_stack"] = stack_module  # dataclasses look their module up there
_spec.loader.exec_module(stack_module)
get = stack_module.get


def flask(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)


def minimal_app(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = stack_module.free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{port}", "--workers", str(HOSTS * WORKERS),
             "minimal_app:app"],
            cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT / "bench")}, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if get(base + "/bytes/10")[0] == 200:
                return process, base
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the minimal app did not start; see {log}")


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, connections: int, duration: int = DURATION) -> dict[str, float]:
    command = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{duration}s", "--latency",
               "--timeout", "10s", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
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


def pages(base: str) -> list[tuple[str, str]]:
    """The public pages driven, with a commitment id and the API list when they exist."""
    chosen = [("home", "/"), ("map", "/map?round=2017&index=GA"), ("state", "/states/10"),
              ("exercises", "/exercises"), ("plans", "/plans")]
    ids = re.findall(rb'href="/commitments/(\d+)"', get(base + "/commitments")[2])
    if ids:
        chosen.append(("commitment", f"/commitments/{ids[0].decode()}"))
    chosen += [("round", "/metric/2017"), ("comparison", "/metric/compare"),
               ("api list", "/api/v1/states")]
    return chosen


def cold_render(engine: sa.Engine, host: str, path: str) -> float:
    """Median milliseconds of the first render of ``path`` after a change to every dataset,
    asked of one app host directly (nginx not involved)."""
    times = []
    for _ in range(COLD_RUNS):
        with engine.begin() as connection:
            connection.execute(sa.text(
                "UPDATE data_revision SET revision = revision + 1, changed_at = :now"),
                {"now": datetime.now(UTC).replace(tzinfo=None)})
        started = time.perf_counter()
        status = get(host + path, timeout=60)[0]
        times.append((time.perf_counter() - started) * 1000)
        assert status == 200, (path, status)
    return statistics.median(times)


def app_requests(stack, path: str, offsets: dict[Path, int]) -> int:  # noqa: ANN001
    """How many requests for ``path`` the app hosts answered (their JSON request log) since
    ``offsets``, which are moved to the logs' ends."""
    wanted_path, _, wanted_query = path.partition("?")
    count = 0
    for log in sorted((stack.folder / "hosts").glob("*.log")):
        with log.open("rb") as lines:
            lines.seek(offsets.get(log, 0))
            for line in lines:
                if line.startswith(b"{"):
                    entry = json.loads(line)
                    if entry["path"] == wanted_path and entry["query"] == wanted_query:
                        count += 1
            offsets[log] = lines.tell()
    return count


def interleaved(urls: list[str], connections: int) -> list[dict[str, float]]:
    """``wrk`` on each of ``urls`` in turn, SLICES times DURATION / SLICES seconds, so a
    change in the machine's other load falls on each alike; requests/s is the mean of the
    slices, p50 their median, p99 the worst slice's, errors their sum."""
    slices: list[list[dict[str, float]]] = [[] for _ in urls]
    for _ in range(SLICES):
        for i, url in enumerate(urls):
            slices[i].append(wrk(url, connections, duration=max(1, DURATION // SLICES)))
    return [{"rps": statistics.mean(s["rps"] for s in runs),
             "p50": statistics.median(s["p50"] for s in runs),
             "p99": max(s["p99"] for s in runs),
             "errors": sum(s["errors"] for s in runs)} for runs in slices]


def main() -> None:
    if not BSO.exists():
        raise SystemExit(f"{BSO} is missing: the load test needs the 2017 round")
    work = Path(tempfile.mkdtemp(prefix="estado-load-"))
    work.chmod(0o755)  # nginx (nobody when run as root) reads the static files here
    database = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{work / 'load.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": database, "FLASK_SECRET_KEY": "load-test-only",
           "PYTHONDONTWRITEBYTECODE": "1"}
    kind = "PostgreSQL" if database.startswith("postgresql") else "SQLite"
    print(f"Preparing the {kind} database (migrations, seeds, the 2017 round)...", flush=True)
    flask(env, "db", "upgrade")
    flask(env, "seed", "all")
    flask(env, "metric", "import", str(BSO), "--round", "2017", "--format", "inai-2017")
    static = work / "static"
    static.mkdir()
    static.chmod(0o755)
    stack = stack_module.Stack(
        work / "stack", {"DATABASE_URL": database, "FLASK_SECRET_KEY": "load-test-only",
                         "FLASK_SITE_URL": "http://127.0.0.1"},
        hosts_count=HOSTS, workers=WORKERS,
        server_conf=f"location /bench-static/ {{ alias {static}/; }}")
    stack.start()
    minimal, yardstick = minimal_app(env, work / "minimal.log")
    engine = sa.create_engine(database)
    base = stack.url
    rows = []
    offsets: dict[Path, int] = {}
    try:
        for name, path in pages(base):
            status, _headers, body = get(base + path)
            if status != 200:
                print(f"{name} {path}: status {status}, skipped", flush=True)
                continue
            size = len(body)
            line = b"<p>Estado Abierto static body</p>\n"
            (static / f"{size}.html").write_bytes((line * (size // len(line) + 1))[:size])
            (static / f"{size}.html").chmod(0o644)
            assert len(get(f"{base}/bench-static/{size}.html")[2]) == size
            cold = cold_render(engine, stack.hosts[0].url, path)
            for connections in CONNECTIONS:
                wrk(base + path, connections, duration=2)  # the copy made, workers warm
                app_requests(stack, path, offsets)
                page, ceiling = interleaved(
                    [base + path, f"{base}/bench-static/{size}.html"], connections)
                answered = app_requests(stack, path, offsets)
                python = wrk(f"{yardstick}/bytes/{size}", connections)
                rows.append((name, path, size, connections, page, ceiling, python, cold,
                             answered))
                print(f"  measured {name} at {connections} connections", flush=True)
    finally:
        engine.dispose()
        os.killpg(minimal.pid, signal.SIGTERM)
        minimal.wait(timeout=30)
        stack.stop()
    report(rows, kind)
    shutil.rmtree(work, ignore_errors=True)


def report(rows: list, kind: str) -> None:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    nginx = subprocess.run([stack_module.NGINX, "-v"], capture_output=True,
                           text=True).stderr.strip().split("/")[-1]
    load = os.getloadavg()
    print(f"\n{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores ({cpu}), "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
          f"nginx {nginx}; {kind}; {HOSTS} gunicorn hosts of {WORKERS} sync workers behind "
          f"nginx, the minimal app with {HOSTS * WORKERS}; wrk {THREADS} threads; page and static "
          f"file alternately, {SLICES} times {max(1, DURATION // SLICES)} s each, the minimal "
          f"app {DURATION} s; the 2017 round loaded; load average at the end "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.\n")
    print("| page | bytes | connections | through nginx: requests/s | p50 | p99 | errors "
          "| nginx static file: requests/s | p99 | share of static | minimal Flask: "
          "requests/s (p99) | cold render | answered by the app |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, path, size, connections, page, ceiling, python, cold, answered in rows:
        share = page["rps"] / ceiling["rps"] * 100
        total = page["rps"] * SLICES * max(1, DURATION // SLICES)
        print(f"| {name} `{path}` | {size:,} | {connections} | {page['rps']:,.0f} "
              f"| {page['p50']:.2f} ms | {page['p99']:.1f} ms "
              f"| {page['errors'] + ceiling['errors']} | {ceiling['rps']:,.0f} "
              f"| {ceiling['p99']:.1f} ms | {share:.0f} % "
              f"| {python['rps']:,.0f} ({python['p99']:.0f} ms) | {cold:.0f} ms "
              f"| {answered} of {total:,.0f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
