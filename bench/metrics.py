"""Benchmark the metric engine: compute + aggregate + compare on SYNTHETIC rounds.

Builds 1,000,000 labelled synthetic institution-rounds with the 2017 components (random
numbers, not real data): two rounds of 500,000 institutions that share 90% of them. The
measured work computes every index of both rounds, aggregates each round national / by state
/ by level / by type, and compares the rounds (matched deltas and ranks, entered and left,
by state). Institutions are identified by integer ids, as the app matches them after import
(the importer resolves stable keys to ids); a second run uses string keys. Then the same work
is written row by row in plain Python and run, with the engine, on a 50,000-row slice.
Prints seconds, peak memory and ratios.

    .venv/bin/python bench/metrics.py [--rows 1000000] [--slice 50000]
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import resource
import sys
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metrics import aggregate, compare_rounds, compute_indices  # noqa: E402
from seeds.metric_published import load_weight_schemes  # noqa: E402

KINDS = ["state_executive", "municipality", "party", "union", "trust", "legislative",
         "university", "autonomous", "judicial", "federal_executive", "decentralized"]
LABEL = "SYNTHETIC benchmark data (random numbers, not real metric results)"


def synthetic_round(
    n: int, scheme: dict, seed: int, key_offset: int = 0, string_keys: bool = False
) -> pd.DataFrame:
    """Return a synthetic round frame of ``n`` institutions with every 2017 component."""
    rng = np.random.default_rng(seed)
    states = np.array([f"{i:02d}" for i in range(1, 33)] + [None], dtype=object)
    state = states[rng.integers(0, 33, n)]
    ids = np.arange(key_offset, key_offset + n, dtype=np.int64)
    data: dict[str, object] = {
        "key": pd.Series(ids).map("inst-{:07d}".format).to_numpy(dtype=object)
        if string_keys else ids,
        "name": "synthetic",
        "level": np.where(pd.isna(state), "federal", "state"),
        "kind": np.array(KINDS, dtype=object)[rng.integers(0, len(KINDS), n)],
        "state": state,
    }
    for sub, weights in scheme.items():
        for component in weights:
            values = rng.random(n)
            values[rng.random(n) < 0.01] = np.nan  # 1% unknown: missing stays missing
            data[f"{sub}.{component}"] = values
    return pd.DataFrame(data)


def engine_work(a: pd.DataFrame, b: pd.DataFrame, scheme: dict) -> tuple:
    """The measured work: compute both rounds, aggregate four ways, compare by state."""
    ca = compute_indices(a, scheme).frame
    cb = compute_indices(b, scheme).frame
    tables = [aggregate(c, by) for c in (ca, cb) for by in ("national", "state", "level", "type")]
    comparison = compare_rounds(ca, cb)
    by_state = comparison.by("state")
    return tables, by_state, len(comparison.matched)


def python_work(a: pd.DataFrame, b: pd.DataFrame, scheme: dict) -> tuple:
    """The same work, written row by row in plain Python (records in, dicts out)."""

    def compute(records: list[dict]) -> list[dict]:
        out = []
        for r in records:
            row = dict(r)
            for sub, weights in scheme.items():
                total = 0.0
                for component, weight in weights.items():
                    value = r[f"{sub}.{component}"]
                    if value is None or math.isnan(value):
                        total = math.nan
                        break
                    total += weight * value
                row[sub] = total
            row["T"] = (row["TG"] + row["TC"]) / 2
            row["P"] = (row["PG"] + row["PC"]) / 2
            row["GA"] = (row["T"] + row["P"]) / 2
            out.append(row)
        return out

    def group_means(rows: list[dict], column: str | None) -> dict:
        sums: dict = defaultdict(lambda: defaultdict(float))
        counts: dict = defaultdict(lambda: defaultdict(int))
        for row in rows:
            group = "" if column is None else (row[column] or "federal")
            for index in ("GA", "T", "P", "TG", "TC", "PG", "PC"):
                if not math.isnan(row[index]):
                    sums[group][index] += row[index]
                    counts[group][index] += 1
        return {g: {i: sums[g][i] / counts[g][i] for i in counts[g]} for g in counts}

    def ranks(values: dict) -> dict:
        ordered = sorted((v, k) for k, v in values.items() if not math.isnan(v))
        ordered.reverse()
        result, previous, rank = {}, None, 0
        for position, (value, key) in enumerate(ordered, start=1):
            if value != previous:
                rank, previous = position, value
            result[key] = rank
        return result

    ca, cb = compute(a.to_dict("records")), compute(b.to_dict("records"))
    tables = [group_means(r, c) for r in (ca, cb) for c in (None, "state", "level", "kind")]
    after = {r["key"]: r for r in cb}
    matched = [(r, after[r["key"]]) for r in ca if r["key"] in after]
    before_rank = ranks({r["key"]: r["GA"] for r, _ in matched})
    after_rank = ranks({s["key"]: s["GA"] for _, s in matched})
    deltas = {
        r["key"]: (s["GA"] - r["GA"], before_rank.get(r["key"], 0) - after_rank.get(r["key"], 0))
        for r, s in matched
    }
    by_state = group_means([s for _, s in matched], "state")
    return tables, by_state, len(deltas)


def measure(work: Callable, *args) -> tuple[float, float]:
    """Return (best seconds of 3 runs, peak MiB allocated during one traced run)."""
    times = []
    for _ in range(3):
        gc.collect()
        start = time.perf_counter()
        work(*args)
        times.append(time.perf_counter() - start)
    gc.collect()
    tracemalloc.start()
    work(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(times), peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="institution-rounds")
    parser.add_argument("--slice", type=int, default=50_000, help="rows for the Python run")
    args = parser.parse_args()
    scheme = load_weight_schemes()[2017]
    per_round, slice_per_round = args.rows // 2, args.slice // 2
    print(LABEL)
    print(f"python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}, "
          f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs")
    print("work: compute all indices of 2 rounds, aggregate each 4 ways, compare them")

    a = synthetic_round(per_round, scheme, seed=2017)
    # The second round keeps 90% of the institutions and brings 10% new ones.
    b = synthetic_round(per_round, scheme, seed=2019, key_offset=per_round // 10)
    input_mib = (a.memory_usage(deep=True).sum() + b.memory_usage(deep=True).sum()) / 2**20
    print(f"input: 2 synthetic rounds x {per_round:,} = {2 * per_round:,} institution-rounds, "
          f"{len(a.columns)} columns, {input_mib:,.0f} MiB")
    seconds, peak = measure(engine_work, a, b, scheme)
    print(f"engine, {2 * per_round:,} rows, integer ids: {seconds:.3f} s, "
          f"peak {peak:,.0f} MiB allocated during the work")

    sa, sb = a.iloc[:slice_per_round].copy(), b.iloc[:slice_per_round].copy()
    small_seconds, small_peak = measure(engine_work, sa, sb, scheme)
    py_seconds, py_peak = measure(python_work, sa, sb, scheme)
    print(f"engine, {2 * slice_per_round:,} rows: {small_seconds:.3f} s, "
          f"peak {small_peak:,.0f} MiB")
    print(f"row-by-row Python, {2 * slice_per_round:,} rows: {py_seconds:.3f} s, "
          f"peak {py_peak:,.0f} MiB")
    ratio = py_seconds / small_seconds
    print(f"ratio on the same {2 * slice_per_round:,} rows: engine {ratio:,.1f}x faster")
    per_row = (py_seconds / slice_per_round) / (seconds / per_round)
    print(f"ratio per row (engine on {2 * per_round:,} vs Python on {2 * slice_per_round:,}): "
          f"{per_row:,.1f}x")
    del a, b, sa, sb
    gc.collect()

    a = synthetic_round(per_round, scheme, seed=2017, string_keys=True)
    b = synthetic_round(per_round, scheme, seed=2019, key_offset=per_round // 10,
                        string_keys=True)
    seconds, peak = measure(engine_work, a, b, scheme)
    print(f"engine, {2 * per_round:,} rows, string keys: {seconds:.3f} s, peak {peak:,.0f} MiB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS (inputs and both runs included): {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
