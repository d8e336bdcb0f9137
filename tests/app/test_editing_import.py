"""Admin: import a metric round from the browser (the importer of `flask metric import`)."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Institution, MetricRound, MetricScore
from tests.app import editing_fixtures
from tests.app.metric_fixtures import write_synthetic_2019

local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user

SOURCE = "https://example.org/metrica-2019-sintetica.csv"


def _counts(app) -> tuple:  # noqa: ANN001
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (MetricRound, Institution, MetricScore, AuditEvent))


def _post(client, content: bytes, name: str = "ronda.csv", **extra):  # noqa: ANN001, ANN202
    data = {"file": (io.BytesIO(content), name), "year": "2019", "source": SOURCE, **extra}
    return client.post("/admin/metric/import", data=data, content_type="multipart/form-data")


def test_only_an_admin_imports(local_app, as_user, tmp_path: Path):
    content = write_synthetic_2019(tmp_path / "r.csv").read_bytes()
    before = _counts(local_app)
    anonymous = as_user(None)
    assert anonymous.get("/admin/metric/import").headers["Location"].startswith("/login")
    assert _post(anonymous, content).status_code == 302
    editor = as_user("durango@example.org")
    assert editor.get("/admin/metric/import").status_code == 403
    assert _post(editor, content).status_code == 403
    assert _counts(local_app) == before


def test_an_admin_imports_a_round_and_sees_the_report(local_app, as_user, tmp_path: Path):
    content = write_synthetic_2019(tmp_path / "r.csv").read_bytes()
    admin = as_user("admin@example.org")
    assert 'enctype="multipart/form-data"' in admin.get("/admin/metric/import").get_data(True)
    before = _counts(local_app)
    # A dry run reports and stores nothing.
    response = _post(admin, content, dry_run="y")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "rows read:" in page and "no se guardó" in page
    assert _counts(local_app) == before
    response = _post(admin, content)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "rows read:" in page and "scores:" in page
    with local_app.app_context():
        assert db.session.scalars(select(MetricRound).where(MetricRound.year == 2019)).one()
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "metric_score"))
        # Recorded as the admin's agency and account, with the source given.
        assert {(e.actor, e.user_id is not None, e.source) for e in events} == {
            ("SESNA", True, SOURCE)}
    after = _counts(local_app)
    assert after[0] == before[0] + 1 and after[2] > before[2]
    # The same file again changes nothing.
    assert _post(admin, content).status_code == 200
    assert _counts(local_app)[:3] == after[:3]


def test_a_bad_file_stores_nothing_and_says_why(local_app, as_user, tmp_path: Path):
    admin = as_user("admin@example.org")
    content = write_synthetic_2019(tmp_path / "r.csv").read_text(encoding="utf-8")
    before = _counts(local_app)
    bad = content.replace("state,Aguascalientes", "state,Atlántida", 1).encode()
    response = _post(admin, bad, strict="y")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "No se importó nada" in page
    assert _counts(local_app) == before
    response = _post(admin, b"")
    assert response.status_code == 422 and "empty" in response.get_data(as_text=True)
    # A new round without its source is refused by the importer, with its message.
    response = _post(admin, content.encode(), source="")
    assert response.status_code == 422 and "source" in response.get_data(as_text=True)
    assert _counts(local_app) == before


def test_the_size_limit_is_import_max_bytes(local_app, as_user, tmp_path: Path):
    content = write_synthetic_2019(tmp_path / "r.csv").read_bytes()
    local_app.config["IMPORT_MAX_BYTES"] = len(content) - 1
    admin = as_user("admin@example.org")
    before = _counts(local_app)
    response = _post(admin, content)
    assert response.status_code == 422 and "IMPORT_MAX_BYTES" in response.get_data(True)
    assert _post(admin, content * (1 + 70_000 // len(content))).status_code == 413
    assert _counts(local_app) == before
