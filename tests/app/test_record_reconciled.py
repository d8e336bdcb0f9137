"""The record, reconciled: each corrected basis asserted; sources listed as a librarian would
(no address-made title without its reason, every third-party copy naming its original, no
cited source without an address unless the registry says why); the new facts on the pages."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import (
    ActionPlan,
    Assessment,
    Commitment,
    MetricRound,
    ProgrammeFact,
    PublishedFigure,
    Source,
    SourceLink,
)
from seeds.sources import COPY_HOSTS, is_copy_host, url_host


def _figures(year: int, **where) -> list[PublishedFigure]:  # noqa: ANN003
    stmt = select(PublishedFigure).join(MetricRound).where(MetricRound.year == year)
    for name, value in where.items():
        stmt = stmt.where(getattr(PublishedFigure, name) == value)
    return list(db.session.scalars(stmt))


# --- The four basis corrections ------------------------------------------------------------


def test_2017_split_by_level_is_computed_from_the_institution_file(seeded_app):
    with seeded_app.app_context():
        levels = {f.scope_key: f for f in _figures(2017, scope="level", index_name="N")}
    assert {k: f.value for k, f in levels.items()} == {
        "federal": 46, "state": 702, "municipal": 160}
    for f in levels.values():
        assert f.basis == "computed" and "BSO.csv" in f.reasoning
        assert f.source.startswith("mga-2017-bso") and "resumen" not in f.source


def test_2021_guanajuato_and_guerrero_are_press_figures_only(seeded_app):
    with seeded_app.app_context():
        for cve, value, paper in (("11", 0.65, "heraldodemexico"), ("12", 0.35, "jornada")):
            found = _figures(2021, scope="state", scope_key=cve, index_name="GA")
            assert found and all(f.basis == "press" and f.publication for f in found)
            assert any(f.value == value and paper in f.source for f in found)
        # No figure of 2021 cites the report for a state any more.
        assert not [f for f in _figures(2021, scope="state") if f.publication == ""]


def test_plan_4_commitments_without_early_results_are_inferred_with_reasoning(seeded_app):
    with seeded_app.app_context():
        found = db.session.execute(
            select(Commitment.number, Assessment).join(Commitment).join(ActionPlan)
            .where(ActionPlan.key == "mx-4", Assessment.framework == "irm-results-2019-2022",
                   Assessment.aspect == "early_results")
        ).all()
    assert sorted(n for n, _ in found) == [1, 5, 9]
    for _n, a in found:
        assert (a.value, a.basis) == ("none", "inferred")
        assert "four commitments were paused" in a.reasoning and "1, 5 y 9" in a.reasoning


def test_national_figures_of_2019_2021_2023_cite_sources_with_a_public_address(seeded_app):
    with seeded_app.app_context():
        refs = {s.key: s for s in db.session.scalars(select(Source))}
        for year in (2019, 2021, 2023):
            for f in _figures(year, scope="national", publication=""):
                for part in f.source.split(" | "):
                    source = refs[part.split(" ")[0]]
                    assert source.url or source.note, (year, f.index_name, source.key)
        assert refs["mga-2021"].url == "https://micrositios.inai.org.mx/gobiernoabierto/?page_id=5765"
        assert refs["mga-2023"].url.startswith("https://colmex.shinyapps.io/")
        assert refs["mga-2019"].copy_host == "fdocuments.mx"


# --- Sources as a librarian would list them --------------------------------------------------


def test_no_source_has_an_address_title_without_its_reason(seeded_app):
    with seeded_app.app_context():
        sources = db.session.scalars(select(Source)).all()
    assert len(sources) > 140
    for s in sources:
        assert s.title_basis in ("printed", "described", "address")
        if s.title_basis != "printed":
            assert s.title_note, s.key
        assert "Título tomado de la dirección" not in (s.note or ""), s.key
    printed = {s.key: s.title for s in sources}
    assert printed["698264-guanajuato-resalta-en-transparencia-de-informacion8230-pero-sus"] == (
        "Guanajuato resalta en transparencia de información… pero sus municipios reprueban")
    assert printed["github-alcance-chihuahua"] == "Chihuahua, ejercicio local de Gobierno Abierto"


def test_titles_are_read_from_the_stored_pages_or_say_why_not(seeded_app):
    with seeded_app.app_context():
        sources = {s.key: s for s in db.session.scalars(select(Source))}
    # Every registered page was looked for in the stored copies: no note still says "not yet".
    assert not [k for k, s in sources.items() if "aún no se ha cotejado" in (s.title_note or "")]
    # A press note, an OGP document (with its submission date) and a third-party copy (the
    # original's title as the copy prints it), each under the title its page prints.
    npi = sources["noticiasnpi-guanajuato-revalida-liderazgo"]
    assert (npi.title, npi.publisher, npi.title_basis) == (
        "Guanajuato revalida su liderazgo en Gobierno Abierto a nivel nacional",
        "Noticias Por Internet", "printed")
    plan = sources["ogp-action-plan-tlalnepantla-de-baz-mexico-2021-2023"]
    assert (plan.title, plan.date) == (
        "Action plan – Tlalnepantla de Baz, Mexico, 2021 – 2023", "2022-02-23")
    irm = sources["fdocuments-mecanismo-de-revisin-independiente-mri-informe-de-noviembre"]
    assert irm.title.endswith("Informe de Avances de México 2016-2018") and irm.copy_host
    # A page whose stored copy starts below its headline keeps the address-made title and says so.
    publimetro = sources["publimetro-oaxaca-menos-transparente"]
    assert publimetro.title_basis == "address"
    assert "sin su titular" in publimetro.title_note
    # A title written here is never labelled as printed: OGP commitment pages whose stored copy
    # was read carry the heading it prints, the others say they are descriptions and why.
    assert not [k for k, s in sources.items()
                if s.title.startswith("Página del compromiso") and s.title_basis == "printed"]
    assert sources["ogp-mxmex0009"].title == "Open government culture (MXMEX0009)"
    assert sources["ogp-mx0066"].title_basis == "described"


def test_every_third_party_copy_is_marked_and_names_its_original(seeded_app):
    with seeded_app.app_context():
        sources = db.session.scalars(select(Source)).all()
    copies = [s for s in sources if is_copy_host(url_host(s.url))]
    assert {url_host(s.url).split(".")[-2] for s in copies} >= {
        "fdocuments", "pdfslide", "docslib", "yumpu", "scribd", "gfjx"}
    for s in copies:
        assert s.copy_host == url_host(s.url), s.key
        assert "copia" not in s.publisher.lower(), s.key  # the original's publisher
        assert s.original_url or s.note, s.key
    mirror = next(s for s in copies if s.copy_host == "698264.gfjx.asia")
    assert mirror.publisher.startswith("Periódico Correo")
    assert all(h for h in COPY_HOSTS)


def test_every_cited_source_without_an_address_says_why(seeded_app):
    with seeded_app.app_context():
        cited = db.session.scalars(
            select(Source).where(Source.id.in_(select(SourceLink.source_id)))).all()
    assert cited
    for s in cited:
        assert s.url or s.note, s.key


def test_pages_mark_address_titles_and_copies(seeded_app):
    client = seeded_app.test_client()
    html = client.get("/sources").get_data(as_text=True)
    assert "Título hecho con la dirección de la página" in html
    assert "Copia en 698264.gfjx.asia" in html and "dirección del original desconocida" in html
    state = client.get("/states/11").get_data(as_text=True)
    # The mirror's press note, cited on Guanajuato's page: a copy, under its original publisher.
    assert "Periódico Correo (Guanajuato)" in state and "copia en 698264.gfjx.asia" in state
    # Every citation whose title is made from the address links to the reason on /sources.
    for match in re.finditer(r'class="title-basis" href="/sources#([^"]+)" title="([^"]*)"', state):
        assert match.group(2), match.group(1)


# --- New facts on the pages --------------------------------------------------------------------


def test_jalisco_titles_in_english_are_marked_and_the_seventh_is_unknown(seeded_app):
    client = seeded_app.test_client()
    with seeded_app.app_context():
        plan = db.session.scalars(select(ActionPlan).where(
            ActionPlan.key == "local-14-2016-2018")).one()
        titles = [(c.number, c.ogp_id, c.title_es, c.title_en) for c in plan.commitments]
        plan_id = plan.id
    assert [n for n, *_ in titles] == [1, 2, 3, 4, 5, 6]
    assert titles[1] == (2, "JAL0002", None,
                         "Reducing the Wage Gap Between Men and Women in the State of Jalisco")
    assert titles[0][2].startswith("Proyecto de intervención en la colonia Lomas de Polanco")
    html = client.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert '<span lang="en">State Register of Farm Workers</span>' in html
    assert "título en inglés, como lo publica la fuente; sin traducir" in html
    # The seventh, a row saying «título desconocido» with the source that counts it.
    assert html.count('<tr class="untitled">') == 1 and "título desconocido" in html
    assert "Inferido: los números 2 a 6" in html


def test_durango_third_plan_titles_and_two_unknown(seeded_app):
    client = seeded_app.test_client()
    with seeded_app.app_context():
        plan_id = db.session.scalar(select(ActionPlan.id).where(ActionPlan.key == "local-10"))
    html = client.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert "Red de apoyo y protocolo para la prevención del suicidio" in html
    assert html.count('<tr class="untitled">') == 2
    assert "idaip.org.mx/sitio/2022/08/24" in html  # the source that counts them
    state = client.get("/states/10").get_data(as_text=True)
    assert state.count('<tr class="untitled">') == 2


def test_programme_facts_and_conflicts_on_state_pages(seeded_app):
    client = seeded_app.test_client()
    with seeded_app.app_context():
        facts = {f.key: f for f in db.session.scalars(select(ProgrammeFact))}
    assert facts["cdmx-ogp-local-salida-fecha"].basis == "inferred"
    assert facts["cdmx-ogp-local-salida-fecha"].reasoning
    cdmx = client.get("/states/09").get_data(as_text=True)
    assert "se sumó a OGP Local en 2020" in cdmx and "sin publicar un plan de acción" in cdmx
    chihuahua = client.get("/states/08").get_data(as_text=True)
    assert "Fuentes en conflicto" in chihuahua and "febrero de 2025" in chihuahua
    assert "11 de octubre de 2023" in chihuahua
    sinaloa = client.get("/states/25").get_data(as_text=True)
    assert "3 de las 5" in sinaloa and "3 de las 6" in sinaloa
    assert "Monitoreo de las investigaciones que pudieran derivar" in sinaloa


def test_press_figures_on_state_and_round_pages_with_conflicting_places(seeded_app):
    client = seeded_app.test_client()
    qroo = client.get("/states/23").get_data(as_text=True)
    start = qroo.index('id="published-figures"')
    table = qroo[start:qroo.index("</table>", start)]
    assert "Según la prensa" in table and "último sitio" in table
    assert "en conflicto: otra publicación da último sitio" in table
    assert "0.54" in table and "sin valor impreso" in table
    assert "cgc.qroo.gob.mx/?p=142541" in table  # the page each figure rests on
    # Guanajuato's published series: the report's 2017 value and the press's later ones,
    # the press in series of their own.
    gto = client.get("/states/11").get_data(as_text=True)
    assert "GA según la prensa" in gto and "GA según otra nota de prensa" in gto
    round_2021 = client.get("/metric/2021").get_data(as_text=True)
    assert "acceso a la información desde la perspectiva gubernamental" in round_2021
    assert "Cifras nacionales de otras publicaciones" in round_2021
    round_2019 = client.get("/metric/2019").get_data(as_text=True)
    assert "Comisión de Derechos Humanos del Estado de Aguascalientes" in round_2019
    assert "plataforma de datos abiertos" in round_2019
