"""How the API's endpoints are declared: a paged list, or one record by its id.

A list is a function that gives the list's ordered rows for the parsed request; ``listing``
turns it into ``GET path`` with the ListSpec's filters and sorts, ``order``, ``page`` and
``per_page``, and answers one page with its links::

    @listing(tracker, "/milestones", MILESTONES, s.MilestoneSchema, "Milestones", objects)
    def milestones(view: ListView) -> Select:
        \"\"\"Milestones of commitments (weights, dates, status).\"\"\"
        stmt = where_equal(select(Milestone), view.filters, {"status": Milestone.status})
        return order(stmt, view, Milestone.id)

The function's name is the endpoint's and its docstring the operation's summary; the
operation's id is ``list{name}``. It may give an ordered ``Select`` (paged in SQL) or a
sequence of rows (paged in Python); ``items`` turns the rows of one page into what the item
schema dumps (``objects`` for a one-entity Select).

One declaration of the arguments (``app.listing.list_arguments``) is both what the request
is parsed against (by the site's input policy, ``app.params``) and what the OpenAPI
description lists: every choice as an ``enum``, every number with its bounds.

Pages: a page past the last one is empty (200) and has no ``next`` link; the links are also
sent as an HTTP ``Link`` header (RFC 8288), without ``rel="next"`` on the last page.

One record is ``record(blueprint, rule, Model, schema, summary, operation_id)``: 404 for an
unknown id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from marshmallow import Schema
from sqlalchemy.orm import Session

from app import params
from app.extensions import db
from app.listing import (
    ListSpec,
    ListView,
    link_header,
    list_arguments,
    page_links,
    paginate,
    view_of,
)
from app.models.base import Base

from . import NOT_FOUND, Blueprint, header_refs
from .schemas import page_of

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500

Items = Callable[[Session, Sequence[Any]], list]


def objects(_session: Session, rows: Sequence[Any]) -> list:
    """The items of a one-entity Select: its ORM objects."""
    return [row[0] for row in rows]


def per_page() -> Any:
    return params.integer(1, MAX_PER_PAGE, metadata={
        "description": f"Items per page (default {DEFAULT_PER_PAGE})."})


def _named(endpoint: Callable, name: str, doc: str | None) -> Callable:
    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    return endpoint


def listing(bp: Blueprint, path: str, spec: ListSpec, item: type[Schema], name: str,
            items: Items | None = None, link: tuple[str, str, str] | None = None,
            **extra: Any) -> Callable:
    """Register ``rows`` as ``GET path``: a page of ``item`` (schemas ``{name}Args`` and
    ``{name}Page``, operation ``list{name}``); ``extra`` arguments besides the spec's filters.

    ``link`` is (operation id, its path parameter, the item's field that fills it) of the
    operation that gives one item (an OpenAPI link from the page's first item, which clients
    and schemathesis' stateful tests follow).
    """
    extra = {**extra, "per_page": per_page()}
    arguments = Schema.from_dict(list_arguments(spec, **extra), name=f"{name}Args")
    page_schema = page_of(item, f"{name}Page")
    responses: dict[int | str, Any] = {}
    if link is not None:
        operation, parameter, field = link
        responses = {200: {"links": {"first_item": {
            "operationId": operation,
            "parameters": {parameter: f"$response.body#/items/0/{field}"},
            "description": "The page's first item on its own.",
        }}}}

    def register(rows: Callable[[ListView], Any]) -> Callable[[ListView], Any]:
        def endpoint(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
            view = view_of(spec, args, extra, fmt="json")
            view.spec = replace(spec, per_page=args.get("per_page") or DEFAULT_PER_PAGE)
            page = paginate(rows(view), view, db.session)
            if items is not None:
                page.items = items(db.session, page.items)
            links = page_links(view, page)
            body = {"items": page.items, "page": page.page, "per_page": page.per_page,
                    "total": page.total, "pages": page.pages, "links": links}
            return body, {"Link": link_header(links)}

        _named(endpoint, rows.__name__, rows.__doc__)
        bp.get(path)(
            bp.doc(operationId=f"list{name}", responses=responses)(
                bp.arguments(arguments, location="query")(
                    bp.response(200, page_schema, headers=header_refs("Link"))(endpoint))))
        return rows

    return register


def record(bp: Blueprint, rule: str, model: type[Base], schema: type[Schema], summary: str,
           operation_id: str, service: Callable[[Session, Any], Any] | None = None) -> None:
    """Register ``GET rule`` (one id in it): the ``model`` row dumped by ``schema``, or 404;
    ``service``: the function the page uses to build what it shows of the row (the schema
    dumps its result), e.g. a commitment with its derived progress."""

    def endpoint(**ident: Any) -> Any:
        (value,) = ident.values()
        row = params.get_or_404(db.session, model, value)
        return row if service is None else service(db.session, row)

    _named(endpoint, model.__tablename__, summary)
    bp.get(rule)(bp.doc(operationId=operation_id)(
        bp.alt_response(404, response=NOT_FOUND)(bp.response(200, schema)(endpoint))))
