"""Schemathesis against /api/openapi.json, as an outside client runs it: ``--checks all``.

The app (seeds, two SYNTHETIC metric rounds, a SYNTHETIC milestone) is served on a free
loopback port and the ``schemathesis run`` command line is pointed at its description with
every check on: no server error; every status, content type, header and body as documented;
every schema-valid request accepted (``positive_data_acceptance``: a valid filter that
matches nothing is an empty list, not a 400) and every schema-violating one refused
(``negative_data_rejection``); the stateful phase follows the description's links (a list's
first item, a round's aggregates). All four phases run (examples, coverage, fuzzing,
stateful), bounded by ``--max-examples`` with a fixed seed so the suite is repeatable;
``SCHEMATHESIS_MAX_EXAMPLES`` and ``SCHEMATHESIS_SEED`` widen or vary it (the default of
the command line, 100 examples, finds nothing either: see the README).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.request import urlopen

import pytest

from tests.app.api_fixtures import api_app, api_url  # noqa: F401  (the fixtures)

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "6"))
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261203")


@pytest.mark.slow  # about 1½ minutes
def test_schemathesis_with_every_check_finds_nothing(api_url, tmp_path: Path):  # noqa: F811
    command = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [str(command), "run", f"{api_url}/api/openapi.json", "--checks", "all",
         "--max-examples", str(MAX_EXAMPLES), "--seed", SEED, "--workers", "1",
         "--request-timeout", "30"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env={**os.environ, "NO_COLOR": "1"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    assert "No issues found" in output, output[-5000:]
    with urlopen(f"{api_url}/api/openapi.json") as answer:
        spec = json.load(answer)
    operations = sum(1 for ops in spec["paths"].values() for method in ops if method == "get")
    assert operations >= 23 and f"Tested: {operations}" in output, output[-3000:]
