"""PDF from a rendered page, with WeasyPrint (HTML and CSS to PDF; it needs Debian's Pango at
run time: ``scripts/ensure-debian-packages``, called by the Makefile, installs it).

The page is laid out with its print stylesheet (WeasyPrint reads ``@media print`` and
``@page``). Nothing is fetched from the network: the stylesheets are read from the app's
static folder, and any other resource (an image from elsewhere) is left out. Links in the
PDF point at the public site (``SITE_URL``).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from werkzeug.security import safe_join


class Refused(ValueError):
    """A resource the PDF does not fetch (anything but this site's static files)."""


def _fetcher(site_url: str, static_path: str, folder: Path) -> Any:
    """A WeasyPrint URL fetcher that reads SITE_URL/static/... from ``folder`` and nothing
    else (no network: every other address is refused, and WeasyPrint leaves it out)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    site = urlsplit(site_url)
    prefix = static_path.rstrip("/") + "/"

    class StaticOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            parts = urlsplit(url)
            if (parts.scheme, parts.netloc) != (site.scheme, site.netloc) or \
                    not parts.path.startswith(prefix):
                raise Refused(f"not fetched for a PDF: {url}")
            path = safe_join(str(folder), parts.path[len(prefix):])
            if path is None or not Path(path).is_file():
                raise Refused(f"no such static file: {url}")
            mime_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
            return URLFetcherResponse(url, Path(path).read_bytes(),
                                      {"Content-Type": mime_type})

    return StaticOnly()


def html_to_pdf(html: str) -> bytes:
    """The PDF of ``html`` (a page of this site, laid out for print; its title is the
    document's title)."""
    from weasyprint import HTML  # imported here: Pango is loaded on first use

    app = current_app
    site_url = app.config["SITE_URL"].rstrip("/") + "/"
    fetcher = _fetcher(site_url, app.static_url_path or "/static",
                       Path(app.static_folder or "static"))
    pdf: bytes = HTML(string=html, base_url=site_url, url_fetcher=fetcher,
                      media_type="print").write_pdf()
    return pdf
