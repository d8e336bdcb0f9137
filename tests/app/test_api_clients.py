"""Clients nobody wrote for this API's sake: a pager that walks every list for each state.

``scripts/api-walk`` (standard library only) reads the OpenAPI description, and pages through
every list operation once per value of its ``state`` filter (the 32 INEGI codes, and
"federal" for institutions), following ``Link: rel="next"`` until there is none, and checks
that the page after the last is empty. It must stop by itself, with every item counted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.app.api_fixtures import api_app, api_url  # noqa: F401  (the fixtures)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "api-walk"
STATES = [f"{n:02d}" for n in range(1, 33)]


def test_the_pager_walks_every_list_for_every_state_and_stops(api_url):  # noqa: F811
    result = subprocess.run([sys.executable, str(SCRIPT), api_url, "--per-page", "7"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    walks: dict[str, dict[str, tuple[int, int]]] = {}
    for line in result.stdout.splitlines()[:-1]:
        path, state, pages, items, total = line.split("\t")
        walks.setdefault(path, {})[state.removeprefix("state=")] = (
            int(pages.removeprefix("pages=")), int(items.removeprefix("items=")))
        assert items.removeprefix("items=") == total.removeprefix("total=")
    for path in ("/api/v1/plans", "/api/v1/commitments", "/api/v1/secretariat-members",
                 "/api/v1/changes"):
        assert sorted(walks[path]) == STATES, path
    assert sorted(walks["/api/v1/institutions"]) == sorted(["federal", *STATES])
    # Lists without a state filter are walked once, over several pages.
    assert walks["/api/v1/states"]["-"] == (5, 32)
    assert walks["/api/v1/sources"]["-"][0] > 1
    # Some states have plans and some have none: both stop.
    plans = walks["/api/v1/plans"]
    assert any(items == 0 for _pages, items in plans.values())
    assert any(items > 0 for _pages, items in plans.values())
    assert result.stdout.splitlines()[-1].endswith(" 0 problems")
