"""Pagination, permalinks and CSV downloads shared by the tracker's lists."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask import current_app, request, url_for
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


@dataclass
class Page:
    """One page of a list."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per_page)


def page_number() -> int:
    """Return the requested page (1 when absent or invalid)."""
    value = request.args.get("page", type=int) or 1
    return max(1, value)


def paginate(session: Session, stmt: Select, page: int, per_page: int | None = None) -> Page:
    """Run ``stmt`` for one page and count all its rows."""
    per_page = per_page or int(current_app.config["PAGE_SIZE"])
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)
    items = list(session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all())
    return Page(items, total, page, per_page)


def query_url(**changes: Any) -> str:
    """Return the current URL with query-string arguments changed (None removes one)."""
    args = dict(request.args.items())
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    if "page" not in changes and set(changes) - {"format"}:
        args.pop("page", None)  # a new filter or sort starts at page 1
    return url_for(request.endpoint or "main.home", **(request.view_args or {}), **args)


def wants_csv() -> bool:
    """Return whether the list is asked for as CSV (``?format=csv``)."""
    return request.args.get("format") == "csv"
