"""The bytes of a user's table as text: plain, gzip (``.gz``) or a one-file ``.zip``, decoded with a
chosen encoding; and its delimiter, given or sniffed.

Delimiters: one character, or a name: comma, semicolon, tab, space (one space), pipe, whitespace
(any run of spaces and tabs; no quoting), auto (sniffed). Sniffing reads the first 50 non-blank
lines and takes the first of comma, tab, semicolon, pipe, whitespace that splits every one of them
into the same number (at least two) of fields; comma when none does.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from ..errors import ConfigError, DataError, short

AUTO, WHITESPACE = "auto", "whitespace"
EMBED_LEVELS = 20  # a text input with more levels than this is embedded, not one-hot
NAMED = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "space": " ", "pipe": "|",
         WHITESPACE: WHITESPACE, AUTO: AUTO}
SNIFFED = (",", "\t", ";", "|", WHITESPACE)  # in order of preference
SNIFF_LINES = 50
GZIP_MAGIC, ZIP_MAGIC = b"\x1f\x8b", b"PK\x03\x04"
# A missing cell: empty, or one of these (any case).
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


def is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING


def _spellings(word: str) -> set[str]:
    out = {""}
    for ch in word:
        out = {p + c for p in out for c in {ch.lower(), ch.upper()}}
    return out


# Every spelling of a missing (stripped) cell, so a set intersection finds them in C.
MISSING_CELLS = frozenset().union(*(_spellings(w) for w in MISSING))


def delimiter_of(value: str) -> str:
    """A delimiter parameter as one character, WHITESPACE or AUTO; ConfigError otherwise."""
    d = NAMED.get(value.lower(), value)
    if len(d) != 1 and d not in (WHITESPACE, AUTO):
        raise ConfigError("data.params.delimiter", f"must be one character (or auto, comma, "
                                                   f"semicolon, tab, space, whitespace, pipe), "
                                                   f"got {short(value)}")
    return d


def check_encoding(encoding: str) -> str:
    """The Python codec name for `encoding`; ConfigError naming the parameter if unknown."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ConfigError("data.params.encoding", f"unknown encoding {short(encoding)}; e.g. "
                                                  "utf-8, latin-1, cp1252, utf-16") from None


def open_text(path: str | Path, limit: int | None = None, encoding: str = "utf-8"
              ) -> tuple[str, str, bool]:
    """(source, text, truncated): the file's text, whole lines only, at most `limit` bytes of it
    (decompressed) when a limit is given."""
    codec = check_encoding(encoding)
    file = Path(path).expanduser()
    source = str(file)
    if not file.exists():
        raise DataError(source, "file not found")
    if not file.is_file():
        raise DataError(source, "is not a file")
    raw = _read(file, source, limit)
    truncated = limit is not None and len(raw) > limit
    if truncated:
        end = raw.rfind(b"\n", 0, limit)
        if end < 0:
            raise DataError(source, f"its first line is longer than {limit:,} bytes; is this a "
                                    "CSV file?", row=1)
        raw = raw[: end + 1]
    try:
        return source, raw.decode("utf-8-sig" if codec == "utf-8" else codec), truncated
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        other = "latin-1" if codec != "latin-1" else "cp1252"
        raise DataError(source, f"is not {encoding} text (byte {raw[exc.start]:#04x}); choose "
                                f"its encoding, e.g. encoding: {other}", row=row) from None


def _read(file: Path, source: str, limit: int | None) -> bytes:
    """Raw bytes (one past `limit`, so truncation shows), through gzip or a one-member zip."""
    size = -1 if limit is None else limit + 1
    try:
        with open(file, "rb") as stream:
            magic = stream.read(4)
            stream.seek(0)
            if magic.startswith(GZIP_MAGIC):
                with gzip.open(stream) as unpacked:
                    return unpacked.read(size)
            if magic == ZIP_MAGIC:
                return _read_zip(stream, source, size)
            return stream.read(size)
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise DataError(source, f"is not a readable gzip file ({exc})") from None
    except zipfile.BadZipFile as exc:
        raise DataError(source, f"is not a readable zip file ({exc})") from None
    except OSError as exc:
        raise DataError(source, f"cannot be read ({exc.strerror or exc})") from None


def _read_zip(stream: object, source: str, size: int) -> bytes:
    with zipfile.ZipFile(stream) as archive:  # type: ignore[arg-type]
        members = [m for m in archive.infolist()
                   if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
        if len(members) != 1:
            names = ", ".join(m.filename for m in members[:10]) or "none"
            raise DataError(source, f"is a zip of {len(members)} files ({names}); a zip must "
                                    "hold exactly one table: unpack the one to use")
        with archive.open(members[0]) as member:
            return member.read(size)


def records(text: str, delimiter: str, source: str) -> Iterator[tuple[int, list[str]]]:
    """(file line, stripped cells) of every non-blank record of `text`."""
    lines = text.splitlines(keepends=True)
    if delimiter == WHITESPACE:
        reader = csv.reader((ln.strip().replace("\t", " ") + "\n" for ln in lines),
                            delimiter=" ", skipinitialspace=True)
    else:
        reader = csv.reader(lines, delimiter=delimiter)
    try:
        for cells in reader:
            stripped = list(map(str.strip, cells))
            if any(stripped):  # a blank line, or one of empty fields, is skipped
                yield reader.line_num, stripped
    except csv.Error as exc:
        raise DataError(source, f"is not valid CSV ({exc})", row=reader.line_num) from None


def sniff(text: str, source: str) -> str:
    """The delimiter that splits the first lines into equal rows of fields (see the module)."""
    sample: list[str] = []
    for line in text.splitlines():
        if line.strip():
            sample.append(line)
            if len(sample) >= SNIFF_LINES:
                break
    joined = "\n".join(sample) + "\n"
    for candidate in SNIFFED:
        try:
            counts = {len(cells) for _, cells in records(joined, candidate, source)}
        except DataError:
            continue
        if len(counts) == 1 and counts.pop() >= 2:
            return candidate
    return ","


def shown(delimiter: str) -> str:
    """A delimiter as a user reads it in a message."""
    return {"\t": "tab", " ": "space", WHITESPACE: "whitespace"}.get(delimiter, repr(delimiter))
