"""A module-scoped app for the API tests: every seed plus two SYNTHETIC metric rounds.

The API tests (and schemathesis' many operations) only read, so they share one copy of the
"api" template (tests/databases.py) per module instead of one per test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.databases import Databases, build_app, dispose


@pytest.fixture(scope="module")
def api_app(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = databases.fresh("api", tmp_path_factory.mktemp("api"))
    app = build_app(url)
    yield app
    dispose(app)
    databases.drop(url)
