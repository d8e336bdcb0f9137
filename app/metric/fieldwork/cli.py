"""``flask metric fieldwork ...``: run a fieldwork round from the command line.

The commands call the same services as the pages; each runs in one transaction (committed at
the end, rolled back on an error). Commands that change a round act as an account
(``--as EMAIL``) whose role in the round the services check.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import click
import yaml
from sqlalchemy import select
from tqdm import tqdm
from werkzeug.exceptions import Forbidden

from app.accounts.service import find_user
from app.extensions import db
from app.models import FieldworkRound, Institution, User
from app.records import VersionConflict
from metrics.fieldwork import FieldworkDataError, InstrumentError, NotFinal, load_instruments
from metrics.fieldwork.files import read_fieldwork

from .. import bp
from . import service
from .guard import RoundFrozen

INDEX_COLUMNS = ("TG", "TC", "PG", "PC", "T", "P", "GA")


@bp.cli.group("fieldwork")
def fieldwork() -> None:
    """Fieldwork rounds: set up, sample, assign, progress, freeze, publish, export, compute."""


def _user(email: str) -> User:
    user = find_user(db.session, email)
    if user is None or not user.active:
        raise click.ClickException(f"no active account {email}")
    return user


def _round(year: int) -> FieldworkRound:
    try:
        return service.get_round(db.session, year)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None


def _run(action: Any) -> Any:
    """Run ``action`` in the command's transaction: commit, or roll back and say why."""
    session = db.session
    try:
        result = action()
    except Forbidden:
        session.rollback()
        raise click.ClickException("that account may not do this in this round") from None
    except (service.FieldworkError, RoundFrozen, VersionConflict, InstrumentError,
            FieldworkDataError, NotFinal) as exc:
        session.rollback()
        raise click.ClickException(f"nothing was changed: {exc}") from None
    except Exception:
        session.rollback()
        raise
    session.commit()
    return result


def _read_data(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise click.ClickException(f"{path.name}: cannot be read ({exc})") from None


def _closed_days(values: tuple[str, ...]) -> dict[date, str]:
    out = {}
    for value in values:
        day, _sep, why = value.partition("=")
        try:
            out[date.fromisoformat(day.strip())] = why.strip()
        except ValueError:
            raise click.BadParameter(f"{value!r}: give DATE or DATE=why (YYYY-MM-DD)",
                                     param_hint="--closed-day") from None
    return out


@fieldwork.command("setup")
@click.option("--year", type=int, required=True, help="Year the round's results go under.")
@click.option("--label", required=True, help="Name of the round.")
@click.option("--source", required=True, help="Who runs the round, and on what it rests.")
@click.option("--instruments", "instruments_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Instrument file (YAML or JSON), e.g. metrics/instruments/"
                   "mga-2017-template.yaml.")
@click.option("--scheme", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON weight scheme; default: the weights the instruments declare.")
@click.option("--deadline-days", type=int, help="Business days to answer a request.")
@click.option("--extension-days", type=int, help="Business days of extension.")
@click.option("--requests", type=int, help="Information requests per institution.")
@click.option("--proposals", type=int, help="Policy proposals per institution.")
@click.option("--closed-day", "closed", multiple=True,
              help="A non-working day besides weekends and official holidays, as DATE or "
                   "DATE=why (repeatable), e.g. 2026-04-02=Semana Santa.")
@click.option("--double-share", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of the sample coded by two coders.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the draws.")
@click.option("--coordinator", "coordinators", multiple=True, required=True,
              help="Email of a coordinator (repeatable).")
@click.option("--as", "as_email", required=True, help="Email of the admin setting it up.")
def setup_command(year: int, label: str, source: str, instruments_path: Path,
                  scheme: Path | None, deadline_days: int | None, extension_days: int | None,
                  requests: int | None, proposals: int | None, closed: tuple[str, ...],
                  double_share: float, seed: int, coordinators: tuple[str, ...],
                  as_email: str) -> None:
    """Set up a fieldwork round from an instrument file."""
    try:
        instruments = load_instruments(instruments_path)
    except InstrumentError as exc:
        raise click.ClickException(f"nothing was changed: {exc}") from None
    user = _user(as_email)
    summary = _run(lambda: service.create_round(
        db.session, user, year=year, label=label, source=source,
        instruments=dict(instruments.raw),
        weight_scheme=_read_data(scheme) if scheme else None, deadline_days=deadline_days,
        extension_days=extension_days, requests=requests, proposals=proposals,
        closed_days=_closed_days(closed), double_share=double_share, seed=seed,
        coordinators=[_user(e) for e in coordinators]))
    click.echo(f"round {summary.year} set up: {len(summary.components)} components, "
               f"{summary.items} items; deadline {summary.deadline_days} + "
               f"{summary.extension_days} business days; {summary.requests} requests and "
               f"{summary.proposals} proposals per institution")


@fieldwork.command("member")
@click.argument("year", type=int)
@click.argument("email")
@click.option("--role", type=click.Choice(["coordinator", "coder", "reviewer"]), required=True)
@click.option("--remove", is_flag=True, help="Withdraw the role instead.")
@click.option("--as", "as_email", required=True, help="Email of a coordinator of the round.")
def member_command(year: int, email: str, role: str, remove: bool, as_email: str) -> None:
    """Give an account a role in a round (or withdraw it)."""
    fw, user, member = _round(year), _user(as_email), _user(email)
    action = service.remove_member if remove else service.add_member
    changed = _run(lambda: action(db.session, user, fw, member, role))
    click.echo(f"{email}: {role} {'withdrawn' if remove else 'given'}" if changed
               else "nothing to change")


def _quotas(path: Path) -> list[service.Quota]:
    """Quotas from a CSV with columns state, level, type, count (empty cells: any)."""
    quotas = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"state", "level", "type", "count"} - set(reader.fieldnames or [])
        if missing:
            raise click.ClickException(
                f"{path.name}: lacks the columns {', '.join(sorted(missing))}")
        for number, row in enumerate(reader, start=2):
            try:
                count = int(row["count"])
            except ValueError:
                raise click.ClickException(
                    f"{path.name}, row {number}, field 'count': {row['count']!r} is not a whole "
                    "number") from None
            state = (row["state"] or "").strip() or None
            if state and state != "federal":
                state = state.zfill(2)
            quotas.append(service.Quota(count, state, (row["level"] or "").strip() or None,
                                        (row["type"] or "").strip() or None))
    return quotas


@fieldwork.command("sample")
@click.argument("year", type=int)
@click.option("--quotas", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV with columns state, level, type, count (empty: any).")
@click.option("--list", "listed", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Text file with one institution key per line.")
@click.option("--seed", type=int, help="Seed of the draw; default: the round's.")
@click.option("--as", "as_email", required=True, help="Email of a coordinator of the round.")
def sample_command(year: int, quotas: Path | None, listed: Path | None, seed: int | None,
                   as_email: str) -> None:
    """Add institutions of the registry to the sample: listed, or drawn by quotas."""
    if not quotas and not listed:
        raise click.ClickException("give --quotas or --list")
    keys = [line.strip() for line in listed.read_text(encoding="utf-8").splitlines()
            if line.strip()] if listed else []
    fw, user = _round(year), _user(as_email)
    result = _run(lambda: service.draw_sample(
        db.session, user, fw, quotas=_quotas(quotas) if quotas else (), listed=keys, seed=seed))
    for line in result.lines():
        click.echo(line)


@fieldwork.command("assign")
@click.argument("year", type=int)
@click.option("--coder", "coders", multiple=True, required=True, help="Email of a coder.")
@click.option("--double-share", type=click.FloatRange(0, 1),
              help="Share double-coded; default: the round's.")
@click.option("--seed", type=int, help="Seed of the draw; default: the round's.")
@click.option("--as", "as_email", required=True, help="Email of a coordinator of the round.")
def assign_command(year: int, coders: tuple[str, ...], double_share: float | None,
                   seed: int | None, as_email: str) -> None:
    """Assign the sampled institutions without a coder to coders (some to two)."""
    fw, user = _round(year), _user(as_email)
    people = [_user(e) for e in coders]
    result = _run(lambda: service.assign_coders(db.session, user, fw, people,
                                                double_share=double_share, seed=seed))
    for line in result.lines():
        click.echo(line)


@fieldwork.command("progress")
@click.argument("year", type=int)
@click.option("--by", type=click.Choice(service.PROGRESS_BY), default="state", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table",
              show_default=True)
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Count overdue as of this day.")
@click.option("--as", "as_email", required=True, help="Email of a coordinator or reviewer.")
def progress_command(year: int, by: str, fmt: str, today: Any, as_email: str) -> None:
    """Institutions done, items in dispute and requests overdue, per state, coder or component."""
    fw, user = _round(year), _user(as_email)
    result = _run(lambda: service.progress(db.session, user, fw, by,
                                           today.date() if today else None))
    if fmt == "csv":
        click.echo(result.csv(), nl=False)
        return
    from ..cli import _emit

    _emit([vars(r) for r in result.rows], service.PROGRESS_COLUMNS, "table")


@fieldwork.command("disagreements")
@click.argument("year", type=int)
@click.option("--open", "open_only", is_flag=True, help="Only those not yet reconciled.")
@click.option("--as", "as_email", required=True, help="Email of a reviewer or coordinator.")
def disagreements_command(year: int, open_only: bool, as_email: str) -> None:
    """List the items coders answered differently, and how each was settled."""
    fw, user = _round(year), _user(as_email)
    rows = _run(lambda: service.list_disagreements(db.session, user, fw, open_only=open_only))
    for row in rows:
        answers = "; ".join(f"{who}: {value}" for who, value in row.answers)
        settled = (f" -> {row.reconciled.answer} ({row.reconciled.reason})"
                   if row.reconciled else " -> open")
        click.echo(f"{row.institution} · {row.item} #{row.occasion}: {answers}{settled}")
    click.echo(f"{len(rows)} disagreements", err=True)


@fieldwork.command("freeze")
@click.argument("year", type=int)
@click.option("--as", "as_email", required=True, help="Email of a coordinator of the round.")
def freeze_command(year: int, as_email: str) -> None:
    """Freeze a round: read-only from then on (refused while disagreements are open)."""
    fw, user = _round(year), _user(as_email)
    result = _run(lambda: service.freeze(db.session, user, fw))
    click.echo(f"round {result.year} frozen with {result.institutions} institutions")


@fieldwork.command("publish")
@click.argument("year", type=int)
@click.option("--as", "as_email", required=True, help="Email of a coordinator of the round.")
def publish_command(year: int, as_email: str) -> None:
    """Publish a frozen round's scores as the metric round of its year."""
    fw, user = _round(year), _user(as_email)
    result = _run(lambda: service.publish(db.session, user, fw))
    click.echo(f"round {result.year} published: {result.created} scores created, "
               f"{result.updated} updated, {result.unchanged} unchanged")
    click.echo("national means: " + ", ".join(
        f"{k} {v:.4f}" if v is not None else f"{k} -" for k, v in result.national.items()))


@fieldwork.command("export")
@click.argument("year", type=int)
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--with-coders", is_flag=True,
              help="Name coders and reviewers by email (internal use); default: anonymised.")
def export_command(year: int, path: Path, with_coders: bool) -> None:
    """Write a round's fieldwork (settings, instruments, sample, observations, reconciliations)
    as one JSON file; coder ids are anonymised unless --with-coders."""
    fw = _round(year)
    data = service.export_data(db.session, fw, anonymise=not with_coders)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    click.echo(f"{len(data['institutions'])} institutions, {len(data['observations'])} "
               f"observations, {len(data['reconciliations'])} reconciliations -> {path}")


@fieldwork.command("compute")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--final", is_flag=True, help="Refuse while disagreements or answers are open.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--components", is_flag=True, help="Print the component scores too.")
def compute_command(path: Path, final: bool, fmt: str, components: bool) -> None:
    """Compute a round's indices from an exported fieldwork file (no database needed)."""
    try:
        with tqdm(total=2, desc=path.name, unit="step", disable=fmt != "table") as bar:
            data = read_fieldwork(path)
            bar.update()
            result = data.compute(final=final)
            bar.update()
    except (FieldworkDataError, InstrumentError, NotFinal) as exc:
        raise click.ClickException(str(exc)) from None
    columns = ["key", "name", *(result.components if components else ()), *INDEX_COLUMNS]
    rows = [{c: (None if isinstance(v, float) and v != v else v)
             for c, v in record.items() if c in columns}
            for record in result.frame.to_dict("records")]
    from ..cli import _emit

    _emit(rows, columns, fmt)
    summary = (f"{len(rows)} institutions; {len(result.open_disagreements)} open disagreements; "
               f"{len(result.missing)} items unanswered")
    click.echo(summary, err=True)
    for agreement in result.agreement:
        if agreement.units:
            alpha = "-" if agreement.alpha is None else f"{agreement.alpha:.3f}"
            click.echo(f"agreement {agreement.component}: alpha {alpha} over {agreement.units} "
                       f"double-coded items ({agreement.agreed} identical)", err=True)


@fieldwork.command("observe")
@click.argument("year", type=int)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "as_email", required=True, help="Email of the coder.")
def observe_command(year: int, path: Path, as_email: str) -> None:
    """Record a coder's observations from a CSV (institution key, item, occasion, answer,
    sent_on, acknowledged_on, answered_on, folio, evidence_url, evidence_file, note), all or
    nothing, as that coder (only institutions assigned to them)."""
    fw, user = _round(year), _user(as_email)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    keys = {r.get("institution", "") for r in rows}
    found = {i.key: i for i in db.session.scalars(
        select(Institution).where(Institution.key.in_(keys)))}

    def day(value: str | None, where: str) -> date | None:
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise service.FieldworkError(f"{value!r} is not a date (YYYY-MM-DD)", where) from None

    def action() -> dict[str, int]:
        outcomes: dict[str, int] = {}
        for number, row in enumerate(tqdm(rows, desc=path.name, unit="row"), start=2):
            where = f"{path.name}, row {number}"
            institution = found.get(row.get("institution", ""))
            if institution is None:
                raise service.FieldworkError(f"unknown institution {row.get('institution')!r}",
                                             f"{where}, field 'institution'")
            values = service.ObservationInput(
                answer=row.get("answer") or None,
                sent_on=day(row.get("sent_on"), f"{where}, field 'sent_on'"),
                acknowledged_on=day(row.get("acknowledged_on"), f"{where}, field "
                                                                 "'acknowledged_on'"),
                answered_on=day(row.get("answered_on"), f"{where}, field 'answered_on'"),
                folio=row.get("folio") or None, evidence_url=row.get("evidence_url") or None,
                evidence_file=row.get("evidence_file") or None, note=row.get("note") or None)
            try:
                result = service.record_observation(
                    db.session, user, fw, institution, row.get("item", ""), values,
                    occasion=int(row.get("occasion") or 1))
            except service.FieldworkError as exc:
                raise service.FieldworkError(str(exc), where) from None
            outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        return outcomes

    outcomes = _run(action)
    click.echo(", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) or "nothing to record")
