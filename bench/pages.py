"""Benchmark the cold render of the richest metric pages against the code of main (440b13a).

Builds temporary SQLite databases with every seed plus SYNTHETIC institution-rounds (random
numbers, not real metric results; rounds labelled SYNTHETIC, years 2091-2094), written with
bulk inserts (not through the importer, for speed), at two sizes: 25,000 and 100,000
institution-rounds, four synthetic rounds each. Durango (10) holds the same institutions and
the same scores at both sizes; only the other states and the Federation grow. Then, for each
size, it times the cold render of

- the state page ``/states/10``,
- the round page ``/metric/2094``,
- the comparison page ``/metric/compare?from=2093&to=2094``,

through Flask's test client (server time, no network), each request preceded by a bump of
the "metric" data revision (nothing cached for the data), once with this checkout's code and
once with the baseline's (``git archive 440b13a`` into a temporary folder, or --baseline DIR),
each in its own Python process on the same database file. Prints the median seconds of
--runs requests, the ratio baseline / this code and, per code, how the page's time grows from
25,000 to 100,000 institution-rounds.

    .venv/bin/python bench/pages.py [--runs 3] [--sizes 25000,100000] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE_COMMIT = "440b13a"
LABEL = "SYNTHETIC"
ROUNDS = (2091, 2092, 2093, 2094)
STATE = "10"
PAGES = {
    "state": f"/states/{STATE}",
    "round": f"/metric/{ROUNDS[-1]}",
    "compare": f"/metric/compare?from={ROUNDS[-2]}&to={ROUNDS[-1]}",
}
KINDS = ("state_executive", "municipality", "party", "union", "trust", "legislative",
         "university", "autonomous", "judicial", "decentralized", "electoral", "guarantor")
CONFIG = {"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}


# --- The database --------------------------------------------------------------------------


def _rows_per_round(total: int, fixed: int) -> tuple[int, int]:
    """(institutions of the fixed state, of everyone else) in each of the four rounds."""
    per_round = total // len(ROUNDS)
    return fixed, per_round - fixed


def build_database(path: Path, total: int, fixed_per_round: int, seed: int = 7) -> None:
    """Write the seeds and ``total`` SYNTHETIC institution-rounds into a new SQLite file."""
    import numpy as np
    from sqlalchemy import func, insert, select

    sys.path.insert(0, str(ROOT))
    from app import create_app
    from app.cli import run_loaders
    from app.extensions import db
    from app.models import Base, Institution, MetricRound, MetricScore
    from seeds import LOADERS

    app = create_app({**CONFIG, "DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        Base.metadata.create_all(db.engine)
        run_loaders(list(LOADERS))
        fixed, others = _rows_per_round(total, fixed_per_round)
        states = [f"{i:02d}" for i in range(1, 33) if f"{i:02d}" != STATE]
        institutions: list[dict[str, object]] = []
        first_id = (db.session.scalar(select(func.max(Institution.id))) or 0) + 1

        def new_institution(pool: str, rng: np.random.Generator, number: int) -> int:
            if pool == "fixed":
                state: str | None = STATE
            else:
                pick = int(rng.integers(0, len(states) + 1))
                state = states[pick] if pick < len(states) else None
            kind = KINDS[int(rng.integers(0, len(KINDS)))]
            level = ("federal" if state is None else
                     "municipal" if kind == "municipality" else "state")
            new_id = first_id + len(institutions)
            institutions.append({
                "id": new_id,
                "key": f"synthetic:{pool}:{number}", "name": f"{LABEL} institución {number:06d}",
                "level": level, "kind": kind, "state_cve": state,
                "municipality_code": None, "version": 1,
            })
            return new_id

        scores: list[dict[str, object]] = []
        rounds = {}
        for year in ROUNDS:
            metric_round = MetricRound(
                year=year, label=f"{LABEL} ronda {year} (datos sintéticos de benchmark)",
                source=f"{LABEL}: números aleatorios de bench/pages.py, no son resultados reales")
            db.session.add(metric_round)
            db.session.flush()
            rounds[year] = metric_round.id
        for pool, count, pool_seed in (("fixed", fixed, seed), ("others", others, seed + 1)):
            # The fixed state draws from its own generator: the same rows at every size.
            rng = np.random.default_rng(pool_seed)
            serial = 0
            previous: list[int] = []
            for year in ROUNDS:
                # 85% of the previous round's institutions come back; new ones fill the rest.
                back = [i for i in previous if rng.random() < 0.85][:count]
                members = back + [new_institution(pool, rng, serial + n)
                                  for n in range(count - len(back))]
                serial += count - len(back)
                values = rng.random((len(members), 4))
                values[rng.random((len(members), 4)) < 0.03] = np.nan  # some unknown
                for institution_id, (tg, tc, pg, pc) in zip(members, values, strict=True):
                    t = (tg + tc) / 2
                    p = (pg + pc) / 2
                    ga = (t + p) / 2
                    scores.append({
                        "round_id": rounds[year], "institution_id": institution_id,
                        **{k: (None if np.isnan(v) else float(v)) for k, v in
                           (("tg", tg), ("tc", tc), ("pg", pg), ("pc", pc), ("t", t),
                            ("p", p), ("ga", ga))},
                        "source_name": f"{LABEL} {institution_id}", "version": 1,
                    })
                previous = members
        for start in range(0, len(institutions), 10_000):
            db.session.execute(insert(Institution), institutions[start:start + 10_000])
        for start in range(0, len(scores), 10_000):
            db.session.execute(insert(MetricScore), scores[start:start + 10_000])
        db.session.commit()
        db.session.close()
        db.engine.dispose()


# --- Timing (runs in its own process, on the code of --code) --------------------------------


def time_pages(code: Path, database: Path, runs: int) -> dict[str, list[float]]:
    """Seconds of ``runs`` cold renders of each page, with the app of the code at ``code``."""
    sys.path.insert(0, str(code))
    import app as package
    from app import create_app
    from app.extensions import db
    from app.models import DataRevision

    if not Path(package.__file__ or "").resolve().is_relative_to(code.resolve()):
        raise SystemExit(f"imported {package.__file__}, not the code of {code}")
    app = create_app({**CONFIG, "DATABASE_URL": f"sqlite:///{database}"})
    client = app.test_client()
    times: dict[str, list[float]] = {}
    for name, url in PAGES.items():
        client.get(url)  # compiles the page's templates (a server keeps them compiled)
        for _ in range(runs):
            with app.app_context():
                DataRevision.bump(db.session, "metric")
                db.session.commit()
            start = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise SystemExit(f"{code}: {url} answered {response.status_code}")
            times.setdefault(name, []).append(elapsed)
    return times


def run_worker(code: Path, database: Path, runs: int) -> dict[str, list[float]]:
    """``time_pages`` in a new Python process whose imports come from ``code``."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(code), str(database),
         "--runs", str(runs)],
        cwd=code, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline_tree(folder: Path) -> Path:
    """Main's code at BASELINE_COMMIT, unpacked with ``git archive`` (never committed), with
    its message catalogues compiled."""
    target = folder / "baseline"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE_COMMIT],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(pybabel), "compile", "-d", str(target / "app/translations")],
                   check=True, capture_output=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="cold requests of each page")
    parser.add_argument("--sizes", default="25000,100000",
                        help="institution-rounds of each database, comma-separated")
    parser.add_argument("--fixed", type=int, default=758,
                        help="Durango's institutions in each round (the same at every size)")
    parser.add_argument("--baseline", type=Path, help="a checkout of the baseline's code")
    parser.add_argument("--worker", nargs=2, type=Path, metavar=("CODE", "DATABASE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        code, database = args.worker
        print(json.dumps(time_pages(code, database, args.runs)))
        return 0

    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[tuple[str, int], dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="pages-bench-") as tmp:
        folder = Path(tmp)
        baseline = args.baseline or baseline_tree(folder)
        codes = {"baseline": baseline, "this": ROOT}
        for size in sizes:
            database = folder / f"bench-{size}.sqlite3"
            start = time.perf_counter()
            # Each database is built in a process of its own (this checkout's models).
            subprocess.run([sys.executable, "-c",
                            "import sys; sys.path.insert(0, sys.argv[1]); "
                            "from bench.pages import build_database; from pathlib import Path; "
                            "build_database(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))",
                            str(ROOT), str(database), str(size), str(args.fixed)],
                           check=True, cwd=ROOT)
            print(f"built {size:,} {LABEL} institution-rounds in "
                  f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
            for name, code in codes.items():
                results[(name, size)] = run_worker(code, database, args.runs)
    print_table(results, sizes, args)
    return 0


def _this_commit() -> str:
    """This checkout's commit, marked -dirty when its tracked files have changes."""
    return subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                          check=True, capture_output=True, text=True).stdout.strip()


def print_table(results: dict[tuple[str, int], dict[str, list[float]]], sizes: list[int],
                args: argparse.Namespace) -> None:
    def median(name: str, size: int, page: str) -> float:
        return statistics.median(results[(name, size)][page])

    print(f"Cold render of the metric pages, median of {args.runs} requests (seconds; Flask "
          f"test client, SQLite; {LABEL} data: seeds + four synthetic rounds; Durango holds "
          f"{args.fixed * len(ROUNDS):,} institution-rounds at every size)")
    print(f"  baseline: main {BASELINE_COMMIT}; this: {ROOT.name} at {_this_commit()}")
    print()
    print(f"  {'page':9}{'institution-rounds':>20}{'baseline s':>12}{'this s':>10}"
          f"{'baseline/this':>15}")
    for page, url in PAGES.items():
        for size in sizes:
            before, after = median("baseline", size, page), median("this", size, page)
            print(f"  {page:9}{size:>20,}{before:12.3f}{after:10.3f}{before / after:14.1f}x"
                  f"   {url}")
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print()
        print(f"  growth of each page's time from {small:,} to {large:,} institution-rounds "
              f"({large / small:.0f}x the database):")
        for page in PAGES:
            growth = {name: median(name, large, page) / median(name, small, page)
                      for name in ("baseline", "this")}
            print(f"  {page:9}  baseline {growth['baseline']:5.2f}x   this {growth['this']:5.2f}x")


if __name__ == "__main__":
    sys.exit(main())
