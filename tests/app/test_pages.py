"""The home page and the states pages, in Spanish and English."""

from __future__ import annotations

from html.parser import HTMLParser


def test_home_shows_empty_states_when_nothing_is_loaded(client):
    html = client.get("/").get_data(as_text=True)
    assert "La base de datos está vacía" in html
    assert 'lang="es"' in html


def test_home_counts_the_states(seeded_app):
    html = seeded_app.test_client().get("/").get_data(as_text=True)
    assert "<dt>Estados</dt><dd>32</dd>" in html
    assert "La base de datos está vacía" not in html


def test_english_on_request_and_remembered(seeded_app):
    client = seeded_app.test_client()
    response = client.get("/?lang=en")
    html = response.get_data(as_text=True)
    assert "<dt>States</dt><dd>32</dd>" in html
    assert 'lang="en"' in html
    assert "lang=en" in response.headers["Set-Cookie"]
    assert "<dt>States</dt>" in client.get("/").get_data(as_text=True)


def test_states_list_and_detail(seeded_app):
    client = seeded_app.test_client()
    html = client.get("/states/").get_data(as_text=True)
    assert html.count("/states/") >= 32
    assert "Michoacán de Ocampo" in html
    detail = client.get("/states/19")
    assert detail.status_code == 200
    assert "Nuevo León" in detail.get_data(as_text=True)
    assert client.get("/states/99").status_code == 404


class _Assets(HTMLParser):
    """Every address a page loads by itself (scripts, styles, images, frames, fonts)."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "audio", "video") and a.get("src"):
            self.loaded.append(a["src"] or "")
        if tag == "link" and a.get("href") and a.get("rel") not in ("alternate", "canonical"):
            self.loaded.append(a["href"] or "")


def test_pages_use_only_local_assets(seeded_app):
    """Links to sources may point anywhere; what the page loads itself is served here."""
    html = seeded_app.test_client().get("/").get_data(as_text=True)
    parser = _Assets()
    parser.feed(html)
    assert parser.loaded and all(u.startswith("/") and not u.startswith("//")
                                 for u in parser.loaded), parser.loaded
    assert "url(http" not in html and "@import" not in html


def test_home_tells_rounds_with_scores_from_published_figures_only(seeded_app):
    html = seeded_app.test_client().get("/").get_data(as_text=True)
    # The seeds hold the published national figures of every round but no institution scores.
    assert html.count("solo cifras nacionales publicadas") >= 4
    assert "resultados por institución cargados" not in html
