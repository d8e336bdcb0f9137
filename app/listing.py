"""The one list abstraction: declared filters and sorts, pagination, permalinks, downloads.

A list page declares a ``ListSpec`` (its filters as ``app.params`` fields, its sort keys with
a default, the columns of its download); ``parse_list`` reads the request against it (400 on
a bad value); ``order``/``paginate`` work on an SQL ``Select`` or on a Python sequence alike;
``download`` answers ``?format=csv`` or ``?format=json`` with the whole filtered list. The
template partial ``_list.html`` draws sortable headers, the "rows x-y of n" line, the links
and the pagination from the ``ListView``. A page past the last one is empty and has no next
page (``Page.past_end``), in the HTML lists as in the API (``page_links``, ``link_header``), so
a client paging until an empty page, or until there is no next link, stops.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, request
from marshmallow import fields as ma_fields
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app import params
from app.downloads import csv_response, xlsx_response
from common.text import fold

FORMATS = ("html", "csv", "json", "xlsx")


@dataclass(frozen=True)
class Sort:
    """A sort key: SQL expressions (for a Select) or a function of a row (for a sequence).

    ``descending`` is the direction a first click gives (e.g. scores high to low). Unknown
    values (NULL, None) always sort last, whichever the direction.
    """

    columns: tuple[Any, ...] = ()
    value: Callable[[Any], Any] | None = None
    descending: bool = False


@dataclass(frozen=True)
class Column:
    """A column of the download: its header and how to read it from a row."""

    name: str
    value: Callable[[Any], Any]


def _path_getter(path: str) -> Callable[[Any], Any]:
    """A getter of a dotted attribute path ("plan.title"); None anywhere gives None."""
    parts = path.split(".")

    def get(row: Any) -> Any:
        for part in parts:
            if row is None:
                return None
            row = row.get(part) if isinstance(row, Mapping) else getattr(row, part)
        return row

    return get


def columns(*names: str, **getters: Callable[[Any], Any] | str) -> tuple[Column, ...]:
    """Columns read as ``row[name]`` unless a getter (a function, or a dotted attribute path
    such as "plan.title") is given for the name."""
    out = []
    for name in names:
        getter = getters.get(name, name)
        out.append(Column(name, _path_getter(getter) if isinstance(getter, str) else getter))
    return tuple(out)


@dataclass(frozen=True)
class ListSpec:
    """What a list offers: filters, sorts (with the default) and the download's columns."""

    name: str  # file name of the download, without extension
    sorts: Mapping[str, Sort]
    default_sort: str  # a key of ``sorts``, "-" in front for descending
    filters: Mapping[str, ma_fields.Field] = field(default_factory=dict)
    columns: Sequence[Column] = ()
    per_page: int | None = None

    def __post_init__(self) -> None:
        if self.default_sort.removeprefix("-") not in self.sorts:
            raise ValueError(f"{self.name}: default sort {self.default_sort!r} is not declared")


@dataclass
class ListView:
    """A list as this request asks for it: filters, sort, page and format."""

    spec: ListSpec
    filters: dict[str, Any]
    sort: str
    descending: bool
    page: int
    format: str

    @property
    def sort_arg(self) -> str:
        return ("-" if self.descending else "") + self.sort

    def args(self, **changes: Any) -> dict[str, Any]:
        """The canonical arguments of this list (defaults left out), with ``changes``."""
        args: dict[str, Any] = {k: v for k, v in self.filters.items() if v is not None}
        if self.sort_arg != self.spec.default_sort:
            args["sort"] = self.sort_arg
        if self.page > 1:
            args["page"] = self.page
        if set(changes) - {"page", "format"}:
            args.pop("page", None)  # a new filter or sort starts at page 1
        args.update(changes)
        return {k: v for k, v in args.items() if v is not None and v != ""}

    def url(self, **changes: Any) -> str:
        """This list's permalink with arguments changed, built from the parsed arguments
        only (never from what the request carried besides them)."""
        query = urlencode(self.args(**changes))
        return request.path + (f"?{query}" if query else "")

    def sort_url(self, key: str) -> str:
        """The link of a sortable header: reverses the current sort, else its first direction."""
        current = key == self.sort
        descending = not self.descending if current else self.spec.sorts[key].descending
        return self.url(sort=("-" if descending else "") + key)

    def aria_sort(self, key: str) -> str | None:
        if key != self.sort:
            return None
        return "descending" if self.descending else "ascending"

    def download_url(self, fmt: str) -> str:
        return self.url(format=fmt, page=None)


def url_with(**changes: Any) -> str:
    """The current path with query arguments changed (None or "" removes one).

    Built from the path and the query string alone, so no argument can reach ``url_for``'s
    own parameters (``_method``, ``endpoint``...). Changing anything but the page or the
    format starts again at page 1.
    """
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in changes]
    if set(changes) - {"page", "format", "lang"}:
        args = [(k, v) for k, v in args if k != "page"]
    args += [(k, str(v)) for k, v in changes.items() if v is not None and v != ""]
    query = urlencode(args)
    return request.path + (f"?{query}" if query else "")


MAX_PAGE = 10**6


def list_arguments(spec: ListSpec, **extra: ma_fields.Field) -> dict[str, ma_fields.Field]:
    """The declared arguments of a list: its filters, ``extra`` ones, ``sort``, ``order`` and
    ``page``. Pages parse them (``parse_list``, plus ``format``) and the JSON API parses and
    describes the same declaration (``app.api.resources``)."""
    return {
        **spec.filters,
        **extra,
        "sort": params.sort(spec.sorts, metadata={
            "description": f"Sort key; '-' in front for descending. Default {spec.default_sort}."
        }),
        "order": params.choice(("asc", "desc"), metadata={
            "description": "Direction, overriding the sort key's '-'."}),
        "page": params.integer(1, MAX_PAGE, metadata={
            "description": "Page number, from 1. A page past the last one is empty."}),
    }


def view_of(spec: ListSpec, args: Mapping[str, Any], extra: Iterable[str] = (),
            fmt: str = "html") -> ListView:
    """The ListView of arguments parsed against ``list_arguments(spec, **extra)`` (an absent
    argument may be missing from ``args`` or None)."""
    sort = args.get("sort") or spec.default_sort
    order = args.get("order")
    key = sort.removeprefix("-")
    descending = sort.startswith("-") if order is None else order == "desc"
    return ListView(
        spec=spec,
        filters={k: args.get(k) for k in (*spec.filters, *extra)},
        sort=key,
        descending=descending,
        page=args.get("page") or 1,
        format=args.get("format") or fmt,
    )


def parse_list(spec: ListSpec, **extra: ma_fields.Field) -> ListView:
    """Read the request against ``spec`` (and ``extra`` arguments); 400 on any bad value."""
    declared = {**list_arguments(spec, **extra), "format": params.choice(FORMATS)}
    return view_of(spec, params.parse(declared), extra)


def where_equal(stmt: Select, filters: Mapping[str, Any], columns: Mapping[str, Any]) -> Select:
    """Keep the rows whose column equals each filter given (filters left empty are ignored).

    ``columns`` maps a filter's name to the column it compares, e.g. {"state": Plan.state_cve}.
    """
    for name, column in columns.items():
        value = filters.get(name)
        if value is not None and value != "":
            stmt = stmt.where(column == value)
    return stmt


# --- Ordering ----------------------------------------------------------------------------


def order_select(stmt: Select, view: ListView, *tie_breakers: Any) -> Select:
    """Order ``stmt`` by the view's sort, NULLs last, then by ``tie_breakers``."""
    sort = view.spec.sorts[view.sort]
    first, *rest = sort.columns
    ordered = [c.desc() if view.descending else c for c in (first, *rest)]
    return stmt.order_by(first.is_(None), *ordered, *tie_breakers)


def _sort_key(value: Any) -> Any:
    return fold(value) if isinstance(value, str) else value


def order_rows(rows: Iterable[Any], view: ListView) -> list[Any]:
    """Sort rows in Python by the view's sort (text folded), unknown values last."""
    sort = view.spec.sorts[view.sort]
    getter = sort.value or _path_getter(view.sort)  # row[key], or the row's attribute
    known: list[Any] = []
    unknown: list[Any] = []
    for row in rows:
        value = getter(row)
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        (unknown if missing else known).append(row)
    known.sort(key=lambda r: _sort_key(getter(r)), reverse=view.descending)
    return known + unknown


def order(source: Any, view: ListView, *tie_breakers: Any) -> Any:
    """Order a Select or a sequence of rows."""
    if isinstance(source, Select):
        return order_select(source, view, *tie_breakers)
    return order_rows(source, view)


# --- Pagination --------------------------------------------------------------------------


@dataclass
class Page:
    """One page of a list. A page past the last one has no items (and no next page), so a
    client that follows ``next`` links, or asks for pages until one is empty, stops."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def past_end(self) -> bool:
        return self.page > self.pages

    @property
    def first(self) -> int:
        return 0 if not self.items else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return 0 if not self.items else min(self.total, self.page * self.per_page)

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None

    @property
    def prev_page(self) -> int | None:
        """The page before, or the last page when this one is past it."""
        return min(self.page - 1, self.pages) if self.page > 1 else None


def paginate(source: Any, view: ListView, session: Session | None = None) -> Page:
    """One page of an (ordered) Select, run in ``session``, or of a sequence.

    A page past the end has no items (``Page.past_end``); it is not an error.
    """
    per_page = view.spec.per_page or int(current_app.config["PAGE_SIZE"])
    start = (view.page - 1) * per_page
    items: list[Any]
    if isinstance(source, Select):
        if session is None:
            raise ValueError("paginating a Select needs a session")
        total = session.scalar(
            select(func.count()).select_from(source.order_by(None).subquery())
        ) or 0
        items = [] if start >= total else list(
            session.execute(source.limit(per_page).offset(start)).all())
    else:
        rows = list(source)
        total = len(rows)
        items = rows[start:start + per_page]
    return Page(items, total, view.page, per_page)


def page_links(view: ListView, page: Page) -> dict[str, str | None]:
    """The links of a page: itself, the first, the last, the next and the previous (None
    when there is none: no ``next`` on the last page or past it)."""
    return {
        "self": view.url(page=page.page),
        "first": view.url(page=1),
        "last": view.url(page=page.pages),
        "next": view.url(page=page.next_page) if page.next_page else None,
        "prev": view.url(page=page.prev_page) if page.prev_page else None,
    }


def link_header(links: Mapping[str, str | None]) -> str:
    """An HTTP ``Link`` header (RFC 8288) of a page's links, leaving out those it lacks."""
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items()
                     if url is not None and rel != "self")


def wants_download(view: ListView) -> bool:
    return view.format != "html"


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def download(view: ListView, rows: Iterable[Any], name: str | None = None) -> Response:
    """The whole filtered list in the view's format (csv, xlsx or json)."""
    spec = view.spec
    header = [c.name for c in spec.columns]
    values = ([c.value(row) for c in spec.columns] for row in rows)
    filename = f"{name or spec.name}.{view.format}"
    if view.format == "csv":
        return csv_response(filename, header, values)
    if view.format == "xlsx":
        return xlsx_response(filename, header, values)
    body = json.dumps(
        [dict(zip(header, [_jsonable(v) for v in row], strict=True)) for row in values],
        ensure_ascii=False, indent=1,
    )
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


def respond(view: ListView, rows: Callable[[], Iterable[Any]], render: Callable[[], Any],
            name: str | None = None) -> Any:
    """A download of ``rows()`` when one is asked for, else the page ``render()`` builds."""
    if wants_download(view):
        return download(view, rows(), name)
    return render()

