"""Repeated rows in a feed file (feed_rows.Repeats): each sample or dose stored once, its final result
kept, every repeat counted — the same answer however the file falls into blocks."""
from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import pytest

from chalicelib.services.feeds import rows as feed_rows
from chalicelib.services.feeds.rows import NO_TIME, NatRows, Repeats, Report

MASK = np.uint64(0xFFFF_FFFF_FFFF_FFFC)


def reference(rows: list[tuple[int, int]]) -> tuple[dict[int, int], int]:
    """(identity → the row that must end up stored: the best rank, the later of equals; repeats)."""
    best: dict[int, int] = {}
    for n, (identity, rank) in enumerate(rows):
        if identity not in best or rank >= rows[best[identity]][1]:
            best[identity] = n
    return best, len(rows) - len(best)


@pytest.mark.parametrize("recent", [1 << 16, 40, 16, 8])  # small: the large level and merges into it too
@pytest.mark.parametrize("seed", range(30))
def test_blocks_of_any_size_store_what_the_whole_file_would(seed, recent, monkeypatch):
    monkeypatch.setattr(Repeats, "RECENT", recent)
    rng = random.Random(seed)
    pool = [rng.getrandbits(64) & int(MASK) for _ in range(rng.choice([3, 20, 200]))]
    rows = [(rng.choice(pool), rng.choice([0, 1, 2])) for _ in range(rng.randrange(1, 400))]
    repeats, report, stored, again_seen = Repeats(), Report(), {}, 0
    start = 0
    while start < len(rows):  # blocks of random sizes, as a file's lines fall
        block = rows[start:start + rng.randrange(1, 60)]
        identity = np.array([i for i, _ in block], dtype=np.uint64)
        rank = np.array([r for _, r in block], dtype=np.uint64)
        keep, again = repeats.keep(identity, rank, report)
        kept = range(len(block)) if keep is None else keep.tolist()
        assert list(kept) == sorted(kept)
        assert len({block[i][0] for i in kept}) == len(kept)  # never one item twice in a write
        for j, i in enumerate(kept):
            replaces = block[i][0] in stored
            assert replaces == (again is not None and bool(again[j]))
            again_seen += replaces
            stored[block[i][0]] = start + i  # a later write replaces the item
        start += len(block)
    want, repeated = reference(rows)
    assert stored == want and report.repeated == repeated and len(repeats) == len(want)
    assert all((level[1:] > level[:-1]).all() for level in repeats.levels)  # sorted, each identity once


def test_a_block_without_repeats_keeps_every_row():
    identity = (np.arange(1, 1001, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) & MASK
    repeats, report = Repeats(), Report()
    assert repeats.keep(identity, np.zeros(1000, np.uint64), report) == (None, None)
    assert repeats.keep(identity[:10] ^ np.uint64(4), np.zeros(10, np.uint64), report) == (None, None)
    assert report.repeated == 0 and len(repeats) == 1010


def test_key_bits_are_the_first_64_bits_of_each_key():
    keys = ["0123456789abcdef" + "f" * 48, "ffffffffffffffff" + "0" * 48]
    assert feed_rows.key_bits(keys).tolist() == [0x0123456789ABCDEF, 0xFFFFFFFFFFFFFFFF]
    assert feed_rows.key_bits(["abc"]).tolist() == [0xABC]  # not a digest: still a number, never an error


def nat(keys, sampled, result, site, sites):
    return NatRows(list(keys), np.array(sampled, np.int64), np.full(len(keys), NO_TIME),
                   np.array(result, np.int64), np.array(site, np.int64), sites)


def test_a_sample_is_a_person_a_second_and_a_site_as_the_record_key_spells_it():
    ids: dict[str, int] = {}
    context = SimpleNamespace(site_id=lambda site: ids.setdefault(site or "-", len(ids)))
    a, b = "a" * 64, "b" * 64
    # (a, t, 甲) twice; (a, t, 乙) and (a, t+1, 甲) differ; (b, t, 甲) another person; no site and "-" are
    # one record key (nat#<time>#-)
    rows = nat([a, a, a, a, b, a, a], [100, 100, 100, 101, 100, 200, 200], [0, 1, 0, 0, 0, 0, 0],
               [0, 0, 1, 0, 0, 2, 3], ["甲", "乙", None, "-"])
    report = Report()
    kept = feed_rows.nat_once(rows, context, Repeats(), report)
    assert report.repeated == 2
    assert [(k[0], int(s), feed_rows.RESULTS[r], kept.sites[i]) for k, s, r, i in
            zip(kept.keys, kept.sampled, kept.result, kept.site)] == [
        ("a", 100, "阳性", "甲"), ("a", 100, "阴性", "乙"), ("a", 101, "阴性", "甲"), ("b", 100, "阴性", "甲"),
        ("a", 200, "阴性", "-")]
