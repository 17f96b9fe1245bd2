"""Agreement of `geolookup build` with the COVID-19 Data Hub's own lookup tables (prints figures).

Run: GEOLOOKUP_DATA=../shared/data .venv/bin/python bench/bench_build.py
Targets: ITA >= 95% of reference rows with a row of the same id, key_gadm and key_nuts;
USA from NYT >= 99% of counties with a FIPS code agreeing on id and key_gadm (Puerto Rico's
municipalities are matched in GADM's PRI file, lookup/territories.py). The world figures are in
bench/bench_world.py.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from geolookup.pipeline import build
from geolookup.lookup.ids import datahub_id
from geolookup.lookup.table import read_table


def data_root() -> Path:
    root = os.environ.get("GEOLOOKUP_DATA")
    if not root:
        sys.exit("set GEOLOOKUP_DATA to the shared data folder")
    return Path(root)


def id_reproduction(ref_dir: Path) -> None:
    for path in sorted(ref_dir.glob("*.csv")):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        df = df[df["id"] != ""]
        iso = path.stem
        cols = [c for c in df.columns if c.startswith("id_")]
        if iso == "ISO":
            hits = sum(datahub_id(r["id_covid19datahub.io"]) == r["id"] for r in df.to_dict("records"))
        else:  # territories (USA.csv: PRI, VIR, MNP) are hashed with the ISO3 of their key_gadm
            hits = sum(any(r[c] and datahub_id(i, r[c]) == r["id"] for c in cols
                           for i in {iso, r.get("key_gadm", "")[:3] or iso}) for r in df.to_dict("records"))
        hand = int((~df["id"].str.fullmatch(r"[0-9a-f]{8}")).sum())  # typed by hand, no CRC-32 makes them
        print(f"  id reproduction {iso}: {hits}/{len(df)} = {hits / len(df):.1%} ({hand} hand-made ids)")


def ita(out: Path, ref: pd.DataFrame) -> None:
    ours = read_table(out / "ITA.csv")
    m = ref.merge(ours, on="id", how="left", suffixes=("_ref", ""))
    ok = (m["key_gadm"] == m["key_gadm_ref"]) & (m["key_nuts"] == m["key_nuts_ref"])
    print(f"  ITA: {ok.sum()}/{len(ref)} reference rows have a row with the same id, key_gadm, key_nuts "
          f"= {ok.mean():.1%} (target >= 95%)")
    near = ((m["latitude"].astype(float) - m["latitude_ref"].astype(float)).abs() < 0.05).mean()
    print(f"  ITA: coordinates within 0.05 degrees of the reference: {near:.1%} (informative)")


def usa(out: Path, ref: pd.DataFrame, nyt: pd.DataFrame) -> None:
    col = "id_github.nytimes.covid19data"
    ours = read_table(out / "USA.csv")
    pick = lambda t: t[t["administrative_area_level"] == "3"].drop_duplicates(col).set_index(col)[["id", "key_gadm"]]
    nyt = nyt[nyt["fips"] != ""].assign(k=lambda d: d["fips"].astype(int).astype(str))
    m = nyt.join(pick(ours), on="k").join(pick(ref).add_suffix("_ref"), on="k")
    ok = (m["id"] == m["id_ref"]) & (m["key_gadm"] == m["key_gadm_ref"])
    print(f"  USA (NYT): {ok.sum()}/{len(m)} counties with a FIPS code agree on id and key_gadm "
          f"= {ok.mean():.1%} (target >= 99%)")
    pr = m["fips"].str.startswith("72")
    print(f"  USA (NYT): id only {(m['id'] == m['id_ref']).mean():.1%}; missing from our table "
          f"{m['id'].isna().sum()}; Puerto Rico {ok[pr].sum()}/{pr.sum()} agree")


def main() -> None:
    warnings.simplefilter("ignore")
    root = data_root()
    ref_dir = root / "reference" / "covid19datahub"
    print("Data Hub ids (digest crc32) reproduced from id_<source> columns:")
    id_reproduction(ref_dir)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for iso in ("ITA", "USA"):
            t0 = time.perf_counter()
            s = build(iso, data_dir=root, out_dir=tmp / "out", state_dir=tmp / "state")
            print(f"build {iso}: {time.perf_counter() - t0:.1f} s; {s.line()}")
            t0 = time.perf_counter()
            s2 = build(iso, data_dir=root, out_dir=tmp / "out", state_dir=tmp / "state")
            print(f"rebuild {iso}: {time.perf_counter() - t0:.1f} s; row status {s2.row_status}")
        ita(tmp / "out", read_table(ref_dir / "ITA.csv"))
        nyt = pd.read_csv(root / "providers" / "nyt" / "live_us-counties_20201013.csv", dtype=str,
                          keep_default_na=False)
        usa(tmp / "out", read_table(ref_dir / "USA.csv"), nyt)


if __name__ == "__main__":
    main()
