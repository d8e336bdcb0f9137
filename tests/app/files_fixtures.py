"""Small files of every kind an editor may upload (and some that must be refused), made here.

Each is a real file of its format as far as libmagic reads one (its first bytes, the names of
its first ZIP members); none is meant to open in an office suite except the XLSX, which
openpyxl writes. A PDF that a reader can open is ``PDF``.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

# A one-page PDF (a reader opens it; libmagic reads its first bytes).
PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>\n"
SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">'
       b"<script>alert(1)</script></svg>\n")


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


PNG = _png()
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
JPEG = (bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300") + b"\x08" * 64
        + bytes.fromhex("ffd9"))
WEBP = (b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11"
        b"\x88\x88\xfe\x07\x00")


def _ooxml(part: str, content_type: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/content-types"><Override PartName="/{part}" ContentType="{content_type}"/>'
            "</Types>"))
        z.writestr("_rels/.rels", (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            f'Target="{part}"/></Relationships>'))
        z.writestr(part, "<x/>")
    return buffer.getvalue()


def _odf(mimetype: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", "<x/>", compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", "<x/>", compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active["A1"] = "Asistencia"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("nota.txt", "hola")
    return buffer.getvalue()


DOCX = _ooxml("word/document.xml", "application/vnd.openxmlformats-officedocument."
                                   "wordprocessingml.document.main+xml")
PPTX = _ooxml("ppt/presentation.xml", "application/vnd.openxmlformats-officedocument."
                                      "presentationml.presentation.main+xml")
XLSX = _xlsx()
ODT = _odf("application/vnd.oasis.opendocument.text")
ODS = _odf("application/vnd.oasis.opendocument.spreadsheet")
ODP = _odf("application/vnd.oasis.opendocument.presentation")
ZIP = _zip()

# Each accepted kind: (file name, bytes, the type its content is read as).
ACCEPTED = [
    ("acta.pdf", PDF, "application/pdf"),
    ("foto.png", PNG, "image/png"),
    ("foto.jpg", JPEG, "image/jpeg"),
    ("foto.gif", GIF, "image/gif"),
    ("foto.webp", WEBP, "image/webp"),
    ("minuta.docx", DOCX,
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("asistencia.xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("sesion.pptx", PPTX,
     "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("minuta.odt", ODT, "application/vnd.oasis.opendocument.text"),
    ("asistencia.ods", ODS, "application/vnd.oasis.opendocument.spreadsheet"),
    ("sesion.odp", ODP, "application/vnd.oasis.opendocument.presentation"),
]
# Refused whatever their name says: (file name, bytes).
REFUSED = [
    ("acta.pdf", HTML),  # HTML renamed .pdf
    ("logo.png", SVG),  # SVG renamed .png
    ("pagina.html", HTML),
    ("dibujo.svg", SVG),
    ("nota.txt", b"solo texto\n"),
    ("archivo.zip", ZIP),
    ("programa.exe", b"MZ\x90\x00" + b"\x00" * 60),
]
