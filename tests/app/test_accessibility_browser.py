"""axe-core over the public pages in headless Chromium, in Spanish and English.

axe-core is vendored in tests/vendor/axe-core-<version>/ (axe.min.js with its licences, from
the npm package), so the check needs no network. Every seed is loaded with the real 2017
round (../shared) and a SYNTHETIC second round (2017's institutions moved at random, see
test_compare_charts.write_synthetic_round); without ../shared a SYNTHETIC 2019 round stands in
(metric_fixtures.write_synthetic_2019). A violation of impact "serious" or "critical" fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ActionPlan, Commitment, Institution
from tests.app import metric_fixtures
from tests.app.test_compare_charts import write_synthetic_round

pytestmark = pytest.mark.browser

AXE = next((Path(__file__).parents[1] / "vendor").glob("axe-core-*/axe.min.js"))
FAILING_IMPACTS = {"serious", "critical"}


@pytest.fixture
def audited_app(seeded_app, tmp_path):
    """Every seed, the real 2017 round and a synthetic 2019 (or a synthetic 2019 alone)."""
    try:
        bso = metric_fixtures.bso_path()
    except pytest.skip.Exception:
        bso = None
    if bso is not None:
        metric_fixtures.import_file(seeded_app, bso, 2017)
        synthetic = write_synthetic_round(seeded_app, tmp_path / "synthetic.csv")
    else:
        synthetic = metric_fixtures.write_synthetic_2019(tmp_path / "synthetic.csv")
    metric_fixtures.import_file(seeded_app, synthetic, 2019)
    return seeded_app, (2017 if bso is not None else 2019)


def audited_paths(app, year: int) -> list[str]:
    with app.app_context():
        commitment = db.session.scalars(select(Commitment.id).order_by(Commitment.id)).first()
        plan = db.session.scalars(select(ActionPlan.id).order_by(ActionPlan.id)).first()
        institution = db.session.scalars(
            select(Institution.id).order_by(Institution.id)).first()
    return [
        "/", "/map", "/embed/map", "/exercises", "/states/10", f"/plans/{plan}",
        f"/commitments/{commitment}", f"/metric/{year}", f"/institutions/{institution}",
        "/metric/compare?from=2017&to=2019" if year == 2017 else "/metric/compare",
    ]


def axe_violations(page) -> list[dict]:  # noqa: ANN001
    """Run axe-core on the open page; return its violations (id, impact, help, targets)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluate() is not subject to the page's Content-Security-Policy (a script tag is).
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
            count: v.nodes.length}));
    }""")


def test_no_serious_or_critical_violation_in_either_language(audited_app, live_server, page):
    app, year = audited_app
    page.set_viewport_size({"width": 1280, "height": 900})
    failures = []
    for path in audited_paths(app, year):
        for lang in ("es", "en"):
            url = f"{live_server}{path}{'&' if '?' in path else '?'}lang={lang}"
            response = page.goto(url)
            assert response.status == 200, url
            for v in axe_violations(page):
                if v["impact"] in FAILING_IMPACTS:
                    failures.append(f"{path} [{lang}] {v['id']} ({v['impact']}, {v['count']} "
                                    f"nodes): {v['help']}; {', '.join(v['targets'])}")
    assert page.blocked_requests == []
    assert not failures, "axe-core found:\n" + "\n".join(failures)


def test_the_check_catches_a_violation(app, live_server, page):
    """The check is real: a page with an unnamed image button and low contrast fails it."""
    page.goto(f"{live_server}/?lang=es")
    page.evaluate("""() => {
        const b = document.createElement('button');
        b.innerHTML = '<svg width="10" height="10"></svg>';
        document.querySelector('main').append(b);
    }""")
    assert "button-name" in {v["id"] for v in axe_violations(page)
                             if v["impact"] in FAILING_IMPACTS}
