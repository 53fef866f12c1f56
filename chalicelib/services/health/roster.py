"""The health roster: the statistics' read model (核酸数据统计, 疫苗数据统计; next the overnight
compliance run and the 09:00 lists), one compact columnar file per ledger partition (category, town).

    views/roster/<category>/<town>.npz — per registered staff record: enterprise, person key, 人员类别,
    birth year, dose days and the course's product; per sample of the kept days (rules.feeds.kept_since:
    the 14 whole days before the build's day, and that day): whose, when, result

Why a file per partition in S3 and not items: a statistics request for the whole district must not read
every person (that grows with the district). It reads one object per partition of its scope (a town: one
per category; a bureau: one per town), which a warm function keeps in memory and asks again only with
If-None-Match, so a repeated request costs a few 304s. Numbers are computed with numpy over the arrays.

Kept current: registry writes and imports `mark` their partitions, a feed or the overnight run marks all.
A mark is a small object under uploads/views/, so the S3 event rebuilds the partition in the import
worker (never in the request) — once, however often the event comes, because a rebuild whose mark is
older than the file skips. A rebuild reads that partition's staff (by-scope index) and their health
state (BatchGetItem): the sample times come from PersonHealth.recent, not from each person's records.
"""
from __future__ import annotations

import io
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from botocore.exceptions import ClientError

from chalicelib.config import settings
from chalicelib.integrations import storage
from chalicelib.rules import catalog
from chalicelib.rules.clock import iso, now
from chalicelib.rules.feeds import RESULT_RANK, kept_since
from chalicelib.rules.vaccines import NONE, day_number
from chalicelib.services.common.parallel import in_parallel
from chalicelib.services.health import state as health
from chalicelib.store.models import Enterprise, Staff
from chalicelib.store.values import scope_key

log = logging.getLogger(__name__)
MARKS = "uploads/views/"
ALL = "*"
MARK_PRECISION = timedelta(seconds=1)  # S3's LastModified
RESULT_OF = {"N": 0, "P": 1, "U": 2}  # sample result codes in the file: 阴性, 阳性, 未出结果
# a sample reported twice keeps its final result: 阳性 over 阴性 over 未出结果 (as a feed's repeated rows do)
_RANK = {RESULT_OF[code]: RESULT_RANK[result] for result, code in health.RESULT_CODES.items()}
_STATE = ["person_key", "recent", "dose1_at", "dose2_at", "dose3_at", "dose1_product", "dose2_product",
          "dose3_product", "products"]


@dataclass
class Part:
    category: str
    town: str
    built_at: datetime
    enterprises: list[str]  # every enterprise of the partition, staff or not (主体数量)
    person_categories: list[str]
    products: list[str]
    ent: np.ndarray  # int32 per person: index into enterprises
    key: np.ndarray  # S64 per person: the staff record's person key
    pcat: np.ndarray  # int16: index into person_categories
    born: np.ndarray  # int16: year of birth, 0 unknown
    created: np.ndarray  # int64: registered at (epoch s), for newest-first lists
    doses: np.ndarray  # int32 (3, n): day numbers of doses 1..3, NONE if not reported
    course: np.ndarray  # int16: index into products of the course's product, -1 none named
    owner: np.ndarray  # int32 per sample: index of the person
    at: np.ndarray  # int64 per sample: sampled at (epoch s)
    result: np.ndarray  # int8 per sample: RESULT_OF

    @property
    def size(self) -> int:
        return len(self.key)


def object_key(category: str, town: str) -> str:
    return f"views/roster/{category}/{town}.npz"


def every_partition() -> list[tuple[str, str]]:
    """The partitions that have a file or an enterprise: a rebuild of all never builds empty ones (an
    empty partition is built when first read)."""
    found = {(c.code, e.town) for c in catalog.CATEGORIES
             for e in Enterprise.by_category.query(c.code, attributes_to_get=["town"])}
    for page in storage.s3().get_paginator("list_objects_v2").paginate(Bucket=settings().files_bucket,
                                                                      Prefix="views/roster/"):
        for item in page.get("Contents", []):
            parts = item["Key"][len("views/roster/"):].removesuffix(".npz").split("/")
            if len(parts) == 2:
                found.add((parts[0], parts[1]))
    return sorted(found)


# --- keeping it current -------------------------------------------------------------------------------


def mark(partitions) -> None:
    """Ask for these partitions ((category, town) pairs, or ALL) to be rebuilt, after the write."""
    for category, town in ([(ALL, ALL)] if partitions == ALL else sorted(set(partitions))):
        storage.put(f"{MARKS}{category}/{town}.json", json.dumps({"at": iso(now())}).encode(),
                    content_type="application/json")


def handle_object(bucket: str, key: str, *, delivery: int = 1) -> str:
    """A mark's S3 event: rebuild what it names unless a rebuild newer than the mark exists."""
    parts = key[len(MARKS):].removesuffix(".json").split("/")
    if not key.startswith(MARKS) or len(parts) != 2:
        return f"ignored {key}"
    try:
        marked = storage.s3().head_object(Bucket=bucket, Key=key)["LastModified"]
    except ClientError:
        return f"mark {key} gone"
    targets = every_partition() if parts == [ALL, ALL] else [tuple(parts)]
    built = in_parallel([lambda c=c, t=t: rebuild(c, t, unless_built_after=marked) for c, t in targets])
    return f"roster {'/'.join(parts)}: {sum(1 for b in built if b)} of {len(targets)} rebuilt"


def rebuild(category: str, town: str, *, unless_built_after: datetime | None = None) -> bool:
    """Build one partition's file from the registry and the health state. False: a newer one exists."""
    if unless_built_after is not None:
        existing = _built_at(category, town)
        # S3 keeps the mark's time to the second: a build that began within that second may have read
        # the registry before the write that marked it, so only a build a whole second later is newer
        if existing is not None and existing >= unless_built_after + MARK_PRECISION:
            return False
    rebuild_part(category, town)
    return True


def rebuild_part(category: str, town: str) -> Part:
    """Build and store one partition's file now, and return it (the night judges what it just built)."""
    started = now()
    part = build(category, town, started)
    storage.put(object_key(category, town), _dump(part), content_type="application/octet-stream",
                metadata={"built-at": started.isoformat(timespec="microseconds")})
    return part


def _built_at(category: str, town: str) -> datetime | None:
    try:
        head = storage.s3().head_object(Bucket=settings().files_bucket, Key=object_key(category, town))
    except ClientError:
        return None
    stamp = head.get("Metadata", {}).get("built-at")
    return datetime.fromisoformat(stamp) if stamp else None


def build(category: str, town: str, current: datetime) -> Part:
    enterprises = [e.enterprise_id for e in Enterprise.by_town.query(
        town, filter_condition=Enterprise.category == category, attributes_to_get=["enterprise_id"])]
    people = list(Staff.by_scope.query(scope_key(category, town), attributes_to_get=[
        "enterprise_id", "person_key", "person_category", "id_number", "created_at"]))
    states = health.states([p.person_key for p in people], attributes=_STATE)
    index = {e: i for i, e in enumerate(enterprises)}
    pcats: dict[str, int] = {}
    products: dict[str, int] = {}
    n = len(people)
    ent, pcat = np.zeros(n, np.int32), np.zeros(n, np.int16)
    born, created = np.zeros(n, np.int16), np.zeros(n, np.int64)
    doses, course = np.full((3, n), NONE, np.int32), np.full(n, -1, np.int16)
    owner, at, result = [], [], []
    since = int(kept_since(current).timestamp())  # a midnight: the night judges whole days, at any hour
    for i, person in enumerate(people):
        if person.enterprise_id not in index:  # registered just now under an enterprise the query missed
            index[person.enterprise_id] = len(enterprises)
            enterprises.append(person.enterprise_id)
        ent[i] = index[person.enterprise_id]
        pcat[i] = pcats.setdefault(person.person_category or "其他人员", len(pcats))
        year = (person.id_number or "")[6:10]
        born[i] = int(year) if year.isdigit() and 1900 <= int(year) <= current.year else 0
        created[i] = int(person.created_at.timestamp())
        state = states.get(person.person_key)
        if state is None:
            continue
        for d in (1, 2, 3):
            day = getattr(state, f"dose{d}_at")
            if day:
                doses[d - 1, i] = day_number(datetime.fromisoformat(day[:10]).date())
        named = state.dose1_product or state.dose2_product or state.dose3_product or state.products
        if named:
            course[i] = products.setdefault(named, len(products))
        for sample in _samples(state.recent or (), since):
            owner.append(i)
            at.append(sample[0])
            result.append(sample[1])
    return Part(category, town, current, enterprises, list(pcats), list(products), ent,
                np.array([p.person_key.encode() for p in people], dtype="S64"), pcat, born, created, doses, course,
                np.array(owner, np.int32), np.array(at, np.int64), np.array(result, np.int8))


def _samples(tags, since: int) -> list[tuple[int, int]]:
    """The person's samples from their tags: one per (time, site), its final result winning over 未出结果,
    阳性 over 阴性."""
    best: dict[tuple[str, str], int] = {}
    for tag in tags:
        when, code, site = (tag.split(":") + ["", ""])[:3]
        if not when.isdigit() or int(when) < since:
            continue
        value = RESULT_OF.get(code, RESULT_OF["U"])
        if _RANK[value] > _RANK.get(best.get((when, site)), -1):
            best[(when, site)] = value
    return [(int(when), value) for (when, _), value in best.items()]


# --- reading it ---------------------------------------------------------------------------------------

# key → (ETag, file, when S3 last confirmed it). A warm function trusts its copy for
# settings().roster_fresh_seconds before asking again (If-None-Match): a page twenty people open at once
# costs one round of 304s, not twenty; the statistics are then at most that much older than the roster.
_cache: dict[str, tuple[str, Part, float]] = {}
_lock = threading.Lock()


def load(partitions: list[tuple[str, str]]) -> list[Part]:
    """The files of these partitions, from memory when S3 says they have not changed (If-None-Match).
    A partition never built yet is built now, once (a new stage's first request)."""
    return in_parallel([lambda c=c, t=t: _load_one(c, t) for c, t in partitions])


def _load_one(category: str, town: str) -> Part:
    key = object_key(category, town)
    with _lock:
        cached = _cache.get(key)
    if cached and time.monotonic() - cached[2] < settings().roster_fresh_seconds:
        return cached[1]
    request = {"Bucket": settings().files_bucket, "Key": key}
    if cached:
        request["IfNoneMatch"] = cached[0]
    try:
        answer = storage.s3().get_object(**request)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if cached and code in ("304", "NotModified"):
            with _lock:
                _cache[key] = (cached[0], cached[1], time.monotonic())
            return cached[1]
        if code not in ("NoSuchKey", "404"):
            raise
        rebuild(category, town)
        answer = storage.s3().get_object(Bucket=settings().files_bucket, Key=key)
    part = _parse(answer["Body"].read(), category, town)
    with _lock:
        _cache[key] = (answer["ETag"], part, time.monotonic())
    return part


def reset_cache() -> None:
    with _lock:
        _cache.clear()


_ARRAYS = ("ent", "key", "pcat", "born", "created", "doses", "course", "owner", "at", "result")


def _dump(part: Part) -> bytes:
    meta = {"built_at": iso(part.built_at), "enterprises": part.enterprises,
            "person_categories": part.person_categories, "products": part.products}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), np.uint8),
                        **{name: getattr(part, name) for name in _ARRAYS})
    return buffer.getvalue()


def _parse(data: bytes, category: str, town: str) -> Part:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        meta = json.loads(arrays["meta"].tobytes().decode())
        values = {name: arrays[name] for name in _ARRAYS}
    return Part(category, town, datetime.fromisoformat(meta["built_at"]), meta["enterprises"],
                meta["person_categories"], meta["products"], **values)
