"""The person-key rotation's re-key job (docs/deploy.md, "Rotating the person-key secret").

    infra/person_key.py start ─▶ the ring secret names a new current version and the one it replaces
                              ─▶ start(): header (pass 1) + one piece per segment of the staff table,
                                 each marked under uploads/rotation/<version>/<pass>-<segment>-<piece>.json
    S3 event ─▶ handle_object: claim the piece (jobs life cycle) ─▶ scan its segment from its cursor
              ─▶ each staff record under any key but the current one's: rekey.move (health/rekey.py)
              ─▶ time running low: the next piece, from where this one stopped; the segment's end: counted
              ─▶ the last segment of a pass ends the pass: pass 2, or done
    infra/person_key.py finish ─▶ (done only) the replaced key leaves the secret

Pass 1 waits until every warm function has read the new ring (keyring.fresh_seconds() and 5 s more), so
nobody moved is looked for under the old key alone. Why two passes: until then, and while a function
that read the old ring ends (an import or a feed may run 15 minutes), something may still be written
under the replaced key. Pass 2 starts only after SETTLE_SECONDS, when nothing can be, and its end proves
that every staff record and everything of theirs is under the current key. Until `finish`, lookups by ID
number still try both keys (keyring.lookup_keys, the feeds' matching), so no match is lost meanwhile.

Why segments: at a city's size (1,000,000 staff) one function cannot move everyone inside Lambda's 15
minutes; segments run in parallel in the import worker and a piece hands on to the next before its
function's time runs out. Each piece ends done or failed; a piece that fails its last delivery fails the
rotation with the reason, and `start` again resumes it.
"""
from __future__ import annotations

import json
import logging
import os
import time
from datetime import timedelta

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import ConflictError
from chalicelib.integrations import storage
from chalicelib.rules.clock import SHANGHAI, iso, now
from chalicelib.services.common import keyring
from chalicelib.services.common.parallel import in_parallel
from chalicelib.services.health import roster
from chalicelib.services.jobs import lifecycle as jobs
from chalicelib.services.health import rekey
from chalicelib.store.models import Staff
from chalicelib.store.operations import HEADER, KeyRotation
from chalicelib.store.values import condition_failed

log = logging.getLogger(__name__)
MARKS = "uploads/rotation/"
SEGMENTS = 8
PAGE = 100  # staff records moved together (in parallel)
COUNTED = "counted"  # a piece's cursor once its counts are in the header
STATUS_NAMES = {"running": "进行中", "done": "已完成", "failed": "失败"}


def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def settle_seconds() -> float:
    """The wait before the proving pass: the ring's freshness plus the longest function (15 min)."""
    return _seconds("PERSON_KEY_SETTLE_SECONDS", keyring.fresh_seconds() + 15 * 60 + 60)


def piece_seconds() -> float:
    """How long one piece scans before handing on: well inside the worker's 15-minute timeout."""
    return _seconds("ROTATION_PIECE_SECONDS", 10 * 60)


def rotation_id(version: str) -> str:
    return f"person#{version}"


def _part(pass_no: int, segment: int, piece: int) -> str:
    return f"{pass_no:02d}#{segment:02d}#{piece:04d}"


def header(version: str) -> KeyRotation | None:
    try:
        return KeyRotation.get(rotation_id(version), HEADER, consistent_read=True)
    except DoesNotExist:
        return None


# --- starting -------------------------------------------------------------------------------------------

def start(version: str, replacing: str, *, by: str) -> KeyRotation:
    """Begin moving everything from `replacing` to `version` (the ring must already say so), or resume a
    rotation that failed. A running or done one is refused."""
    current = now()
    found = header(version)
    if found is not None and found.status != "failed":
        raise ConflictError(f"版本 {version} 的轮换{STATUS_NAMES.get(found.status, found.status)}，不能重复开始")
    run = found or KeyRotation(rotation_id(version), HEADER, started_at=current, settle_until=current
                               + timedelta(seconds=settle_seconds()), moved_total=0)
    run.status, run.replacing, run.started_by, run.segments = "running", replacing, by, SEGMENTS
    run.pass_no = (found.pass_no + 1) if found is not None else 1
    run.segments_done, run.scanned, run.moved = 0, 0, 0
    # pass 1 moves nobody before every warm function has read the new ring (and so looks under both keys)
    first = current + timedelta(seconds=min(settle_seconds(), keyring.fresh_seconds() + 5))
    run.not_before = max(current, run.settle_until) if run.pass_no > 1 else first
    run.message, run.finished_at = f"第 {run.pass_no} 轮迁移中", None
    run.save()
    _begin_pass(run)
    log.info("rotation %s (replacing %s) pass %s started by %s", version, replacing, run.pass_no, by)
    return run


def _begin_pass(run: KeyRotation) -> None:
    """The pass's first piece of each segment, and their marks. Idempotent: an existing piece stays."""
    for segment in range(int(run.segments)):
        piece = KeyRotation(run.rotation, _part(int(run.pass_no), segment, 0), status="queued",
                            pass_no=run.pass_no, segment=segment, piece=0)
        _create(piece)
        _mark(piece)


def _create(piece: KeyRotation) -> None:
    try:
        piece.save(condition=KeyRotation.part.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise


def _mark(piece: KeyRotation) -> None:
    version = piece.rotation.split("#", 1)[1]
    name = piece.part.replace("#", "-")
    storage.put(f"{MARKS}{version}/{name}.json", json.dumps({"at": iso(now())}).encode(),
                content_type="application/json")


# --- a piece's S3 event ----------------------------------------------------------------------------------

def handle_object(bucket: str, key: str, *, delivery: int = 1) -> str:
    names = key[len(MARKS):].removesuffix(".json").split("/")
    numbers = names[1].split("-") if len(names) == 2 else []
    if not key.startswith(MARKS) or len(numbers) != 3 or not all(n.isdigit() for n in numbers):
        return f"ignored {key}"
    rotation, part = rotation_id(names[0]), _part(*map(int, numbers))
    try:
        piece = KeyRotation.get(rotation, part, consistent_read=True)
        run = KeyRotation.get(rotation, HEADER, consistent_read=True)
    except DoesNotExist:
        return f"rotation piece {key} unknown"
    if run.status != "running" or int(piece.pass_no) != int(run.pass_no):
        return f"rotation {names[0]} piece {part}: the rotation is {run.status}, pass {run.pass_no}"
    if not jobs.claim(piece):
        return f"rotation piece {part} already handled"
    try:
        with jobs.attempt(piece, delivery=delivery):
            return _run(run, piece)
    except Exception:
        if delivery >= jobs.MAX_DELIVERIES:
            _fail(run, f"第 {piece.pass_no} 轮第 {int(piece.segment) + 1} 段多次处理失败（详见日志），"
                       "可运行 python -m infra.person_key start 继续")
        raise


def _run(run: KeyRotation, piece: KeyRotation) -> str:
    if piece.cursor == COUNTED:
        return _after_counted(run, piece)  # a redelivery after the counts were kept: only what followed
    keyring.forget()  # this warm worker may hold the ring from before `start` wrote the new one
    ring = keyring.ring()
    if ring.current != run.rotation.split("#", 1)[1] or ring.replacing != run.replacing:
        _fail(run, f"人员密钥已被改动（现为版本 {ring.current}，替换 {ring.replacing or '无'}），轮换停止；"
                   "请核对密钥后运行 python -m infra.person_key start")
        jobs.finish(piece, status="failed", message="人员密钥已被改动")
        return f"rotation {run.rotation}: the ring changed"
    wait = (run.not_before - now()).total_seconds() if run.not_before else 0
    if wait > 0:
        time.sleep(min(wait, piece_seconds()))
        if wait > piece_seconds():  # still too early: the next piece waits on, from the same cursor
            return _hand_on(run, piece, piece.cursor, scanned=0, moved=0)
    deadline = time.monotonic() + piece_seconds()
    rows = Staff.scan(segment=int(piece.segment), total_segments=int(run.segments), consistent_read=True,
                      last_evaluated_key=json.loads(piece.cursor) if piece.cursor else None, page_size=PAGE,
                      attributes_to_get=["enterprise_id", "person_key", "id_number", "category", "town"])
    scanned = moved = 0
    batch: list[Staff] = []
    for row in rows:
        batch.append(row)
        if len(batch) < PAGE:
            continue
        moved += _move(batch, ring)
        scanned += len(batch)
        batch = []
        cursor = rows.last_evaluated_key  # None: that was the segment's last page
        if cursor is not None and time.monotonic() > deadline:
            return _hand_on(run, piece, json.dumps(cursor), scanned=scanned, moved=moved)
    moved += _move(batch, ring)
    scanned += len(batch)
    _count(run, piece, scanned=scanned, moved=moved, segment_done=True)
    return _after_counted(run, piece)


def _move(rows: list[Staff], ring: keyring.Ring) -> int:
    """Move the people of these records to the current key; their rosters are rebuilt after."""
    if not rows:
        return 0
    ids = [row.id_number.encode() for row in rows]
    current = ring.digests()(ids)
    replaced = ring.replaced_digests()
    old = replaced(ids) if replaced else [None] * len(rows)
    moves: dict[tuple[str, str], set[str]] = {}
    for row, new, before in zip(rows, current, old):
        for key in {row.person_key, before} - {new, None}:  # the record's own key, and anything left under the old one
            moves.setdefault((key, new), set()).add(row.enterprise_id)
    done = in_parallel([lambda pair=pair, at=at: rekey.move(*pair, holders=at) for pair, at in moves.items()])
    if any(done):
        roster.mark({(row.category, row.town) for row in rows})
    return sum(1 for moved in done if moved)


def _hand_on(run: KeyRotation, piece: KeyRotation, cursor: str | None, *, scanned: int, moved: int) -> str:
    following = KeyRotation(run.rotation, _part(int(piece.pass_no), int(piece.segment), int(piece.piece) + 1),
                            status="queued", pass_no=piece.pass_no, segment=piece.segment,
                            piece=int(piece.piece) + 1, cursor=cursor)
    _create(following)
    _mark(following)  # before the counts: a crash in between re-runs this piece, never strands the next
    _count(run, piece, scanned=scanned, moved=moved, segment_done=False)
    jobs.finish(piece, status="done", message=f"已读 {scanned} 条，迁移 {moved} 人，余下交给下一段")
    return f"rotation piece {piece.part}: {scanned} read, {moved} moved, handed on"


def _count(run: KeyRotation, piece: KeyRotation, *, scanned: int, moved: int, segment_done: bool) -> None:
    """The piece's counts into the header, once: the piece is marked counted in the same transaction."""
    actions = [KeyRotation.scanned.add(scanned), KeyRotation.moved.add(moved), KeyRotation.moved_total.add(moved)]
    if segment_done:
        actions.append(KeyRotation.segments_done.add(1))
    try:
        with TransactWrite(connection=Connection()) as tx:
            tx.update(piece, actions=[KeyRotation.scanned.set(scanned), KeyRotation.moved.set(moved),
                                      KeyRotation.cursor.set(COUNTED)],
                      condition=KeyRotation.cursor.does_not_exist() | (KeyRotation.cursor != COUNTED))
            tx.update(KeyRotation(run.rotation, HEADER), actions=actions,
                      condition=KeyRotation.pass_no == piece.pass_no)
    except TransactWriteError as exc:
        log.info("rotation piece %s: counts already kept or the pass moved on: %s", piece.part, exc)


def _after_counted(run: KeyRotation, piece: KeyRotation) -> str:
    """After a segment's last piece was counted: end the pass if it was the last segment."""
    run.refresh(consistent_read=True)
    if int(run.pass_no) == int(piece.pass_no) and int(run.segments_done) >= int(run.segments):
        _end_pass(run)
    elif int(run.pass_no) == int(piece.pass_no) + 1 and run.status == "running":
        _begin_pass(run)  # the pass was ended by an attempt that died before its pieces were queued
    piece.refresh(consistent_read=True)
    jobs.finish(piece, status="done", message=f"已读 {int(piece.scanned)} 条，迁移 {int(piece.moved)} 人")
    return f"rotation piece {piece.part}: {int(piece.scanned)} read, {int(piece.moved)} moved"


def _end_pass(run: KeyRotation) -> None:
    pass_no, current = int(run.pass_no), now()
    proving = run.not_before is not None and run.not_before >= run.settle_until
    ended = (KeyRotation.pass_no == pass_no) & (KeyRotation.status == "running")
    summary = f"第 {pass_no} 轮读 {int(run.scanned)} 条员工记录，迁移 {int(run.moved)} 人"
    if proving:
        message = (f"已完成：{summary}，共迁移 {int(run.moved_total)} 人；所有记录已使用新密钥，"
                   "请运行 python -m infra.person_key finish 删除旧密钥")
        actions = [KeyRotation.status.set("done"), KeyRotation.message.set(message),
                   KeyRotation.finished_at.set(current)]
    else:
        begins = max(current, run.settle_until)
        message = f"{summary}；第 {pass_no + 1} 轮核对将于 {begins.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S} 开始（等待仍使用旧密钥的任务结束）"
        actions = [KeyRotation.pass_no.set(pass_no + 1), KeyRotation.segments_done.set(0),
                   KeyRotation.scanned.set(0), KeyRotation.moved.set(0), KeyRotation.not_before.set(begins),
                   KeyRotation.message.set(message)]
    try:
        run.update(actions=actions, condition=ended & (KeyRotation.segments_done >= run.segments))
    except UpdateError as exc:
        if condition_failed(exc):
            return  # another segment's last piece ended it
        raise
    roster.mark(roster.ALL)  # every partition's file names people by key
    if not proving:
        _begin_pass(run)
    log.info("rotation %s: %s", run.rotation, message)


def _fail(run: KeyRotation, message: str) -> None:
    run.update(actions=[KeyRotation.status.set("failed"), KeyRotation.message.set(message),
                        KeyRotation.finished_at.set(now())])
    log.error("rotation %s failed: %s", run.rotation, message)


# --- what 运维 read ------------------------------------------------------------------------------------

def latest() -> KeyRotation | None:
    """The rotation to the ring's current version, or to the next one: this function's ring may be up to
    keyring.FRESH_SECONDS older than one `start` just wrote."""
    current = keyring.ring().current
    following = header(str(int(current) + 1)) if current.isdigit() else None
    return following or header(current)


def public(run: KeyRotation | None) -> dict:
    if run is None:
        return {"version": keyring.ring().current, "status": None, "status_name": "未轮换过"}
    return {"version": run.rotation.split("#", 1)[1], "replacing": run.replacing, "status": run.status,
            "status_name": STATUS_NAMES.get(run.status, run.status), "pass": int(run.pass_no),
            "segments": int(run.segments), "segments_done": int(run.segments_done),
            "scanned": int(run.scanned), "moved": int(run.moved), "moved_total": int(run.moved_total),
            "message": run.message, "started_at": iso(run.started_at) if run.started_at else None,
            "started_by": run.started_by, "finished_at": iso(run.finished_at) if run.finished_at else None,
            "retired_at": iso(run.retired_at) if run.retired_at else None}
