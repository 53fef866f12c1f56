"""The staff search index (store/search.py): kept current by every staff write, read by one Query per
search, whatever the scope's size.

Keys. A term (rules/search.py: a 2–4 character part of a name, a whole name, a phone or its last 4
digits, the last 4 or 6 characters of an ID number) is stored only as a keyed BLAKE2b hash, cut to 128
bits, under the person-key ring (services/common/keyring.py) with its own personalization ("search"), so
it never equals a person key, and without the ring's secret nobody can test a guessed name or phone
against the table. The ring and not the app secret: the app secret is rotated on suspicion alone and
nothing re-keys what it hashed (docs/deploy.md), while a ring rotation moves everything under the old key
— each person the re-key job moves (health/rekey.py) has their index rewritten under the new version,
and while the rotation runs a search asks under both versions (two Queries instead of one). A record's
index is always made with the version its own person key was made with, so the two move together.

Writes. `sync` makes the index say what some staff keys hold now. Each record has a manifest item
listing what its term items were written with; a change writes the new items, deletes the ones the
manifest names that are no longer wanted, and writes the manifest last. A retried import, or an edit
after a crash between a record's write and its index's, therefore finds the manifest of what is really
stored and removes every stale term. Two syncs of the same record racing can still leave a stale term;
the read side tests every row it fetches against the search before showing it, and `backfill` repairs.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from typing import Iterable, Mapping, Sequence

from chalicelib.rules import search as rules
from chalicelib.services.common import keyring
from chalicelib.services.common.parallel import in_parallel
from chalicelib.services.common.security import keyed_digests
from chalicelib.store.models import Enterprise, Staff
from chalicelib.store.search import MANIFEST_AT, SearchEntry, manifest_key

PURPOSE = "search"
HASH_CHARS = 32  # 128 bits of the keyed hash: enough for a lookup key, a third of the item's size
HEAD_TAG = "h:"
LIMIT = 2000  # term items one search reads at most: one request (≈ 320 bytes each, well under its 1 MB)
WRITE_CHUNK = 500  # items per writer task (20 BatchWriteItem calls)

Key = tuple[str, str]  # (enterprise_id, person_key)


def at_of(created_at, enterprise_id: str, person_key: str) -> str:
    """A term item's sort key: newest first by registration, and the record it names."""
    return f"{created_at.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%S.%f}#{enterprise_id}#{person_key}"


def key_of(at: str) -> Key:
    enterprise_id, person_key = at.split("#", 1)[1].rsplit("#", 1)
    return enterprise_id, person_key


class _Keys:
    """The ring as one operation reads it (a record and its index hashed with the same ring)."""

    def __init__(self) -> None:
        self.ring = keyring.ring()
        self._search: dict = {}
        self._person: dict = {}

    def versions(self) -> list[str]:
        return [self.ring.current] + ([self.ring.replacing] if self.ring.replacing else [])

    def hashes(self, version: str, values: Sequence[str]) -> list[str]:
        if version not in self._search:
            self._search[version] = keyed_digests(PURPOSE, key=self.ring.keys[version])
        return [d[:HASH_CHARS] for d in self._search[version]([v.encode() for v in values])]

    def version_of(self, record: Staff) -> str:
        """The version the record's person key was made with (the current one if none: a key of a version
        the ring no longer holds is about to be moved anyway)."""
        for version in self.versions():
            if version not in self._person:
                self._person[version] = self.ring.digests(version)
            if self._person[version]([record.id_number.encode()])[0] == record.person_key:
                return version
        return self.ring.current


@dataclass(frozen=True)
class _Entry:
    """What one record's index is: its term hashes and where the term items put it."""

    hashes: frozenset[str]
    category: str
    town: str
    head: str
    version: str
    created: str  # the term items' `at`

    def item_keys(self) -> set[Key]:
        return {(f"{h}#{self.category}", self.created) for h in self.hashes}

    def items(self) -> list[SearchEntry]:
        return [SearchEntry(f"{h}#{self.category}", self.created, town=self.town,
                            town_term=f"{h}#{self.category}#{self.town}", head_term=f"{h}#{self.head}")
                for h in self.hashes]

    def manifest(self, key: Key) -> SearchEntry:
        return SearchEntry(manifest_key(*key), MANIFEST_AT, hashes=set(self.hashes), category=self.category,
                           town=self.town, head=self.head, version=self.version, created=self.created)


def _entry(record: Staff, head_phone: str, keys: _Keys) -> _Entry:
    version = keys.version_of(record)
    terms = sorted(rules.person_terms(record.name, record.phone, record.id_number))
    hashed = keys.hashes(version, [*terms, HEAD_TAG + (head_phone or "")])
    return _Entry(frozenset(hashed[:-1]), record.category, record.town, hashed[-1], version,
                  at_of(record.created_at, record.enterprise_id, record.person_key))


def _from_manifest(item: SearchEntry) -> _Entry:
    return _Entry(frozenset(item.hashes or ()), item.category or "", item.town or "", item.head or "",
                  item.version or "", item.created or "")


# ---------------------------------------------------------------------------------------------------
# Writes


def sync(records: Mapping[Key, Staff | None], *, heads: dict[str, str] | None = None) -> int:
    """Make the index say what these staff keys hold now: the record (or None: nothing). `heads`: the
    enterprises' 负责人电话 where the caller has them (the rest are read, and added to the dict).
    Returns the term items written or deleted; a record indexed as it is costs its manifest read only."""
    if not records:
        return 0
    keys = _Keys()
    manifests = _manifests(list(records))
    heads = heads if heads is not None else {}
    _read_heads({r.enterprise_id for r in records.values() if r is not None} - set(heads), heads)
    puts: list[SearchEntry] = []
    deletes: list[SearchEntry] = []
    manifest_puts: list[SearchEntry] = []
    manifest_deletes: list[SearchEntry] = []
    for key, record in records.items():
        old = manifests.get(key)
        new = _entry(record, heads.get(record.enterprise_id, ""), keys) if record is not None else None
        if old == new:
            continue
        old_keys = old.item_keys() if old else set()
        new_keys = new.item_keys() if new else set()
        if new is not None:
            same_place = old is not None and (old.town, old.head) == (new.town, new.head)
            puts += [i for i in new.items() if not same_place or (i.term, i.at) not in old_keys]
            manifest_puts.append(new.manifest(key))
        else:
            manifest_deletes.append(SearchEntry(manifest_key(*key), MANIFEST_AT))
        deletes += [SearchEntry(term, at) for term, at in old_keys - new_keys]
    _write(puts, deletes)
    _write(manifest_puts, manifest_deletes)  # last: until then a retry still sees what was there before
    return len(puts) + len(deletes)


def refresh(keys: Iterable[Key]) -> int:
    """sync for staff keys as the staff table holds them now (read strongly): a person the re-key job
    moved, an edit that may have left both records."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return 0
    found = {(r.enterprise_id, r.person_key): r for r in Staff.batch_get(wanted, consistent_read=True)}
    return sync({key: found.get(key) for key in wanted})


def enterprise(ent: Enterprise) -> int:
    """Every record of an enterprise that moved to another category or town or changed its 负责人电话."""
    records = {(r.enterprise_id, r.person_key): r for r in Staff.query(ent.enterprise_id, consistent_read=True)}
    return sync(records, heads={ent.enterprise_id: ent.head_phone})


def _manifests(keys: list[Key]) -> dict[Key, _Entry]:
    wanted = {manifest_key(*key): key for key in keys}
    found = SearchEntry.batch_get([(m, MANIFEST_AT) for m in wanted], consistent_read=True)
    return {wanted[item.term]: _from_manifest(item) for item in found}


def _read_heads(enterprise_ids: set[str], heads: dict[str, str]) -> None:
    if enterprise_ids:
        for ent in Enterprise.batch_get(list(enterprise_ids), attributes_to_get=["enterprise_id", "head_phone"]):
            heads[ent.enterprise_id] = ent.head_phone


def _write(puts: list[SearchEntry], deletes: list[SearchEntry]) -> None:
    work = [(True, item) for item in puts] + [(False, item) for item in deletes]

    def write(chunk) -> None:
        with SearchEntry.batch_write() as batch:
            for put, item in chunk:
                if put:
                    batch.save(item)
                else:
                    batch.delete(item)

    in_parallel([lambda chunk=work[s:s + WRITE_CHUNK]: write(chunk) for s in range(0, len(work), WRITE_CHUNK)])


# ---------------------------------------------------------------------------------------------------
# Reads


@dataclass(frozen=True)
class Hits:
    found: list[tuple[str, Key]]  # (at, staff key), newest first, at most LIMIT
    limited: bool  # more matched than LIMIT: the oldest were left out


def in_category(term: str, category: str, towns: Sequence[str], *, every_town: bool, limit: int | None = None) -> Hits:
    """The records of one category found by `term` in these towns: one Query (two while a person-key
    rotation runs). `every_town`: the towns are all the category has (no filter); one town reads its
    own partition of the by-town index; some towns read the category's items with the towns as filter."""
    limit = limit or LIMIT
    keys = _Keys()
    answers = []
    for version in keys.versions():
        h = keys.hashes(version, [term])[0]
        if every_town:
            answers.append(SearchEntry.query(f"{h}#{category}", scan_index_forward=False, limit=limit + 1,
                                             attributes_to_get=["at"]))
        elif len(towns) == 1:
            answers.append(SearchEntry.by_town.query(f"{h}#{category}#{towns[0]}", scan_index_forward=False,
                                                     limit=limit + 1))
        else:
            answers.append(SearchEntry.query(f"{h}#{category}", scan_index_forward=False, limit=limit + 1,
                                             page_size=limit + 1, filter_condition=SearchEntry.town.is_in(*towns),
                                             attributes_to_get=["at"]))
    return _merged(answers, limit)


def of_head(term: str, head_phone: str, *, limit: int | None = None) -> Hits:
    """The records found by `term` in the enterprises this phone heads: one Query (two while rotating)."""
    limit = limit or LIMIT
    keys = _Keys()
    answers = []
    for version in keys.versions():
        h, head = keys.hashes(version, [term, HEAD_TAG + head_phone])
        answers.append(SearchEntry.by_head.query(f"{h}#{head}", scan_index_forward=False, limit=limit + 1))
    return _merged(answers, limit)


def _merged(answers, limit: int) -> Hits:
    found: dict[Key, str] = {}
    for answer in answers:
        for item in answer:
            found.setdefault(key_of(item.at), item.at)
    ordered = sorted(((at, key) for key, at in found.items()), reverse=True)
    return Hits(ordered[:limit], len(ordered) > limit)


# ---------------------------------------------------------------------------------------------------
# Existing data


def backfill(segment: int = 0, segments: int = 1, *, page: int = 500) -> dict:
    """Index every staff record of one Scan segment as it is now (the CLI, infra/search_index.py, runs the
    segments side by side). Idempotent: a record already indexed as it is costs its manifest read."""
    scanned = written = 0
    heads: dict[str, str] = {}
    batch: dict[Key, Staff] = {}
    for row in Staff.scan(segment=segment, total_segments=segments, consistent_read=True):
        batch[(row.enterprise_id, row.person_key)] = row
        if len(batch) >= page:
            scanned, written = scanned + len(batch), written + sync(batch, heads=heads)
            batch = {}
    scanned, written = scanned + len(batch), written + sync(batch, heads=heads)
    return {"scanned": scanned, "items_written": written}


def prune(segment: int = 0, segments: int = 1, *, page: int = 500) -> dict:
    """Remove the index of records that are gone (a delete whose index step never ran): every manifest
    is checked against the staff table. Reads the whole index table; run it after a failure, not daily."""
    checked = removed = 0
    keys: list[Key] = []
    for item in SearchEntry.scan(segment=segment, total_segments=segments, attributes_to_get=["term"],
                                 filter_condition=SearchEntry.at == MANIFEST_AT):
        enterprise_id, person_key = item.term.removeprefix("doc#").rsplit("#", 1)
        keys.append((enterprise_id, person_key))
        if len(keys) >= page:
            checked, removed = checked + len(keys), removed + _prune(keys)
            keys = []
    checked, removed = checked + len(keys), removed + _prune(keys)
    return {"manifests": checked, "items_removed": removed}


def _prune(keys: list[Key]) -> int:
    found = {(r.enterprise_id, r.person_key) for r in Staff.batch_get(keys, consistent_read=True,
                                                                      attributes_to_get=["enterprise_id", "person_key"])}
    return sync({key: None for key in keys if key not in found})


def is_empty() -> bool:
    """No manifest at all (a store written before the index existed: the local stack backfills it)."""
    return next(iter(SearchEntry.scan(limit=1, attributes_to_get=["term"])), None) is None
