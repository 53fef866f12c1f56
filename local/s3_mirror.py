"""Write-through persistence for moto's S3: every object put (or copied, or completed from a multipart
upload) is written to disk before moto answers the request, every delete removes it, and a restart loads
the folder back. No periodic copy: no request waits on one, and nothing acknowledged is lost to `kill -9`.

On disk, one object is two files named by the SHA-256 of bucket and key (any key is safe: a 300-character
Chinese file name is 900 bytes, over the 255 a path component may have):

    <root>/<bucket>/<h[:2]>/<h>        the bytes
    <root>/<bucket>/<h[:2]>/<h>.json   {"key": …, "metadata": {…}}, written last: an object without it
                                       was never acknowledged and is not restored
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

_lock = threading.Lock()
_state = {"root": None, "restoring": False}


def _paths(bucket: str, key: str) -> tuple[Path, Path]:
    digest = hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()
    folder = _state["root"] / bucket / digest[:2]
    return folder / digest, folder / f"{digest}.json"


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        out.write(data)
    os.replace(tmp, path)  # atomic: a reader (or a restart) sees the old file or the new one


def _save(bucket: str, key: str, value: bytes, metadata: dict) -> None:
    data_path, meta_path = _paths(bucket, key)
    with _lock:
        data_path.parent.mkdir(parents=True, exist_ok=True)
        _write(data_path, value)
        _write(meta_path, json.dumps({"key": key, "metadata": metadata}, ensure_ascii=False).encode())


def _save_metadata(bucket: str, key: str, metadata: dict) -> None:
    data_path, meta_path = _paths(bucket, key)
    with _lock:
        if data_path.exists():
            _write(meta_path, json.dumps({"key": key, "metadata": metadata}, ensure_ascii=False).encode())


def _remove(bucket: str, key: str) -> None:
    data_path, meta_path = _paths(bucket, key)
    with _lock:
        meta_path.unlink(missing_ok=True)  # first: without it the bytes are not an object any more
        data_path.unlink(missing_ok=True)


def install(root: Path) -> None:
    """Wrap moto's S3 backend so it writes through to `root`. Call once, before the server starts."""
    from moto.s3 import models

    _state["root"] = Path(root)
    _state["root"].mkdir(parents=True, exist_ok=True)
    put_object, delete_object = models.S3Backend.put_object, models.S3Backend.delete_object
    set_metadata = models.FakeKey.set_metadata

    def persisted_put(self, bucket_name, key_name, value, *args, **kwargs):
        new_key = put_object(self, bucket_name, key_name, value, *args, **kwargs)
        if not _state["restoring"]:
            _save(bucket_name, key_name, new_key.value, dict(new_key.metadata))
        return new_key

    def persisted_delete(self, bucket_name, key_name, *args, **kwargs):
        result = delete_object(self, bucket_name, key_name, *args, **kwargs)
        if key_name not in self.get_bucket(bucket_name).keys:
            _remove(bucket_name, key_name)
        return result

    def persisted_metadata(self, metadata, replace=False):
        set_metadata(self, metadata, replace)
        if not _state["restoring"] and _state["root"] is not None and self.bucket_name:
            _save_metadata(self.bucket_name, self.name, dict(self.metadata))

    models.S3Backend.put_object = persisted_put
    models.S3Backend.delete_object = persisted_delete
    models.FakeKey.set_metadata = persisted_metadata


def restore(*, account_id: str, region: str) -> int:
    """Load every acknowledged object back into moto, creating its bucket; sends no notification (the
    objects were announced when they were first put). Returns how many objects were loaded."""
    from moto.s3.models import s3_backends

    backend = s3_backends[account_id]["aws"]
    loaded = 0
    _state["restoring"] = True
    try:
        for bucket_dir in sorted(p for p in _state["root"].iterdir() if p.is_dir()):
            bucket = bucket_dir.name
            if bucket not in backend.buckets:
                backend.create_bucket(bucket, region)
            for meta_path in bucket_dir.glob("*/*.json"):
                data_path = meta_path.with_suffix("")
                if not data_path.exists():
                    continue
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                key = backend.put_object(bucket, meta["key"], data_path.read_bytes(), disable_notification=True)
                key.set_metadata(meta.get("metadata") or {})
                loaded += 1
    finally:
        _state["restoring"] = False
    return loaded


def add(bucket: str, key: str, value: bytes, metadata: dict | None = None) -> None:
    """Write an object straight into the mirror (the one-time import of an older .local/state)."""
    _save(bucket, key, value, metadata or {})
