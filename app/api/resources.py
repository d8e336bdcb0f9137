"""How the API's endpoints are declared: a paged list, or one record by its id.

A list is a function that gives the list's ordered rows for the parsed request; ``listing``
turns it into ``GET path`` with the ListSpec's filters and sorts, ``page`` and ``per_page``
(all in the OpenAPI description), and answers one page with its links::

    @listing(tracker, "/milestones", MILESTONES, s.MilestoneSchema, "Milestones", objects)
    def milestones(view: ListView) -> Select:
        \"\"\"Milestones of commitments (weights, dates, status).\"\"\"
        stmt = where_equal(select(Milestone), view.filters, {"status": Milestone.status})
        return order(stmt, view, Milestone.id)

The function's name is the endpoint's and its docstring the operation's summary. It may give
an ordered ``Select`` (paged in SQL) or a sequence of rows (paged in Python); ``items`` turns
the rows of one page into what the item schema dumps (``objects`` for a one-entity Select).

One record is ``record(blueprint, rule, Model, schema, summary)``: 404 for an unknown id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from marshmallow import Schema
from sqlalchemy.orm import Session

from app import params
from app.extensions import db
from app.listing import ListSpec, ListView, Page, paginate, parse_list
from app.models.base import Base

from . import Blueprint
from .schemas import page_of

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500

Items = Callable[[Session, Sequence[Any]], list]


def objects(_session: Session, rows: Sequence[Any]) -> list:
    """The items of a one-entity Select: its ORM objects."""
    return [row[0] for row in rows]


def list_arguments(spec: ListSpec, name: str, **extra: Any) -> type[Schema]:
    """The query arguments of a list, as the OpenAPI description shows them."""
    return Schema.from_dict({
        **spec.filters,
        **extra,
        "sort": params.sort(spec.sorts, metadata={"description": f"default {spec.default_sort}"}),
        "page": params.integer(1, 10**6),
        "per_page": params.integer(1, MAX_PER_PAGE),
    }, name=name)


def api_view(spec: ListSpec, **extra: Any) -> ListView:
    """Parse a list's arguments (400 on a bad one); ``per_page`` sets the page size."""
    view = parse_list(spec, per_page=params.integer(1, MAX_PER_PAGE), **extra)
    per_page = view.filters.get("per_page") or DEFAULT_PER_PAGE
    return replace(view, spec=replace(spec, per_page=per_page))


def page_body(view: ListView, page: Page) -> dict[str, Any]:
    """A page with its links (the list's canonical arguments, as the pages build them)."""
    return {
        "items": page.items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
        "links": {
            "self": view.url(page=page.page),
            "first": view.url(page=1),
            "last": view.url(page=page.pages),
            "next": view.url(page=page.page + 1) if page.page < page.pages else None,
            "prev": view.url(page=page.page - 1) if page.page > 1 else None,
        },
    }


def _named(endpoint: Callable, name: str, doc: str | None) -> Callable:
    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    return endpoint


def listing(bp: Blueprint, path: str, spec: ListSpec, item: type[Schema], name: str,
            items: Items | None = None, **extra: Any) -> Callable:
    """Register ``rows`` as ``GET path``: a page of ``item`` (schemas ``{name}Args`` and
    ``{name}Page``); ``extra`` arguments besides the spec's filters."""
    arguments = list_arguments(spec, f"{name}Args", **extra)
    page_schema = page_of(item, f"{name}Page")

    def register(rows: Callable[[ListView], Any]) -> Callable[[ListView], Any]:
        def endpoint(_args: dict) -> dict[str, Any]:
            view = api_view(spec, **extra)
            page = paginate(rows(view), view, db.session)
            if items is not None:
                page.items = items(db.session, page.items)
            return page_body(view, page)

        _named(endpoint, rows.__name__, rows.__doc__)
        bp.get(path)(bp.arguments(arguments, location="query")(
            bp.response(200, page_schema)(endpoint)))
        return rows

    return register


def record(bp: Blueprint, rule: str, model: type[Base], schema: type[Schema], summary: str) -> None:
    """Register ``GET rule`` (one id in it): the ``model`` row dumped by ``schema``, or 404."""

    def endpoint(**ident: Any) -> Any:
        (value,) = ident.values()
        return params.get_or_404(db.session, model, value)

    _named(endpoint, model.__tablename__, summary)
    bp.get(rule)(bp.response(200, schema)(endpoint))
