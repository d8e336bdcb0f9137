"""The files agencies upload as evidence or with a progress report: checked, kept, served.

A file is accepted when its CONTENT is one of the types of ``common.codes.FILE_TYPES`` (read
by libmagic, the library behind file(1), through python-magic; the name and the type the
browser sent are ignored) and it is no larger than EVIDENCE_MAX_BYTES. It is kept once, named
by the SHA-256 of its bytes, in the folder EVIDENCE_FILES_DIR (default instance/evidence-files);
the record keeps the name it was uploaded with, its size, its type and the hash
(``app.models.local.WithFile``). Two records holding the same bytes share one stored file.

Files are never removed here: a soft-deleted record keeps its file (it can be restored), and
there is no purge of deleted records yet, so nothing deletes a stored file.

A file is served as a download (``Content-Disposition: attachment``) with the type its content
was checked to be, ``X-Content-Type-Options: nosniff`` and a sandboxing Content-Security-Policy,
so no browser renders an upload as a page of this site.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app, send_file, url_for
from flask_babel import lazy_gettext as _l
from werkzeug import Response
from werkzeug.exceptions import NotFound

from common.codes import FILE_TYPES

from .schema.fields import FieldError

SHA256 = re.compile(r"^[0-9a-f]{64}$")
# What libmagic calls the types it must never let through, for a clearer refusal.
_DANGEROUS = ("text/html", "image/svg+xml", "application/xhtml+xml", "text/javascript",
              "application/javascript", "text/xml", "application/xml")
NAME_LENGTH = 255


@dataclass(frozen=True)
class Upload:
    """A file accepted: its bytes and what the record keeps of it."""

    data: bytes
    name: str
    size: int
    type: str
    sha256: str

    def columns(self) -> dict[str, Any]:
        """The record's file columns."""
        return {"file_name": self.name, "file_size": self.size, "file_type": self.type,
                "file_sha256": self.sha256}


def content_type(data: bytes) -> str:
    """The media type libmagic reads from ``data`` (its name plays no part)."""
    import magic

    return str(magic.from_buffer(data, mime=True))


def format_size(size: int) -> str:
    """A size as a person reads it ("850 B", "12,3 kB", "4,1 MB"), in their language."""
    from app.i18n import format_number

    if size < 1000:
        return f"{size} B"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if size < scale * 1000 or unit == "GB":
            value = size / scale
            whole = value >= 100 or round(value, 1).is_integer()
            return f"{format_number(value, 0 if whole else 1)} {unit}"
    raise AssertionError("unreachable")


def clean_name(name: str) -> str:
    """The name a file was uploaded with, kept for the reader: no folders, no control
    characters, NFC, at most 255 characters (its extension kept); "archivo" when empty."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    if len(name) > NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:20] if dot else ""
        name = (stem if dot else name)[:NAME_LENGTH - len(ext) - 1] + (f".{ext}" if ext else "")
    return name or "archivo"


def max_bytes() -> int:
    return int(current_app.config["EVIDENCE_MAX_BYTES"])


def read_upload(stream: IO[bytes], filename: str, limit: int) -> Upload:
    """Read and check an uploaded file; FieldError (translated) when it is refused."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise FieldError(_l("pesa más de %(max)s, el máximo"), max=format_size(limit))
    return check(data, filename)


def check(data: bytes, filename: str) -> Upload:
    """Accept ``data`` when its content is an allowed type; FieldError says why not."""
    if not data:
        raise FieldError(_l("el archivo está vacío"))
    found = content_type(data)
    if found not in FILE_TYPES.codes:
        allowed = allowed_text()
        if found in _DANGEROUS:
            raise FieldError(_l("su contenido es %(type)s, no un documento ni una imagen "
                                "(sea cual sea su nombre); se aceptan: %(allowed)s"),
                             type=found, allowed=allowed)
        raise FieldError(_l("su contenido es de tipo %(type)s, que no se acepta (sea cual sea "
                            "su nombre); se aceptan: %(allowed)s"), type=found, allowed=allowed)
    return Upload(data, clean_name(filename), len(data), found,
                  hashlib.sha256(data).hexdigest())


def allowed_text() -> str:
    """The accepted types, as the forms and refusals name them ("PDF, PNG, ... ODP")."""
    return ", ".join(dict.fromkeys(_short_label(c) for c in FILE_TYPES.codes))


def _short_label(code: str) -> str:
    """A type's format name, the same in every language ("Imagen PNG": "PNG")."""
    label = FILE_TYPES._labels[code]
    return label[label.index("(") + 1:-1] if label.endswith(")") else label.split()[-1]


# --- The store ------------------------------------------------------------------------------


def folder() -> Path:
    """Where files are kept: EVIDENCE_FILES_DIR, or instance/evidence-files."""
    configured = current_app.config.get("EVIDENCE_FILES_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "evidence-files"


def path_of(sha256: str, base: Path | None = None) -> Path:
    if not SHA256.match(sha256):
        raise ValueError(f"not a SHA-256: {sha256!r}")
    return (base or folder()) / sha256


def store(data: bytes, base: Path | None = None) -> str:
    """Keep ``data`` under its SHA-256 (written whole or not at all); return the hash.

    Storing bytes already kept changes nothing. A file stored for a change that is then
    rolled back stays, unused (it is named by its content, so it harms nothing).
    """
    sha256 = hashlib.sha256(data).hexdigest()
    target = path_of(sha256, base)
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
        return sha256
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return sha256


def read(sha256: str, base: Path | None = None) -> bytes:
    """The stored bytes of ``sha256``; FileNotFoundError when missing, ValueError when the
    stored bytes no longer have that hash."""
    data = path_of(sha256, base).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"the stored file {sha256} no longer has that SHA-256")
    return data


# --- Serving --------------------------------------------------------------------------------

# The kinds whose records hold files, by table: the name of their download route's kind.
FILE_KINDS = {"evidence": "evidence", "progress_entry": "progress"}


def file_url(obj: Any, *, external: bool = False) -> str | None:
    """The address of a record's file download, or None when it holds none."""
    if getattr(obj, "file_sha256", None) is None:
        return None
    kind = FILE_KINDS[obj.__tablename__]
    path = url_for("plans.record_file", kind=kind, obj_id=obj.id)
    return current_app.config["SITE_URL"].rstrip("/") + path if external else path


def download(obj: Any) -> Response:
    """A record's file as a download: attachment, the checked type, nosniff, sandboxed."""
    path = path_of(obj.file_sha256)
    if not path.is_file():  # the store lost it (restore EVIDENCE_FILES_DIR from a backup)
        current_app.logger.error("stored file %s of %s %s is missing", obj.file_sha256,
                                 obj.__tablename__, obj.id)
        raise NotFound()
    response = send_file(path, mimetype=obj.file_type, as_attachment=True,
                         download_name=obj.file_name, conditional=True, etag=obj.file_sha256,
                         max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
