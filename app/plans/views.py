"""Views of the tracker: exercises, plans, commitments, and their change feeds.

Each view parses its arguments (app.listing / app.params), calls the service, renders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy import Select
from sqlalchemy.orm import Session
from werkzeug import Response

from app import files
from app.extensions import db
from app.listing import ListView, Page, paginate, parse_list, respond
from app.models import ActionPlan, AuditEvent, Commitment, State
from app.params import day, get_or_404, parse
from app.pdf import html_to_pdf
from app.schema.history import entity_label
from app.schema.records import SCHEMAS
from common.codes import (
    BASES,
    COUNT_ROLES,
    FILE_TYPES,
    PROGRAMMES,
    PROGRESS_STATES,
    SCOPES,
    STAGES,
)

from . import bp, figures, report, service
from .feeds import atom_response, site_url
from .labels import (
    ACTION_LABELS,
    FRAMEWORK_LABELS,
    MILESTONE_STATUS_LABELS,
    OSC_ASPECTS,
    SECTOR_LABELS,
    THEME_LABELS,
    VALUE_ABBREVIATIONS,
    VALUE_LABELS,
    aspect_label,
    label,
    source_parts,
)


@bp.app_context_processor
def tracker_helpers() -> dict[str, object]:
    return {
        "tracker_label": label,
        "aspect_label": aspect_label,
        "source_parts": source_parts,
        "theme_labels": THEME_LABELS,
        "value_labels": VALUE_LABELS,
        "value_abbr": VALUE_ABBREVIATIONS,
        "sector_labels": SECTOR_LABELS,
        "milestone_status_labels": MILESTONE_STATUS_LABELS,
        "action_labels": ACTION_LABELS,
        "entity_label": entity_label,
        "schemas": SCHEMAS,
        "stage_labels": STAGES,
        "programme_labels": PROGRAMMES,
        "basis_labels": BASES,
        "count_roles": COUNT_ROLES,
    }


# How a record's file is linked and described, on every page (edit forms' macros included).
bp.record_once(lambda state: state.app.jinja_env.globals.update(
    file_url=files.file_url, file_size=files.format_size, file_types=FILE_TYPES))


def _sql_list(view: ListView, stmt: Select, enrich: Callable[[Session, Sequence[Any]], list],
              template: str, **context: Any) -> str | Response:
    """A list over SQL whose rows the service completes (progress, themes) before use."""
    session = db.session

    def page() -> Page:
        result = paginate(stmt, view, session)
        result.items = enrich(session, result.items)
        return result

    return respond(
        view,
        lambda: enrich(session, session.execute(stmt).all()),
        lambda: render_template(template, list=view, page=page(), **context),
    )


def _as_read(_session: Session, rows: Sequence[Any]) -> list:
    return list(rows)


@bp.get("/exercises")
def exercises() -> str | Response:
    view = parse_list(service.EXERCISES)
    return _sql_list(view, service.exercises_select(view), _as_read, "plans/exercises.html",
                     summary=service.programme_summary(db.session, reconcile=True),
                     timeline=lambda: figures.exercise_timeline(
                         service.exercise_timeline(db.session, view)))


@bp.get("/plans")
def plans() -> str | Response:
    view = parse_list(service.PLANS)
    return _sql_list(view, service.plans_select(view), service.plan_rows, "plans/plans.html",
                     scope_labels=SCOPES, **service.plan_filter_options(db.session))


@bp.get("/plans/<int:plan_id>")
def plan(plan_id: int) -> str:
    p = get_or_404(db.session, ActionPlan, plan_id)
    detail = service.plan_detail(db.session, p)
    return render_template("plans/plan.html", **vars(detail), osc_aspects=OSC_ASPECTS)


REPORT_ARGUMENTS = {"since": day(metadata={
    "description": "The report lists the changes recorded from this day on (default: "
                   f"{report.DEFAULT_SINCE_DAYS} days before today)."})}


def _report(plan_id: int) -> tuple[str, report.PlanReport]:
    p = get_or_404(db.session, ActionPlan, plan_id)
    since = parse(REPORT_ARGUMENTS)["since"]
    result = report.plan_report(db.session, p, since)
    return render_template("plans/report.html", report=result, plan=p,
                           default_since_days=report.DEFAULT_SINCE_DAYS), result


@bp.get("/plans/<int:plan_id>/report")
def report_page(plan_id: int) -> str:
    """The plan's report for a secretariat's session, printable (print stylesheet)."""
    return _report(plan_id)[0]


@bp.get("/plans/<int:plan_id>/report.pdf")
def report_pdf(plan_id: int) -> Response:
    """The same report as a PDF (WeasyPrint, from the page laid out for print)."""
    html, result = _report(plan_id)
    name = f"informe-plan-{plan_id}-{result.today.isoformat()}.pdf"
    return Response(html_to_pdf(html), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


@bp.get("/commitments")
def commitments() -> str | Response:
    view = parse_list(service.COMMITMENTS)
    return _sql_list(
        view, service.commitments_select(view), service.commitment_rows,
        "plans/commitments.html", filters=view.filters, status_labels=PROGRESS_STATES,
        scope_labels=SCOPES, **service.commitment_filter_options(db.session),
    )


@bp.get("/commitments/<int:commitment_id>")
def commitment(commitment_id: int) -> str:
    c = get_or_404(db.session, Commitment, commitment_id)
    detail = service.commitment_detail(db.session, c)
    return render_template(
        "plans/commitment.html", **vars(detail), c=c, plan=c.plan,
        framework_labels=FRAMEWORK_LABELS, today=service.today(),
    )


@bp.get("/files/<kind>/<int:obj_id>")
def record_file(kind: str, obj_id: int) -> Response:
    """The file of an evidence item or a progress report, as a download (never shown inline);
    404 for a deleted record or one without a file."""
    return files.download(service.record_file(db.session, kind, obj_id))


def _feed(endpoint: str, page: str, title: str, condition: Any, **ids: Any) -> Response:
    """An Atom feed of the audit events matching ``condition``; links on SITE_URL."""
    feed = site_url(endpoint, **ids)
    return atom_response(feed_id=feed, title=title, self_url=feed, page_url=site_url(page, **ids),
                         events=service.latest_events(db.session, condition))


@bp.get("/states/<cve:cve_ent>/feed.atom")
def state_feed(cve_ent: str) -> Response:
    state = get_or_404(db.session, State, cve_ent)
    return _feed("plans.state_feed", "states.detail",
                 _("Cambios en %(state)s · Estado Abierto", state=state.name),
                 AuditEvent.state_cve == state.cve_ent, cve_ent=state.cve_ent)


@bp.get("/commitments/<int:commitment_id>/feed.atom")
def commitment_feed(commitment_id: int) -> Response:
    c = get_or_404(db.session, Commitment, commitment_id)
    return _feed("plans.commitment_feed", "plans.commitment",
                 _("Cambios en el compromiso %(title)s", title=c.title[:80]),
                 AuditEvent.commitment_id == c.id, commitment_id=c.id)
