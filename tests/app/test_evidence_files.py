"""Evidence files: accepted by their content (never their name), kept once by their SHA-256,
served as downloads that no browser renders, listed on the public page, kept through soft
delete and restore, and carried byte for byte by `flask export` and `flask import`."""

from __future__ import annotations

import filecmp
import hashlib
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app import files
from app.extensions import db
from app.models import AuditEvent, Base, Evidence
from app.schema.fields import FieldError
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, commitment_of, last_event_id
from tests.app.files_fixtures import ACCEPTED, HTML, PDF, PNG, REFUSED, SVG
from tests.databases import reset_database

local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user
SOURCE = "https://idaip.example.org/sesion-3.pdf"


@pytest.mark.parametrize("name, data, expected", ACCEPTED)
def test_each_accepted_kind_is_read_by_its_content(app, name, data, expected):
    with app.test_request_context():
        upload = files.check(data, name)
        assert (upload.type, upload.name, upload.size) == (expected, name, len(data))
        assert upload.sha256 == hashlib.sha256(data).hexdigest()
        # The name plays no part: the same bytes under another name are the same type.
        assert files.check(data, "sin-nombre.bin").type == expected


@pytest.mark.parametrize("name, data", REFUSED)
def test_html_svg_text_archives_and_programs_are_refused_whatever_their_name(app, name, data):
    with app.test_request_context():
        with pytest.raises(FieldError) as refused:
            files.check(data, name)
        assert "sea cual sea su nombre" in refused.value.text()
        assert "PDF, PNG, JPEG, GIF, WebP, DOCX, XLSX, PPTX, ODT, ODS, ODP" in refused.value.text()


def test_a_stored_name_keeps_no_folder_nor_control_characters():
    assert files.clean_name("C:\\Users\\ana\\Acta final.pdf") == "Acta final.pdf"
    assert files.clean_name("../../etc/passwd") == "passwd"
    assert files.clean_name("a\x00b\u202ec.pdf") == "abc.pdf"
    assert files.clean_name("") == "archivo"
    long = files.clean_name("x" * 400 + ".pdf")
    assert len(long) == 255 and long.endswith(".pdf")


def _get(client, url: str):
    """A response read whole and closed (a download streams the stored file)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def _new_evidence(client, commitment: int, name: str, data: bytes, **fields: str):
    form = {"title": "Minuta de la tercera sesión", "dated": "2024-05-02",
            "proves": "Que la mesa sesionó con quórum", "milestone_id": "", "url": "",
            "source_url": SOURCE, **fields, "file": (io.BytesIO(data), name)}
    return client.post(f"/edit/evidence/new/{commitment}", data=form,
                       content_type="multipart/form-data")


def test_a_pdf_is_kept_by_its_hash_listed_and_downloaded_byte_for_byte(local_app, as_user):
    with local_app.app_context():
        commitment = commitment_of(DURANGO)
    start = last_event_id(local_app)
    response = _new_evidence(as_user("durango@example.org"), commitment, "Minuta sesión 3.pdf",
                             PDF)
    assert response.status_code == 302, response.get_data(True)[:2000]
    sha256 = hashlib.sha256(PDF).hexdigest()
    store = Path(local_app.config["EVIDENCE_FILES_DIR"])
    assert (store / sha256).read_bytes() == PDF  # kept once, named by its content
    with local_app.app_context():
        evidence = db.session.scalars(select(Evidence).where(
            Evidence.file_sha256 == sha256)).one()
        assert (evidence.file_name, evidence.file_size, evidence.file_type, evidence.url) == (
            "Minuta sesión 3.pdf", len(PDF), "application/pdf", None)
        (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.id > start)).all()
        assert event.after["file_sha256"] == sha256 and event.source == SOURCE
        evidence_id = evidence.id

    public = local_app.test_client()  # anonymous
    page = public.get(f"/commitments/{commitment}").get_data(as_text=True)
    assert "Minuta sesión 3.pdf" in page and "Que la mesa sesionó con quórum" in page
    assert "2 de mayo de 2024" in page  # the document's own date, in the reader's language
    assert f"{len(PDF)} B" in page and "PDF" in page
    download = _get(public, f"/files/evidence/{evidence_id}")
    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''Minuta%20sesi%C3%B3n%203.pdf" in download.headers[
        "Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    api = public.get(f"/api/v1/evidence/{evidence_id}").get_json()
    assert api["file_sha256"] == sha256 and api["file_url"].endswith(
        f"/files/evidence/{evidence_id}")


@pytest.mark.parametrize("name, data", [("acta.pdf", HTML), ("logo.png", SVG)])
def test_html_or_svg_renamed_is_refused_and_nothing_is_kept(local_app, as_user, name, data):
    with local_app.app_context():
        commitment = commitment_of(DURANGO)
    start = last_event_id(local_app)
    response = _new_evidence(as_user("durango@example.org"), commitment, name, data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "sea cual sea su nombre" in page and "field-error" in page
    assert last_event_id(local_app) == start
    store = Path(local_app.config["EVIDENCE_FILES_DIR"])
    assert not store.exists() or not any(store.iterdir())


def test_a_file_over_the_limit_is_refused_naming_the_limit(local_app, as_user):
    local_app.config["EVIDENCE_MAX_BYTES"] = 100
    with local_app.app_context():
        commitment = commitment_of(DURANGO)
    response = _new_evidence(as_user("durango@example.org"), commitment, "acta.pdf", PDF)
    assert response.status_code == 200
    assert "pesa más de 100 B, el máximo" in response.get_data(as_text=True)
    # A body far over the limit is refused before it is read.
    huge = _new_evidence(as_user("durango@example.org"), commitment, "acta.pdf",
                         b"%PDF-1.4\n" + b"0" * 100_000)
    assert huge.status_code == 413


def test_evidence_needs_an_address_or_a_file_and_a_file_is_its_own_source(local_app, as_user):
    with local_app.app_context():
        commitment = commitment_of(DURANGO)
    client = as_user("durango@example.org")
    empty = client.post(f"/edit/evidence/new/{commitment}", data={
        "title": "Sin nada", "source_url": SOURCE})
    assert empty.status_code == 200
    assert "Dé la dirección (URL) de la evidencia o suba su archivo." in empty.get_data(True)
    start = last_event_id(local_app)
    # No source typed: the file uploaded is the source of the change.
    response = _new_evidence(client, commitment, "foto.png", PNG, source_url="")
    assert response.status_code == 302, response.get_data(True)[:2000]
    with local_app.app_context():
        (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.id > start)).all()
        assert event.source == f"foto.png · SHA-256 {hashlib.sha256(PNG).hexdigest()}"


def test_a_new_file_replaces_the_old_one_which_stays_stored(local_app, as_user):
    with local_app.app_context():
        commitment = commitment_of(DURANGO)
    client = as_user("durango@example.org")
    assert _new_evidence(client, commitment, "acta.pdf", PDF).status_code == 302
    with local_app.app_context():
        evidence = db.session.scalars(select(Evidence).where(
            Evidence.file_sha256.is_not(None))).one()
        evidence_id = evidence.id
    form = client.get(f"/edit/evidence/{evidence_id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and "acta.pdf" in form
    # Editing the title alone keeps the file (the rule reads the file kept).
    kept = client.post(f"/edit/evidence/{evidence_id}", data={
        "title": "Acta firmada", "url": "", "version": "1", "source_url": SOURCE})
    assert kept.status_code == 302, kept.get_data(True)[:2000]
    replaced = client.post(f"/edit/evidence/{evidence_id}", data={
        "title": "Acta firmada", "url": "", "version": "2", "source_url": SOURCE,
        "file": (io.BytesIO(PNG), "foto-acta.png")}, content_type="multipart/form-data")
    assert replaced.status_code == 302
    store = Path(local_app.config["EVIDENCE_FILES_DIR"])
    assert {p.name for p in store.iterdir()} == {hashlib.sha256(PDF).hexdigest(),
                                                 hashlib.sha256(PNG).hexdigest()}
    with local_app.app_context():
        evidence = db.session.get(Evidence, evidence_id)
        assert (evidence.file_name, evidence.file_type) == ("foto-acta.png", "image/png")
    history = local_app.test_client().get(f"/commitments/{commitment}").get_data(True)
    assert "acta.pdf → foto-acta.png" in history  # the history names both files


def test_a_deleted_evidence_keeps_its_file_and_restoring_serves_it_again(local_app, as_user):
    with local_app.app_context():
        commitment = commitment_of(DURANGO)
    editor = as_user("durango@example.org")
    assert _new_evidence(editor, commitment, "acta.pdf", PDF).status_code == 302
    with local_app.app_context():
        evidence_id = db.session.scalars(select(Evidence.id).where(
            Evidence.file_sha256.is_not(None))).one()
    assert editor.post(f"/edit/evidence/{evidence_id}/delete", data={
        "version": "1", "source_url": SOURCE}).status_code == 302
    public = local_app.test_client()
    assert _get(public, f"/files/evidence/{evidence_id}").status_code == 404
    stored = Path(local_app.config["EVIDENCE_FILES_DIR"]) / hashlib.sha256(PDF).hexdigest()
    assert stored.read_bytes() == PDF  # not deleted with the record
    admin = as_user("admin@example.org")
    assert admin.post(f"/admin/records/evidence/{evidence_id}/restore",
                      data={"source_url": SOURCE}).status_code == 302
    assert _get(public, f"/files/evidence/{evidence_id}").data == PDF


def test_a_missing_stored_file_is_a_404_not_an_error(local_app, as_user):
    with local_app.app_context():
        commitment = commitment_of(DURANGO)
    assert _new_evidence(as_user("durango@example.org"), commitment, "acta.pdf",
                         PDF).status_code == 302
    store = Path(local_app.config["EVIDENCE_FILES_DIR"])
    (store / hashlib.sha256(PDF).hexdigest()).unlink()
    with local_app.app_context():
        evidence_id = db.session.scalars(select(Evidence.id).where(
            Evidence.file_sha256.is_not(None))).one()
    assert local_app.test_client().get(f"/files/evidence/{evidence_id}").status_code == 404
    assert local_app.test_client().get("/files/nothing/1").status_code == 404


# --- Export and import ---------------------------------------------------------------------


def _export(app, folder: Path, *options: str):
    result = app.test_cli_runner().invoke(args=["export", str(folder), *options])
    assert result.exit_code == 0, result.output
    return result


def _emptied(app, store: Path) -> None:
    """The same database emptied, and a new, empty store (a machine restored from backup)."""
    with app.app_context():
        db.session.close()
        reset_database(db.engine)
        Base.metadata.create_all(db.engine)
    app.config["EVIDENCE_FILES_DIR"] = str(store)


def _same_tree(a: Path, b: Path) -> None:
    names = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert (mismatch, errors) == ([], [])


@pytest.fixture
def with_files(local_app, as_user):
    """Durango's commitment with a PDF, a soft-deleted PNG and a progress report with a PDF
    (the same bytes: one stored file)."""
    with local_app.app_context():
        commitment = commitment_of(DURANGO)
    editor = as_user("durango@example.org")
    assert _new_evidence(editor, commitment, "acta.pdf", PDF).status_code == 302
    assert _new_evidence(editor, commitment, "foto.png", PNG).status_code == 302
    with local_app.app_context():
        png = db.session.scalars(select(Evidence.id).where(
            Evidence.file_type == "image/png")).one()
    assert editor.post(f"/edit/evidence/{png}/delete", data={
        "version": "1", "source_url": SOURCE}).status_code == 302
    assert editor.post(f"/edit/progress/new/{commitment}", data={
        "reported_on": "2024-06-10", "text": "Se publicó el acta.", "source_url": SOURCE,
        "file": (io.BytesIO(PDF), "acta-de-nuevo.pdf")},
        content_type="multipart/form-data").status_code == 302
    return local_app


def test_export_import_export_is_byte_identical_with_files(with_files, tmp_path):
    app = with_files
    first, second = tmp_path / "first", tmp_path / "second"
    output = _export(app, first, "--with-accounts").output
    assert "and 2 files" in output
    package = json.loads((first / "datapackage.json").read_text())
    listed = {e["path"]: e for e in package["files"]}
    for sha256, data in ((hashlib.sha256(PDF).hexdigest(), PDF),
                         (hashlib.sha256(PNG).hexdigest(), PNG)):  # the deleted one's too
        assert (first / "files" / sha256).read_bytes() == data
        assert listed[f"files/{sha256}"] == {"path": f"files/{sha256}",
                                             "hash": f"sha256:{sha256}", "bytes": len(data)}
    new_store = tmp_path / "restored-store"
    _emptied(app, new_store)
    result = app.test_cli_runner().invoke(args=["import", str(first)])
    assert result.exit_code == 0, result.output
    assert "and 2 files" in result.output
    assert (new_store / hashlib.sha256(PNG).hexdigest()).read_bytes() == PNG
    _export(app, second, "--with-accounts")
    _same_tree(first, second)
    with app.app_context():
        evidence_id = db.session.scalars(select(Evidence.id).where(
            Evidence.file_type == "application/pdf")).one()
    assert _get(app.test_client(), f"/files/evidence/{evidence_id}").data == PDF


def test_import_refuses_a_file_whose_hash_does_not_match(with_files, tmp_path):
    app = with_files
    folder = tmp_path / "p"
    _export(app, folder)
    sha256 = hashlib.sha256(PDF).hexdigest()
    (folder / "files" / sha256).write_bytes(PDF + b"changed")
    _emptied(app, tmp_path / "store")
    result = app.test_cli_runner().invoke(args=["import", str(folder)])
    assert result.exit_code != 0
    assert f"files/{sha256}: its SHA-256 is" in result.output
    assert "nothing was imported" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0
    assert not (tmp_path / "store").exists()


def test_import_refuses_a_row_naming_a_file_not_in_the_package(with_files, tmp_path):
    app = with_files
    folder = tmp_path / "p"
    _export(app, folder)
    package = json.loads((folder / "datapackage.json").read_text())
    package["files"] = [e for e in package["files"]
                        if e["path"] != f"files/{hashlib.sha256(PNG).hexdigest()}"]
    (folder / "datapackage.json").write_text(json.dumps(package))
    _emptied(app, tmp_path / "store")
    result = app.test_cli_runner().invoke(args=["import", str(folder)])
    assert result.exit_code != 0
    assert "field file_sha256: the file" in result.output and "is not in the package" in (
        result.output)


def test_export_refuses_when_the_store_lost_a_file(with_files, tmp_path):
    app = with_files
    (Path(app.config["EVIDENCE_FILES_DIR"]) / hashlib.sha256(PNG).hexdigest()).unlink()
    result = app.test_cli_runner().invoke(args=["export", str(tmp_path / "p")])
    assert result.exit_code != 0
    assert "is missing from the store" in result.output


def test_a_conflict_says_the_file_uploaded_must_be_uploaded_again(local_app, as_user):
    with local_app.app_context():
        commitment = commitment_of(DURANGO)
    first, second = as_user("durango@example.org"), as_user("admin@example.org")
    assert _new_evidence(first, commitment, "acta.pdf", PDF).status_code == 302
    with local_app.app_context():
        evidence_id = db.session.scalars(select(Evidence.id)).one()
    url = f"/edit/evidence/{evidence_id}"
    assert first.post(url, data={"title": "Acta firmada", "version": "1",
                                 "source_url": SOURCE}).status_code == 302
    conflict = second.post(url, data={
        "title": "Minuta de la tercera sesión", "version": "1", "source_url": SOURCE,
        "file": (io.BytesIO(PNG), "foto.png")}, content_type="multipart/form-data")
    assert conflict.status_code == 409
    page = conflict.get_data(as_text=True)
    assert "El archivo que subió (foto.png) no se guardó: súbalo de nuevo." in page
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page
    with local_app.app_context():
        assert db.session.get(Evidence, evidence_id).file_name == "acta.pdf"
