"""Reading a feed file in blocks (docs/feeds.md "Formats").

A CSV is read a few megabytes at a time and cut at the last newline, so memory stays flat whatever
the file's size. Each block is split into fields by byte offsets (numpy), never into a Python object
per cell: UTF-8 and GB18030 both keep every byte of a multi-byte character at 0x40 or above, so a
comma, a quote or a newline byte is always the real character. Only the fields a check needs are
decoded, and each distinct value once (a million rows name a few hundred 采样点).

    rows with the header's field count ─▶ Block.fields: per field, (start, end) offsets per row
    any other non-blank line            ─▶ Block.rows: (line, dict) for the per-row rules
    a block containing a quote          ─▶ that block and the rest through the csv module (quoted
                                           cells may hold commas and newlines)

.xlsx files become blocks of rows only. Line numbers are the file's physical lines, as an editor shows.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from chalicelib.errors import BadFileError
from chalicelib.rules.feeds import RowError
from chalicelib.rules.text import fold
from chalicelib.workbooks.reader import is_blank, open_sheet
from chalicelib.workbooks.safety import check_xlsx

BLOCK_BYTES = 4 << 20
ROWS_PER_BLOCK = 2000  # for the row-at-a-time paths (quoted CSV, .xlsx)
MAX_LINE_BYTES = 1 << 20
PADDING = 256  # zero bytes after a block's data, so a fixed-width window from any field start fits
_NEWLINE, _COMMA, _RETURN = 10, 44, 13
_SURROGATE = re.compile("[\udc80-\udcff]")


class BadFeedError(Exception):
    """The file as a whole cannot be read: it is quarantined, and later files go on."""


@dataclass
class Block:
    """Some rows of a feed. `lines`/`fields` are the rows split by offsets; `rows` are the others,
    already as {field: value}, or the RowError that makes them unusable."""
    labels: dict[str, str]  # field → the column's name for messages
    encoding: str = "utf-8"
    data: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint8))
    raw: bytes = b""
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    fields: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    rows: list[tuple[int, dict | RowError]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.lines) + len(self.rows)

    def fixed(self, name: str, width: int) -> tuple[np.ndarray, np.ndarray]:
        """(field is exactly `width` bytes, (n, width) bytes from the field's start) for every split row."""
        starts, ends = self.fields[name]
        return ends - starts == width, self._windows(width)[starts]

    def _windows(self, width: int) -> np.ndarray:
        """A view of every `width` bytes from each offset (the data is padded, so none runs short)."""
        return np.lib.stride_tricks.sliding_window_view(self.data, width)

    def lengths(self, name: str) -> np.ndarray:
        starts, ends = self.fields[name]
        return ends - starts

    def distinct(self, name: str, limit: int = 128) -> tuple[np.ndarray, list[str | None], np.ndarray]:
        """Each split row's value of `name` as (code, values, exact): values[code] is the decoded text
        (None if it cannot be decoded); rows whose value is longer than `limit` bytes, or whose hash
        collides with a different value, have exact False and go to the per-row rules."""
        starts, ends = self.fields[name]
        if not len(starts):
            return np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=bool)
        lengths = ends - starts
        width = max(8, min(limit, -(-int(lengths.max()) // 8) * 8))
        matrix = self._windows(width)[starts]
        matrix[np.arange(width) >= lengths[:, None]] = 0
        words = matrix.view(np.uint64)
        if words.shape[1] == 1:  # up to 8 bytes: the word is the value itself
            digest = words[:, 0]
        else:
            digest = lengths.astype(np.uint64)
            for column in range(words.shape[1]):
                digest = digest * np.uint64(0x100000001B3) ^ words[:, column]
        code, first = _codes(digest)
        representative = first[code]
        exact = (lengths <= width) & (lengths == lengths[representative])
        if words.shape[1] > 1:
            exact &= (words == words[representative]).all(axis=1)
        values = []
        for row in first.tolist():
            try:
                values.append(self.raw[starts[row]:ends[row]].decode(self.encoding))
            except UnicodeDecodeError:
                values.append(None)
        return code, values, exact

    def row(self, index: int) -> dict | RowError:
        """Split row `index` as {field: text}, for the per-row rules."""
        return _decoded({name: self.raw[starts[index]:ends[index]] for name, (starts, ends) in self.fields.items()},
                        self.labels, self.encoding)

    def all_rows(self) -> Iterator[tuple[int, dict | RowError]]:
        """Every row in line order, one at a time (the vaccination feed's path)."""
        split = ((int(line), self.row(i)) for i, line in enumerate(self.lines.tolist()))
        yield from sorted([*split, *self.rows], key=lambda item: item[0])


def _codes(digest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, a row index per code) for a column of few distinct values: the values seen in
    the first rows, looked up by binary search, sorting only what they missed."""
    known = np.unique(digest[:1024])
    code = np.minimum(np.searchsorted(known, digest), len(known) - 1)
    missed = known[code] != digest
    if missed.any():
        known = np.union1d(known, digest[missed])
        code = np.searchsorted(known, digest)
    first = np.empty(len(known), dtype=np.int64)
    first[code] = np.arange(len(digest))  # any row of each value will do
    return code, first


def sniff_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"  # a superset of GBK and GB2312, what government exports use


def csv_blocks(stream, aliases: dict, required: tuple, *, block_bytes: int = BLOCK_BYTES) -> Iterator[Block]:
    """The CSV `stream` as Blocks; BadFeedError if the file as a whole cannot be read."""
    head = stream.read(64 * 1024)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise BadFeedError("文件内容是 Excel 工作簿，但扩展名是 .csv")
    encoding = sniff_encoding(head)
    if encoding == "utf-8-sig":
        head, encoding = head[len(codecs.BOM_UTF8):], "utf-8"
    pieces = _line_blocks(head, stream, block_bytes)
    line, width, columns, labels, data = _header(pieces, encoding, aliases, required)
    while data is not None:
        if b'"' in data:
            yield from _quoted(data, pieces, encoding, columns, labels, line)
            return
        block = _split(data, encoding, width, columns, labels, line)
        line += data.count(b"\n")
        yield block
        data = next(pieces, None)


def _line_blocks(head: bytes, stream, size: int) -> Iterator[bytes]:
    """The file as blocks of whole lines, each ending with a newline."""
    rest = head
    while True:
        chunk = stream.read(size)
        if not chunk:
            if rest:
                yield rest if rest.endswith(b"\n") else rest + b"\n"
            return
        rest += chunk
        cut = rest.rfind(b"\n") + 1
        if cut:
            yield rest[:cut]
            rest = rest[cut:]
        elif len(rest) > MAX_LINE_BYTES:
            raise BadFeedError("文件中有超过 1 MB 的一行：不是逐行的 CSV 文件")


def _header(pieces, encoding, aliases, required) -> tuple[int, int, dict[str, int], dict[str, str], bytes | None]:
    """(physical line number of the first data line, the header's column count, field → column,
    field → label, the first data block)."""
    line = 1
    for data in pieces:
        start = 0
        while start < len(data):
            end = data.index(b"\n", start)
            raw = data[start:end]
            start = end + 1
            if not raw.strip():
                line += 1
                continue
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                raise BadFeedError(f"文件编码无法识别（第 {line} 行，表头）：请导出为 UTF-8 或 GBK 编码的 CSV") from None
            header = next(csv.reader([text]))
            columns = header_columns(header, aliases, required)
            labels = {name: aliases[name][0] for name in columns}
            rest = data[start:]
            return line + 1, len(header), columns, labels, rest if rest else next(pieces, None)
    raise BadFeedError("文件为空")


def header_columns(header: list, aliases: dict, required: tuple) -> dict[str, int]:
    lookup = {fold(n).replace(" ", "").casefold(): f for f, names in aliases.items() for n in names}
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        found = lookup.get(fold(cell).replace(" ", "").casefold())
        if found and found not in columns:
            columns[found] = index
    missing = [aliases[f][0] for f in required if f not in columns]
    if missing:
        raise BadFeedError("表头缺少列：" + "、".join(missing))
    return columns


def _split(data: bytes, encoding: str, width: int, columns: dict[str, int], labels: dict[str, str],
           first_line: int) -> Block:
    """Lines with the header's `width` fields are split by offsets; the others become rows."""
    array = np.frombuffer(data + bytes(PADDING), dtype=np.uint8)  # zero padding: never a newline or comma
    newlines = np.flatnonzero(array == _NEWLINE)
    starts = np.concatenate(([0], newlines[:-1] + 1))
    ends = newlines - ((newlines > starts) & (array[newlines - 1] == _RETURN))
    commas = np.flatnonzero(array == _COMMA)
    before = np.searchsorted(commas, newlines)  # commas before each line's end
    first = np.concatenate(([0], before[:-1]))  # index of each line's first comma
    # A line with exactly the header's commas is split by offsets, unless it is only commas (blank).
    split = (before - first == width - 1) & (ends - starts > width - 1)
    if width == 1:
        split &= ends > starts
    chosen = np.flatnonzero(split)
    comma_at = commas[first[chosen][:, None] + np.arange(width - 1)]
    fields = {}
    for name, column in columns.items():
        field_starts = starts[chosen] if column == 0 else comma_at[:, column - 1] + 1
        field_ends = ends[chosen] if column == width - 1 else comma_at[:, column]
        fields[name] = (field_starts, field_ends)
    rows = []
    for index in np.flatnonzero(~split).tolist():
        text = data[starts[index]:ends[index]]
        if not text.replace(b",", b"").strip():
            continue  # a blank line
        cells = text.split(b",")
        raw = {name: cells[column] if column < len(cells) else b"" for name, column in columns.items()}
        rows.append((first_line + index, _decoded(raw, labels, encoding)))
    return Block(labels, encoding, array, data, first_line + chosen, fields, rows)


def _decoded(raw: dict[str, bytes], labels: dict[str, str], encoding: str) -> dict | RowError:
    """{field: text}, or the RowError naming the first field that is not text in `encoding`."""
    values = {}
    for name, value in raw.items():
        try:
            values[name] = value.decode(encoding)
        except UnicodeDecodeError:
            return _undecodable(labels[name])
    return values


def _undecodable(label: str) -> RowError:
    return RowError(f"{label}的文字编码无法识别（文件应为 UTF-8 或 GBK 编码）")


def _quoted(data: bytes, pieces: Iterator[bytes], encoding, columns, labels, first_line: int) -> Iterator[Block]:
    """The rest of the file through the csv module: quoted cells may hold commas and newlines."""
    text = io.TextIOWrapper(io.BufferedReader(_Chain(data, pieces), 1 << 16), encoding=encoding,
                            errors="surrogateescape", newline="")
    reader = csv.reader(text)
    block = Block(labels, encoding)
    previous = 0
    try:
        for cells in reader:
            line, previous = first_line + previous, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            values = {name: cells[column] if column < len(cells) else "" for name, column in columns.items()}
            broken = next((name for name, value in values.items() if _SURROGATE.search(value)), None)
            block.rows.append((line, _undecodable(labels[broken]) if broken else values))
            if len(block.rows) >= ROWS_PER_BLOCK:
                yield block
                block = Block(labels, encoding)
    except csv.Error as exc:
        error = BadFeedError(f"CSV 格式错误（第 {first_line + reader.line_num - 1} 行）：{exc}")
    else:
        error = None
    if block.rows:  # the rows before a break are as good as any: they are applied, and the report says so
        yield block
    if error:
        raise error


class _Chain(io.RawIOBase):
    """A raw stream over bytes already read, then the remaining blocks."""

    def __init__(self, head: bytes, rest: Iterator[bytes]):
        self._buffer, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._buffer:
            self._buffer = next(self._rest, b"")
            if not self._buffer:
                return 0
        n = min(len(buffer), len(self._buffer))
        buffer[:n], self._buffer = self._buffer[:n], self._buffer[n:]
        return n


def xlsx_blocks(data: bytes, aliases: dict, required: tuple) -> Iterator[Block]:
    try:
        check_xlsx(data)
        sheet = open_sheet(data, aliases, required=required)
    except BadFileError as exc:
        raise BadFeedError(exc.message)
    labels = {name: aliases[name][0] for name in sheet.columns}
    block = Block(labels)
    for line, cells in sheet.rows:
        if is_blank(cells):
            continue
        block.rows.append((line, {f: (cells[c] if c < len(cells) else None) for f, c in sheet.columns.items()}))
        if len(block.rows) >= ROWS_PER_BLOCK:
            yield block
            block = Block(labels)
    if block.rows:
        yield block
