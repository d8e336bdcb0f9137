"""Reading round files: the real 2017 file exactly as published, and the standard format."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from metrics import aggregate, compute_indices
from metrics.names import decode_line, fold, institution_key, repair_text
from metrics.readers import ReadError, read_inai_2017, read_standard
from tests.conftest import shared_path
from tests.metrics.helpers import ROOT, states

PUBLISHED_CSV = ROOT / "seeds/data/metric_published.csv"
# The official 2017 per-state GA table (executive summary, annex 2), as the issue lists it.
PUBLISHED_2017 = {
    "Aguascalientes": 0.43, "Baja California": 0.41, "Baja California Sur": 0.35,
    "Campeche": 0.37, "Chiapas": 0.35, "Chihuahua": 0.38, "Ciudad de México": 0.51,
    "Coahuila": 0.41, "Colima": 0.35, "Durango": 0.38, "Federación": 0.46, "Guanajuato": 0.48,
    "Guerrero": 0.37, "Hidalgo": 0.36, "Jalisco": 0.45, "México": 0.44, "Michoacán": 0.41,
    "Morelos": 0.38, "Nayarit": 0.33, "Nuevo León": 0.38, "Oaxaca": 0.33, "Puebla": 0.34,
    "Querétaro": 0.27, "Quintana Roo": 0.40, "San Luis Potosí": 0.36, "Sinaloa": 0.42,
    "Sonora": 0.42, "Tabasco": 0.40, "Tamaulipas": 0.34, "Tlaxcala": 0.29, "Veracruz": 0.41,
    "Yucatán": 0.38, "Zacatecas": 0.43,
}


@pytest.fixture(scope="module")
def bso_csv():
    """The real 2017 file, ../shared/data/mga-2017/BSO.csv (skips when ../shared is absent)."""
    return shared_path("data", "mga-2017", "BSO.csv")


@pytest.fixture(scope="module")
def bso(bso_csv):
    return read_inai_2017(bso_csv, states())


def test_bso_has_every_institution_by_level(bso):
    frame = bso.frame
    assert bso.rows_read == 908 and len(frame) == 908
    assert frame["level"].value_counts().to_dict() == {"state": 702, "municipal": 160,
                                                       "federal": 46}
    assert frame["state"].nunique() == 32
    assert frame.loc[frame["level"] == "federal", "state"].isna().all()
    assert frame["key"].is_unique
    assert list(frame.index[:2]) == [2, 3]  # rows as a spreadsheet numbers them
    assert set(frame["kind"]) == {
        "autonomous", "decentralized", "state_executive", "federal_executive", "trust",
        "judicial", "legislative", "municipality", "party", "union", "university",
    }


def test_bso_national_means(bso):
    computed = compute_indices(bso.frame)
    assert computed.rejected.empty
    national = aggregate(computed.frame, "national").iloc[0]
    assert round(national["GA"], 4) == 0.3887
    assert round(national["T"], 4) == 0.5013
    assert round(national["P"], 4) == 0.2761


def test_every_state_rounds_to_its_published_ga(bso):
    table = aggregate(compute_indices(bso.frame).frame, "state").set_index("key")
    names = {}
    with (ROOT / "seeds/data/states.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names[row["cve_ent"]] = row["short_name"]
    names["federal"] = "Federación"
    names["15"] = "México"  # the report names the Estado de México "México"
    assert len(table) == 33
    for key, row in table.iterrows():
        assert round(row["GA"], 2) == pytest.approx(PUBLISHED_2017[names[key]]), names[key]
    assert table.loc["09", "n"] == 26 and table.loc["29", "n"] == 26
    assert table.loc["22", "GA_rank"] == 32 and table.loc["09", "GA_rank"] == 1


def test_the_seed_file_holds_the_published_state_table():
    with PUBLISHED_CSV.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle)
                if r["year"] == "2017" and r["scope"] == "state" and r["index"] == "GA"
                and r.get("publication", "official") in ("", "official", None)]
    assert len(rows) == 33 and all(r["source"] for r in rows)
    seeded = {r["scope_key"]: float(r["value"]) for r in rows}
    assert seeded["federal"] == 0.46 and seeded["22"] == 0.27 and seeded["09"] == 0.51


def test_bso_names_are_repaired_and_reported(bso):
    frame = bso.frame.set_index("row", drop=False)
    assert frame.loc[676, "name"] == "Soledad de Graciano Sánchez"
    assert frame.loc[801, "name"].endswith("Artesanías De Tlaxcala")
    assert frame.loc[337, "name"] == "Fideicomiso De Apoyo A La Micro Y Pequeña Empresa Hidalguense"
    # A stray byte after a vowel is what is left of its accent: no invented "Œ", no lost accent.
    assert frame.loc[756, "name"] == "Paraíso"
    assert frame.loc[895, "name"] == "Santa María de la Paz"
    assert frame.loc[2, "name"] == "ASF" and frame.loc[3, "name"] == "Aguascalientes"
    repaired = {r.row: r for r in bso.repairs}
    assert sorted(repaired) == [245, 254, 676, 756, 801, 895]
    assert "mojibake fixed (ftfy)" in repaired[676].notes
    # Row 254: "Conacyt \x80\x94 Gobierno" (a dash's tail): nothing to read, removed.
    assert "stray control bytes removed (no accent could be read from them)" in repaired[
        254].notes
    assert repaired[245].after == "Villa de álvarez"  # the file writes the letter lower-case
    accent = "accent restored on 1 vowel(s): a stray byte after a vowel read as its acute accent"
    assert repaired[895].notes == [accent]
    # The raw text stays visible beside the repaired name (the import report lists both).
    assert repaired[895].before == "Zacatecas-Santa Mari\x8ca de la Paz"
    assert repaired[895].after == "Santa María de la Paz"
    assert not any("\x80" <= ch <= "\x9f" for ch in "".join(frame["name"]))
    assert frame.loc[frame["state"] == "19"].shape[0] == 27  # "NuevoLeon"
    assert frame.loc[frame["state"] == "15"].shape[0] == 27  # "Mexico"


def test_an_unmappable_state_stops_the_read_naming_the_row(tmp_path, bso_csv):
    lines = bso_csv.read_bytes().splitlines()
    lines[10] = lines[10].replace(b",Aguascalientes,", b",Atlantida,")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\r\n".join(lines))
    with pytest.raises(ReadError, match=r"bad.csv, row 11, field 'edo': 'Atlantida'"):
        read_inai_2017(bad, states())


def test_unknown_type_and_missing_column(tmp_path, bso_csv):
    lines = bso_csv.read_bytes().splitlines()
    lines[4] = lines[4].replace(b",Legislativo,", b",Mystery,")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\n".join(lines))
    with pytest.raises(ReadError, match="row 5, field 'ts'"):
        read_inai_2017(bad, states())
    headless = tmp_path / "headless.csv"
    headless.write_text("SO,edo,niv,GA\nASF,Federal,Federal,0.5\n", encoding="utf-8")
    with pytest.raises(ReadError, match="row 1, field 'ts'"):
        read_inai_2017(headless, states())


def test_names_helpers():
    assert fold("Nuevo  León!") == "nuevo leon"
    assert institution_key("state", "19", "Auditoría Superior") == "state:19:auditoria superior"
    assert institution_key("federal", None, "ASF") == "federal:fed:asf"
    accent = "accent restored on 1 vowel(s): a stray byte after a vowel read as its acute accent"
    assert decode_line(b"Parai\x8cso") == ("Paraíso", [accent])
    assert decode_line(b"Conacyt \x80\x94 Gobierno") == (
        "Conacyt  Gobierno", ["stray control bytes removed (no accent could be read from them)"])
    assert decode_line(b"Peque\xf1a") == ("Pequeña", [])
    assert repair_text("SÃ¡nchez  ") == ("Sánchez", ["mojibake fixed (ftfy)"])


def test_standard_csv_with_keys_components_and_names(tmp_path):
    path = tmp_path / "round.csv"
    path.write_text(
        "institution,level,state,type,key,municipality_code,TG,TC,PG,PC,TG.access_info\n"
        "Congreso del Estado,state,Nuevo León,Legislativo,,,0.5,0.5,0.5,0.5,0.7\n"
        "Monterrey,municipal,19,municipality,,39,n/d,0.2,,0.1,\n"
        "ASF,federal,,legislative,federal:fed:asf,,1,1,1,1,1\n",
        encoding="utf-8",
    )
    read = read_standard(path, states())
    frame = read.frame
    assert list(frame["state"]) == ["19", "19", None]
    assert list(frame["key"]) == [
        "state:19:congreso del estado", "municipal:19:monterrey", "federal:fed:asf"
    ]
    assert frame.loc[3, "municipality_code"] == "039"
    assert pd.isna(frame.loc[3, "TG"]) and pd.isna(frame.loc[3, "PG"])
    assert "TG.access_info" in frame.columns


def test_standard_format_errors_name_row_and_field(tmp_path):
    path = tmp_path / "round.csv"
    path.write_text("institution,level,state,type\nX,state,,party\n", encoding="utf-8")
    with pytest.raises(ReadError, match="row 2, field 'state'"):
        read_standard(path, states())
    path.write_text("institution,level,type,colour\nX,federal,party,red\n", encoding="utf-8")
    with pytest.raises(ReadError, match="field 'colour'"):
        read_standard(path, states())
    path.write_text(
        "institution,level,state,type\nX,state,01,party\nx,state,1,party\n", encoding="utf-8"
    )
    with pytest.raises(ReadError, match="row 3, field 'institution': the same institution as row"):
        read_standard(path, states())
