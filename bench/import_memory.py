"""Peak memory and time of `flask metric import` for two file sizes; prints figures (no pass/fail).

Writes SYNTHETIC round files in the standard format (random values, made-up institution names:
test data, not real results) of about --small and --large megabytes, and imports each into a
fresh SQLite database in its own process (`flask db upgrade`, `flask seed states`, then
`flask metric import FILE --round 2019 --source ...`), measured with `/usr/bin/time -v`
(Debian's `time` package: `scripts/ensure-debian-packages time`). The import's peak RSS
includes the app's baseline (Python, pandas, SQLAlchemy, the app). The ratio of the two peaks
above that baseline, set against the ratio of the sizes, shows whether memory grows linearly.

    python bench/import_memory.py [--small 5] [--large 50] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]
HEADER = "institution,level,state,type,TG,TC,PG,PC\n"
SOURCE = "Synthetic benchmark round (random values, not real data)"


def write_synthetic(path: Path, megabytes: float, seed: int = 2019) -> int:
    """Write a SYNTHETIC standard-format round of about ``megabytes``; return its rows."""
    rng = random.Random(seed)
    target = int(megabytes * 1_000_000)
    size, rows = len(HEADER), 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(HEADER)
        while size < target:
            rows += 1
            level = "municipal" if rows % 4 else "state"
            kind = "municipality" if level == "municipal" else "legislative"
            values = ",".join(f"{rng.random():.4f}" for _ in range(4))
            line = (
                f"Institución sintética de prueba {rows:07d},{level},"
                f"{rng.randint(1, 32):02d},{kind},{values}\n"
            )
            out.write(line)
            size += len(line.encode("utf-8"))
    return rows


def run(args: list[str], env: dict[str, str], measure: bool = False) -> tuple[float, int]:
    """Run a flask command; return its wall seconds and (if measured) peak RSS in KiB."""
    command = (["/usr/bin/time", "-v"] if measure else []) + FLASK + args
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    peak = 0
    if measure:
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        peak = int(found.group(1)) if found else 0
    return seconds, peak


def baseline(env: dict[str, str]) -> int:
    """Peak RSS (KiB) of a process that creates the app and loads the importer; no import."""
    code = "import wsgi, app.metric.importer, metrics.readers"
    done = subprocess.run(
        ["/usr/bin/time", "-v", str(ROOT / ".venv" / "bin" / "python"), "-c", code],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))


def measure(workdir: Path, megabytes: float) -> dict[str, float]:
    """Import a fresh SYNTHETIC file of ``megabytes`` into a fresh database; return figures."""
    csv_path = workdir / f"synthetic-{megabytes:g}mb.csv"
    rows = write_synthetic(csv_path, megabytes)
    database = workdir / f"synthetic-{megabytes:g}mb.sqlite3"
    database.unlink(missing_ok=True)
    env = {**os.environ, "FLASK_SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{database}"}
    run(["db", "upgrade"], env)
    run(["seed", "states"], env)
    seconds, peak = run(
        ["metric", "import", str(csv_path), "--round", "2019", "--source", SOURCE], env,
        measure=True,
    )
    return {
        "megabytes": csv_path.stat().st_size / 1_000_000, "rows": rows, "seconds": seconds,
        "peak_mib": peak / 1024, "base_mib": baseline(env) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=float, default=5.0, help="megabytes of the small file")
    parser.add_argument("--large", type=float, default=50.0, help="megabytes of the large file")
    parser.add_argument("--keep", action="store_true", help="keep the files and databases")
    options = parser.parse_args()
    if not Path("/usr/bin/time").exists():
        sys.exit("needs /usr/bin/time: scripts/ensure-debian-packages time")
    workdir = Path(tempfile.mkdtemp(prefix="import-memory-"))
    results = [measure(workdir, options.small), measure(workdir, options.large)]
    print("flask metric import of SYNTHETIC standard-format rounds on SQLite")
    print(f"{'file MB':>8} {'rows':>9} {'seconds':>8} {'peak RSS MiB':>13} {'above base':>11}")
    for r in results:
        print(
            f"{r['megabytes']:8.1f} {r['rows']:9,d} {r['seconds']:8.1f} {r['peak_mib']:13.0f} "
            f"{r['peak_mib'] - r['base_mib']:11.0f}"
        )
    small, large = results
    print(f"app baseline (app created, importer loaded, nothing read): {small['base_mib']:.0f} MiB")
    print(f"size ratio {large['megabytes'] / small['megabytes']:.1f}; peak RSS ratio "
          f"{large['peak_mib'] / small['peak_mib']:.1f}; ratio above baseline "
          f"{(large['peak_mib'] - large['base_mib']) / (small['peak_mib'] - small['base_mib']):.1f}"
          f"; time ratio {large['seconds'] / small['seconds']:.1f}")
    if options.keep:
        print(f"files kept in {workdir}")
    else:
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
