"""Editing copies of the seed files in tests: a bad cell, and the refusal it must cause."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from app.cli import run_loaders
from seeds.base import SeedError


def edited_copy(tmp_path: Path, source: Path, edit: Callable[[list[dict]], None]) -> Path:
    """A copy of the seed file ``source`` under ``tmp_path`` with ``edit`` applied to its rows."""
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    edit(rows)
    path = tmp_path / source.name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def use_cell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, module: ModuleType,
             csv_name: str, row_index: int, field: str, value: str) -> None:
    """Make ``module`` read its ``csv_name`` file with one cell set to ``value``."""

    def edit(rows: list[dict]) -> None:
        rows[row_index][field] = value

    monkeypatch.setattr(module, csv_name, edited_copy(tmp_path, getattr(module, csv_name), edit))


def assert_refused(loader: str, message: str) -> None:
    """Run ``loader``, which must stop with a SeedError saying ``message`` (on the states of the
    ``states_app`` fixture: its prepared database is a copy, not loaded again per test)."""
    with pytest.raises(SeedError) as caught:
        run_loaders([loader])
    assert message in str(caught.value)
