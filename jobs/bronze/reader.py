"""Read landed files into records with exact lineage, inside Spark's Python workers.

Why not Spark's own text/CSV readers: they give no line numbers, stop the job on a truncated
gzip, and map CSV columns by position. Here each file is read by one task, streamed in
chunks (memory stays flat), and every physical line is accounted for:
- `.gz` (or gzip magic bytes) is decompressed with zlib so a truncated or corrupt member
  keeps every complete line before the damage and yields one `truncated_file` record;
- a UTF-8 BOM and CRLF endings are normal input; blank lines are not records;
- a line that is not valid UTF-8 becomes an `invalid_encoding` record (raw text escaped);
- CSV is parsed by header name, so reordered and extra columns are normal input.
JSON is left as text: the JVM parses it (jobs.bronze.parse), which is much faster.

Pure Python + pyarrow: `read_file` is unit-testable without Spark.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa

READ_SCHEMA_DDL = ("_source_file string, _line_number bigint, _raw string, "
                   "_fields map<string,string>, _read_error string, _read_detail string")
ARROW_SCHEMA = pa.schema([
    ("_source_file", pa.string()),
    ("_line_number", pa.int64()),
    ("_raw", pa.string()),
    ("_fields", pa.map_(pa.string(), pa.string())),
    ("_read_error", pa.string()),
    ("_read_detail", pa.string()),
])
CHUNK_BYTES = 4 << 20
GZIP_MAGIC = b"\x1f\x8b"
BOM = "\ufeff"


@dataclass
class Record:
    line_number: int
    raw: str
    fields: list[tuple[str, str | None]] | None = None
    error: str | None = None
    detail: str | None = None


class _Truncated(Exception):
    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail
        self.partial = b""  # the unterminated line the damage cut off


def _open(path: str):
    """Local path or any URI pyarrow understands (s3://, gs://, hdfs://, file://)."""
    from pyarrow import fs

    if "://" in path:
        filesystem, inner = fs.FileSystem.from_uri(path)
    else:
        filesystem, inner = fs.LocalFileSystem(), path
    return filesystem.open_input_stream(inner, compression=None)


def _raw_chunks(stream) -> Iterator[bytes]:
    while True:
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            return
        yield chunk


def _gunzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Decompress every gzip member; raise _Truncated after yielding all readable bytes."""
    decomp = zlib.decompressobj(wbits=31)
    seen_input = False
    for chunk in chunks:
        seen_input = True
        data = chunk
        while data:
            try:
                out = decomp.decompress(data)
            except zlib.error as exc:
                raise _Truncated(f"corrupt gzip stream: {exc}") from None
            if out:
                yield out
            if decomp.eof:
                data = decomp.unused_data  # next member, if the file holds several
                decomp = zlib.decompressobj(wbits=31)
                if not data:
                    seen_input = False  # a clean end so far: a following member must be whole
            else:
                data = b""
    tail = decomp.flush()
    if tail:
        yield tail
    if seen_input and not decomp.eof:
        raise _Truncated("gzip stream ends before its end-of-stream marker (file truncated)")


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Physical lines without their terminator (\\n or \\r\\n); the last may lack one."""
    rest = b""
    try:
        for chunk in chunks:
            buf = rest + chunk if rest else chunk
            parts = buf.split(b"\n")
            rest = parts.pop()
            yield from parts
    except _Truncated as exc:
        exc.partial = rest
        raise
    if rest:
        yield rest


def _decode(line: bytes) -> tuple[str | None, str]:
    if line.endswith(b"\r"):
        line = line[:-1]
    try:
        return line.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        return None, f"byte {exc.start}: {exc.reason}"


def _escaped(line: bytes) -> str:
    return line.rstrip(b"\r").decode("utf-8", errors="backslashreplace")


def _jsonl_records(lines: Iterable[bytes]) -> Iterator[Record]:
    for number, line in enumerate(lines, start=1):
        text, problem = _decode(line)
        if text is None:
            yield Record(number, _escaped(line), error="invalid_encoding",
                         detail=f"line is not valid UTF-8 ({problem})")
            continue
        if number == 1 and text.startswith(BOM):
            text = text[1:]
        if text.strip():
            yield Record(number, text)


def _csv_records(lines: Iterable[bytes]) -> Iterator[Record]:
    """Map each row by header name; a quoted field may span lines (record starts where it starts)."""
    header: list[str] | None = None
    pending: list[tuple[int, str]] = []  # physical lines of the record being assembled

    def feed() -> Iterator[str]:
        nonlocal header
        for number, line in enumerate(lines, start=1):
            text, problem = _decode(line)
            if text is None:
                bad.append(Record(number, _escaped(line), error="invalid_encoding",
                                  detail=f"line is not valid UTF-8 ({problem})"))
                continue
            if number == 1 and text.startswith(BOM):
                text = text[1:]
            if not pending and not text.strip():
                continue
            pending.append((number, text))
            yield text + "\n"

    bad: list[Record] = []
    reader = csv.reader(feed(), strict=True)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            start, raw = pending[0][0], "\n".join(t for _, t in pending)
            pending.clear()
            yield from _drain(bad)
            yield Record(start, raw, error="malformed_record", detail=f"CSV syntax error: {exc}")
            continue
        yield from _drain(bad)
        start, raw = pending[0][0], "\n".join(t for _, t in pending)
        pending.clear()
        if header is None:
            header = [h.strip() for h in row]
            continue
        if len(row) != len(header):
            yield Record(start, raw, error="malformed_record",
                         detail=f"{len(row)} fields where the header has {len(header)}")
            continue
        yield Record(start, raw, fields=[(h, v if v != "" else None) for h, v in zip(header, row, strict=True)])
    if pending:  # an unterminated quote at the end of the file
        yield Record(pending[0][0], "\n".join(t for _, t in pending), error="malformed_record",
                     detail="unterminated quoted field at end of file")
    yield from _drain(bad)


def _drain(bad: list[Record]) -> Iterator[Record]:
    while bad:
        yield bad.pop(0)


def read_file(path: str, fmt: str) -> Iterator[Record]:
    """Every record of one landed file, including the ones that cannot be read."""
    try:
        stream = _open(path)
    except OSError as exc:
        yield Record(0, "", error="unreadable_file", detail=f"cannot open: {exc}")
        return
    with stream:
        chunks = _raw_chunks(stream)
        first = next(chunks, b"")
        if not first:
            return  # an empty file is normal input: no records
        chunks = _prepend(first, chunks)
        if path.endswith(".gz") or first.startswith(GZIP_MAGIC):
            chunks = _gunzip(chunks)
        counter = _LineCounter(_lines(chunks))
        records = _jsonl_records(counter) if fmt == "jsonl" else _csv_records(counter)
        try:
            yield from records
        except _Truncated as exc:
            yield Record(counter.count + 1, _escaped(exc.partial), error="truncated_file",
                         detail=f"{exc.detail}; {counter.count} complete lines read before it")


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


class _LineCounter:
    """Counts the physical lines handed out, so a truncation can say where it happened."""

    def __init__(self, lines: Iterator[bytes]):
        self._lines = lines
        self.count = 0

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        line = next(self._lines)
        self.count += 1
        return line


def records_to_batches(path: str, records: Iterable[Record], batch_size: int) -> Iterator[pa.RecordBatch]:
    cols: dict[str, list] = {name: [] for name in ARROW_SCHEMA.names}

    def flush() -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(cols, schema=ARROW_SCHEMA)
        for values in cols.values():
            values.clear()
        return batch

    for rec in records:
        cols["_source_file"].append(path)
        cols["_line_number"].append(rec.line_number)
        cols["_raw"].append(rec.raw)
        cols["_fields"].append(rec.fields)
        cols["_read_error"].append(rec.error)
        cols["_read_detail"].append(rec.detail)
        if len(cols["_raw"]) >= batch_size:
            yield flush()
    if cols["_raw"]:
        yield flush()


def arrow_reader(fmt: str, batch_size: int):
    """The function handed to DataFrame.mapInArrow: rows of file paths in, records out."""

    def read(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for paths in batch.column("paths").to_pylist():
                for path in paths:
                    yield from records_to_batches(path, read_file(path, fmt), batch_size)

    return read
