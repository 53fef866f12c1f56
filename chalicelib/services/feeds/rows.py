"""What a feed's rows become (docs/feeds.md): each row checked, accepted rows as columns, each sample
or dose once.

NAT rows that are clean as written are checked a column at a time (rules.vectorized); every other row,
and every vaccination row, goes through the per-row rules (rules.feeds, rules.idnumber), which correct
what can be corrected and word the reason for the rest. A test holds both paths to the same output.
A row naming a sample (or dose) the file named before is a repeat (`Repeats`): stored once, counted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from chalicelib.rules import feeds as rules
from chalicelib.rules import vectorized
from chalicelib.rules.clock import SHANGHAI
from chalicelib.rules.idnumber import normalize_id
from chalicelib.rules.text import fold
from chalicelib.services.feeds.reader import Block
from chalicelib.services.common import keyring

MAX_PROBLEMS = 500


@dataclass
class Report:
    """A file's tally, as the operator reads it under 数据接入."""
    rows_read: int = 0
    matched: int = 0
    unmatched: int = 0
    rejected: int = 0
    too_old: int = 0
    repeated: int = 0  # rows naming a sample or dose an earlier row of the file named
    newest: str | None = None
    problems: list[dict] = field(default_factory=list)

    def saw(self, newest: str) -> None:
        """The newest sampling time (ISO, Asia/Shanghai) or vaccination day so far: 数据更新至."""
        if self.newest is None or newest > self.newest:
            self.newest = newest

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"line": line, "reason": reason})


class Context:
    """What every row of one ingestion is checked against."""

    def __init__(self, current: datetime):
        self.now = current
        self.today = current.astimezone(SHANGHAI).date()
        self.window = rules.sample_window(current)
        self.oldest, self.latest = (int(t.timestamp()) for t in self.window)
        self.sites: dict[str, str | None] = {}  # a feed names a few hundred sites: fold each once
        self.site_ids: dict[str, int] = {}  # folded site → a number for the whole file (Repeats)
        ring = keyring.ring()
        current, replaced = ring.digests(), ring.replaced_digests()
        # while a person-key rotation runs, each row's key under the replaced version too (current key →
        # replaced key, for the block being matched: ingest clears it per block)
        self.alias: dict[str, str] = {}
        self.digests = current if replaced is None else self._both(current, replaced)

    def _both(self, current, replaced):
        def digests(values, width: int = 0) -> list[str]:
            keys = current(values, width)
            self.alias.update(zip(keys, replaced(values, width)))
            return keys

        return digests

    def site(self, value) -> str | None:
        if value not in self.sites:
            self.sites[value] = fold(value)[:100] or None
        return self.sites[value]

    def site_id(self, site: str | None) -> int:
        """The file-wide number of a folded site, as the record key spells it (no site is "-")."""
        return self.site_ids.setdefault(site or "-", len(self.site_ids))


NO_TIME = np.iinfo(np.int64).min
RESULTS = (rules.NEGATIVE, rules.POSITIVE, rules.PENDING)


@dataclass
class NatRows:
    """Accepted NAT rows, as columns; times are seconds since the epoch."""
    keys: list[str]
    sampled: np.ndarray
    tested: np.ndarray  # NO_TIME when the row has no 检测时间
    result: np.ndarray  # index into RESULTS
    site: np.ndarray  # index into sites
    sites: list[str | None]
    again: np.ndarray | None = None  # rows replacing what an earlier block stored (Repeats.keep), if any

    def __add__(self, other: NatRows) -> NatRows:
        return NatRows(self.keys + other.keys, *(np.concatenate([getattr(self, name), getattr(other, name)])
                                                 for name in ("sampled", "tested", "result")),
                       np.concatenate([self.site, other.site + len(self.sites)]), self.sites + other.sites)

    def take(self, rows: np.ndarray, again: np.ndarray | None) -> NatRows:
        return NatRows([self.keys[i] for i in rows.tolist()], self.sampled[rows], self.tested[rows],
                       self.result[rows], self.site[rows], self.sites, again)


def nat_rows(block: Block, context: Context, report: Report) -> NatRows:
    """The block's rows that are clean as written are checked a column at a time (rules.vectorized);
    every other row goes through the per-row rules, which correct or word the reason."""
    if not len(block.lines):
        return _nat_one_by_one(block.rows, context, report)
    fast, leftover = _nat_columns(block, context, report)
    # The rest, in line order so the report lists problems as the file has them.
    rest = sorted([(int(block.lines[i]), i) for i in leftover.tolist()] + block.rows, key=lambda item: item[0])
    return fast + _nat_one_by_one(((line, block.row(raw) if isinstance(raw, int) else raw) for line, raw in rest),
                                  context, report)


def _nat_columns(block: Block, context: Context, report: Report) -> tuple[NatRows, np.ndarray]:
    """(the rows accepted column-wise, the indexes of the rows left to the per-row rules)."""
    exact, ids = block.fixed("id_number", 18)
    ok = exact & vectorized.clean_id_numbers(ids, context.today)
    exact, times = block.fixed("sampled_at", 19)
    good, sampled = vectorized.wall_clock_seconds(times)
    ok &= exact & good
    tested = np.full(len(ok), NO_TIME)
    if "tested_at" in block.fields:
        exact, times = block.fixed("tested_at", 19)
        good, seconds = vectorized.wall_clock_seconds(times)
        empty = block.lengths("tested_at") == 0
        ok &= (exact & good) | empty
        tested = np.where(empty, NO_TIME, seconds)
    code, values, exact = block.distinct("result")
    result = np.array([_result_index(v) for v in values], dtype=np.int64)[code]
    ok &= exact & (result >= 0)
    site, sites = np.zeros(len(ok), dtype=np.int64), [None]
    if "site" in block.fields:
        site, values, exact = block.distinct("site")
        ok &= exact & np.array([v is not None for v in values])[site]
        sites = [context.site(v) if v is not None else None for v in values]
    ok &= sampled <= context.latest  # a sample in the future: the per-row rules word it
    old = ok & (sampled < context.oldest)
    report.too_old += int(old.sum())
    take = ok & ~old
    rows = NatRows(context.digests(ids[take].tobytes(), 18), sampled[take], tested[take], result[take], site[take], sites)
    return rows, np.flatnonzero(~ok)


def _nat_one_by_one(rows, context: Context, report: Report) -> NatRows:
    ids, sampled, tested, result, sites = [], [], [], [], []
    for values in _checked(rows, _nat_row, context, report):
        if values is None:
            report.too_old += 1
            continue
        ids.append(values["id_number"].encode())
        sampled.append(int(values["sampled_at"].timestamp()))
        tested.append(int(values["tested_at"].timestamp()) if values["tested_at"] else NO_TIME)
        result.append(RESULTS.index(values["result"]))
        sites.append(values["site"])
    return NatRows(context.digests(ids), *(np.array(column, dtype=np.int64) for column in (sampled, tested, result)),
                   np.arange(len(ids), dtype=np.int64), sites)


def _checked(rows, check, context: Context, report: Report):
    """Each (line, raw row) through `check`; a row it refuses is reported with its line and reason."""
    for line, raw in rows:
        if isinstance(raw, rules.RowError):
            report.reject(line, str(raw))
            continue
        try:
            values = check(raw, context)
        except rules.RowError as exc:
            report.reject(line, str(exc))
            continue
        yield values


def _result_index(value: str | None) -> int:
    try:
        return RESULTS.index(rules.parse_result(value)) if value is not None else -1
    except rules.RowError:
        return -1


def _nat_row(raw: dict, context: Context) -> dict | None:
    number = _id_number(raw, context)
    sampled = rules.parse_instant(raw.get("sampled_at"), "采样时间")
    if not rules.check_sample_window(sampled, context.now, context.window):
        return None
    tested_raw = raw.get("tested_at")
    tested = rules.parse_instant(tested_raw, "检测时间") if tested_raw and fold(tested_raw) else None
    return {"id_number": number, "sampled_at": sampled, "tested_at": tested,
            "result": rules.parse_result(raw.get("result")), "site": context.site(raw.get("site"))}


# --- repeats ----------------------------------------------------------------------------------------


_RANKS = np.array([rules.RESULT_RANK[r] for r in RESULTS], dtype=np.uint64)  # per index into RESULTS
_IDENTITY = np.uint64(~3 & 0xFFFF_FFFF_FFFF_FFFF)  # a fingerprint's bits; the low two hold a rank


class Repeats:
    """Which samples (or doses) a file has named so far, so each is stored once and the rest counted as
    重复: DynamoDB refuses a BatchWriteItem that names one item twice, and a stale copy must not undo a
    final result (rules.RESULT_RANK; otherwise the later row wins).

    An identity is a 62-bit fingerprint: the first bits of the person key (a keyed hash, so uniform)
    XOR the rest of the identity packed without loss (up to 16 million sites a file) — two rows of one
    person never collide, two people with odds of 2^-62 per pair. The file's identities are sorted
    numpy arrays with each stored row's rank in the low two bits: 8 bytes a row (8 MB for a million
    rows, no Python object per row). A block with no repeat costs a sort, a search and a merge. A small
    block (2,000 rows: .xlsx, quoted CSV) is merged into a small recent array, which joins the large
    one once it holds a quarter as many, so a file of small blocks does not copy everything seen
    before at every block."""

    RECENT = 1 << 16

    def __init__(self):
        self.levels = [np.empty(0, np.uint64), np.empty(0, np.uint64)]  # [older: large, recent: small]

    def __len__(self) -> int:
        return sum(map(len, self.levels))

    def keep(self, identity: np.ndarray, rank: np.ndarray,
             report: Report) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(the block's rows to store, in order, or None for all of them: the usual case; which of those
        store again what an earlier block stored — counted as repeats, not as matched or unmatched —
        or None for none). Counts the repeats."""
        if not len(identity):
            return None, None
        value = identity | rank
        ordered = np.sort(value)
        found = self._find(ordered)
        if not any(known.any() for _, known in found) and not (ordered[1:] >> 2 == ordered[:-1] >> 2).any():
            self._add(ordered, [at for at, _ in found])
            return None, None
        order = np.argsort(value, kind="stable")  # by identity, then rank, then place in the block
        ordered = value[order]
        last = np.append(ordered[1:] >> 2 != ordered[:-1] >> 2, True)  # best rank; the later row of equals
        winners, rows = ordered[last], order[last]
        found = self._find(winners)
        known = found[0][1] | found[1][1]
        report.repeated += len(value) - len(winners) + int(known.sum())
        stored = np.zeros(len(winners), np.uint64)
        for level, (at, there) in zip(self.levels, found):
            stored[there] = level[at[there]]
        store = ~known
        store[known] = (winners[known] & 3) >= (stored[known] & 3)  # an earlier block's copy: only a result as good
        for level, (at, there) in zip(self.levels, found):
            level[at[there]] = np.maximum(level[at[there]], winners[there])
        self._add(winners[~known], [at[~known] for at, _ in found])
        rows, again = rows[store], known[store]
        order = np.argsort(rows)
        return rows[order], (again[order] if again.any() else None)

    def _find(self, values: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per level: (where each sorted value's identity is or would go, whether it is there)."""
        found = []
        for level in self.levels:
            at = np.searchsorted(level, values & _IDENTITY)
            there = at < len(level)
            there[there] = level[at[there]] >> 2 == values[there] >> 2
            found.append((at, there))
        return found

    def _add(self, new: np.ndarray, at: list[np.ndarray]) -> None:
        """Identities no level holds (sorted; `at`: their places in each level)."""
        older, recent = self.levels
        if len(new) >= self.RECENT // 8:  # a 4 MB block: one merge into the large array, as cheap as any
            older = _merge(older, new, at[0])
        else:
            recent = _merge(recent, new, at[1])
            if len(recent) >= max(self.RECENT, len(older) // 4):  # so a merge into the large one is rare
                older, recent = _merge(older, recent, np.searchsorted(older, recent)), recent[:0]
        self.levels = [older, recent]


def _merge(seen: np.ndarray, new: np.ndarray, at: np.ndarray) -> np.ndarray:
    """`seen` with the sorted `new` inserted before the positions `at` (searchsorted in `seen`)."""
    if not len(new):
        return seen
    out = np.empty(len(seen) + len(new), np.uint64)
    slots = at + np.arange(len(new))
    rest = np.ones(len(out), bool)
    rest[slots] = False
    out[slots] = new
    out[rest] = seen
    return out


def key_bits(keys: list[str]) -> np.ndarray:
    """The first 64 bits of each person key (the hex of a 32-byte keyed digest), one C call a block."""
    joined = "".join(keys)
    if len(joined) == 64 * len(keys):
        return np.frombuffer(bytes.fromhex(joined), dtype=">u8")[::4].astype(np.uint64)
    return np.array([int(key[:16], 16) for key in keys], dtype=np.uint64)


def nat_once(rows: NatRows, context: Context, repeats: Repeats, report: Report) -> NatRows:
    """The block's rows less repeats of a sample (person, sampling time to the second, site), `again`
    saying which of them replace an earlier block's copy (Repeats.keep)."""
    sites = np.array([context.site_id(site) & 0xFF_FFFF for site in rows.sites], dtype=np.uint64)
    packed = (rows.sampled.astype(np.uint64) << np.uint64(24) | sites[rows.site]) << np.uint64(2)
    keep, again = repeats.keep((key_bits(rows.keys) ^ packed) & _IDENTITY, _RANKS[rows.result], report)
    return rows if keep is None else rows.take(keep, again)


def vaccine_once(rows: list[tuple[str, dict]], repeats: Repeats,
                 report: Report) -> tuple[list[tuple[str, dict]], np.ndarray | None]:
    """The block's rows less repeats of a dose (person, 剂次; the later row wins), and which of them
    replace an earlier block's copy."""
    doses = np.array([values["dose"] for _, values in rows], dtype=np.uint64) << np.uint64(2)
    keep, again = repeats.keep((key_bits([key for key, _ in rows]) ^ doses) & _IDENTITY,
                               np.zeros(len(rows), np.uint64), report)
    return (rows if keep is None else [rows[i] for i in keep.tolist()]), again


# --- vaccinations -----------------------------------------------------------------------------------


def vaccine_rows(block: Block, context: Context, report: Report) -> list[tuple[str, dict]]:
    rows = list(_checked(block.all_rows(), _vaccine_row, context, report))
    return list(zip(context.digests([values["id_number"].encode() for values in rows]), rows))


def _vaccine_row(raw: dict, context: Context) -> dict:
    number = _id_number(raw, context)
    day = rules.parse_day(raw.get("vaccinated_on"), "接种日期")
    if day > context.today:
        raise rules.RowError("接种日期晚于今天")
    return {"id_number": number, "dose": rules.parse_dose(raw.get("dose")), "day": day.isoformat(),
            "product": fold(raw.get("product"))[:50] or None, "unit": fold(raw.get("unit"))[:100] or None}


def _id_number(raw: dict, context: Context) -> str:
    """The row's canonical ID number, or a RowError whose reason starts with the column's name."""
    checked = normalize_id(raw.get("id_number"), today=context.today)
    if not checked.ok:
        raise rules.RowError(checked.error if checked.error.startswith("身份证号码") else f"身份证号码{checked.error}")
    return checked.number
