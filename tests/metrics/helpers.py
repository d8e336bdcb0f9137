"""Small frames for the engine tests (synthetic: made up for the tests, not real data)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from metrics.names import state_lookup
from seeds.metric_published import load_weight_schemes

ROOT = Path(__file__).resolve().parents[2]
STATES_CSV = ROOT / "seeds/data/states.csv"


def states() -> dict[str, str]:
    """Return the compact-name -> cve_ent lookup built from the seeded states file."""
    with STATES_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return state_lookup({r["cve_ent"]: (r["name"], r["short_name"]) for r in rows})


def frame(rows: list[dict]) -> pd.DataFrame:
    """Build a round frame with the attribute columns filled in where a row leaves them out."""
    out = pd.DataFrame(rows)
    defaults = {"name": None, "level": "state", "kind": "party", "state": "01"}
    for column, value in defaults.items():
        if column not in out:
            out[column] = value
    if "key" not in out:
        out["key"] = [f"k{i}" for i in range(len(out))]
    if out["name"].isna().all():
        out["name"] = out["key"]
    return out


NAN = np.nan


def scheme_2017() -> dict[str, dict[str, float]]:
    """Return the 2017 weight scheme as the seed file holds it."""
    return load_weight_schemes()[2017]
