"""Honest counts: local and national apart, each published headline count with date and source."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import ActionPlan, Commitment, ProgrammeCount


def _recorded(app):  # noqa: ANN001, ANN202
    """Plans and commitments by scope and, for local ones, programme (INAI / OGP Local)."""
    with app.app_context():
        def count(scope: str, model: type) -> int:
            where = [ActionPlan.scope == scope]
            if scope in ("inai_cocreacion", "ogp_local"):
                where = [ActionPlan.programme == scope]
            stmt = select(func.count()).select_from(ActionPlan).where(*where)
            if model is Commitment:
                stmt = select(func.count()).select_from(Commitment).join(ActionPlan).where(*where)
            return db.session.scalar(stmt)

        return {(s, m.__name__): count(s, m)
                for s in ("local", "national", "inai_cocreacion", "ogp_local")
                for m in (ActionPlan, Commitment)}


def _stat(html: str, label: str) -> int:
    return int(re.search(rf"<dt>{label}</dt><dd>(\d+)</dd>", html).group(1))


def test_home_page_counts_local_and_national_plans_apart(seeded_app):
    html = seeded_app.test_client().get("/").get_data(as_text=True)
    recorded = _recorded(seeded_app)
    assert recorded[("national", "ActionPlan")] > 0 and recorded[("local", "ActionPlan")] > 0
    inai, ogp = recorded[("inai_cocreacion", "ActionPlan")], recorded[("ogp_local", "ActionPlan")]
    assert inai > 0 and ogp > 0 and inai + ogp == recorded[("local", "ActionPlan")]
    assert _stat(html, r"Planes locales de Cocreación desde lo Local \(INAI\)") == inai
    assert _stat(html, "Planes de OGP Local") == ogp
    assert _stat(html, "Planes de acción nacionales") == recorded[("national", "ActionPlan")]
    assert _stat(html, r"Compromisos de planes locales \(INAI\)") == recorded[
        ("inai_cocreacion", "Commitment")]
    assert _stat(html, "Compromisos de planes de OGP Local") == recorded[
        ("ogp_local", "Commitment")]
    # The programme's own figures (beside its published headline counts) leave OGP Local out.
    assert f"<td>{inai} planes del programa" in html
    assert _stat(html, "Compromisos de planes nacionales") == recorded[("national", "Commitment")]
    assert "<dt>Planes de acción</dt>" not in html  # no mixed total any more


def test_every_headline_count_is_shown_with_date_and_source(seeded_app):
    client = seeded_app.test_client()
    home = client.get("/").get_data(as_text=True)
    exercises = client.get("/exercises").get_data(as_text=True)
    with seeded_app.app_context():
        counts = db.session.scalars(select(ProgrammeCount)).all()
    assert len(counts) >= 7
    start = home.index('id="headline-counts"')
    home_list = home[start:home.index("</ul>", start)]
    items = home_list.split("<li>")[1:]
    assert len(items) == len(counts)
    for c in counts:
        if c.as_of:
            assert any(i.strip().startswith(f"{c.as_of}:") for i in items), c.as_of
    for item in items:
        assert "<cite>" in item or "<a href" in item  # a citation, never a bare file name
    for page in (home, exercises):
        assert "opengovpartnership.org/stories/a-gradual-open-state-in-mexico" in page


def test_later_headline_count_of_140_is_loaded_with_its_quote(seeded_app):
    with seeded_app.app_context():
        later = db.session.scalars(
            select(ProgrammeCount).where(ProgrammeCount.commitments == 140)).one()
    assert later.as_of is None  # the publication's date is not known: not invented
    assert "más de 140" in later.note
    assert "building on the experience gained from over 140 commitments" in later.note
    html = seeded_app.test_client().get("/exercises").get_data(as_text=True)
    assert "más de 140" in html


def test_exercises_lists_recorded_plans_by_scope_and_programme(seeded_app):
    html = seeded_app.test_client().get("/exercises").get_data(as_text=True)
    recorded = _recorded(seeded_app)
    rows = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in re.finditer(
        r'programme=(\w+)">[^<]+</a></th><td class="num">(\d+)</td><td class="num">(\d+)</td>',
        html)}
    assert {"ogp_national", "inai_cocreacion", "ogp_local"} <= set(rows)
    for programme in ("inai_cocreacion", "ogp_local"):
        assert rows[programme] == (recorded[(programme, "ActionPlan")],
                                   recorded[(programme, "Commitment")])
    assert rows["ogp_national"] == (recorded[("national", "ActionPlan")],
                                    recorded[("national", "Commitment")])
    local = [v for k, v in rows.items() if k != "ogp_national"]
    assert sum(p for p, _ in local) == recorded[("local", "ActionPlan")]
