"""The person-key ring: which secret keys the hash of every ID number (the person key that joins staff,
their health state and the provincial feeds), and, while a rotation runs, which one it replaces.

The ring is the stage's secret PERSON_KEY_SECRET_ID (Secrets Manager, JSON):

    {"current": "2", "key2": "<random>"}                                  steady
    {"current": "2", "key2": "<random>", "replacing": "1", "key1": "…"}   rotating (docs/deploy.md)

Every new person key is made with `current`. While `replacing` is named, what looks a person up by
ID number (a registration, an import, a search, a feed's matching) also computes the replaced key, so
nothing registered before the rotation is missed; the re-key job (services/operations/rotation.py) moves
everything stored under the replaced key to the current one, and only then does `infra/person_key.py
finish` drop it from the secret.

Without PERSON_KEY_SECRET_ID (the local stack, the tests' default) the ring is one version, "0", derived
from APP_SECRET: the data a local stack already holds keeps matching. A warm function trusts what it read
for FRESH_SECONDS, so a new ring reaches every function within that time; the rotation waits longer.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass

from chalicelib.config import settings
from chalicelib.errors import KeyUnavailableError
from chalicelib.integrations import secrets
from chalicelib.services.common.security import keyed_digests

log = logging.getLogger(__name__)
FRESH_SECONDS = 60  # PERSON_KEY_FRESH_SECONDS overrides it (the end-to-end suite: a few seconds)
PURPOSE = "person"
UNAVAILABLE = "人员密钥暂时无法读取，请稍后重试；如持续出现请联系系统运维人员"


@dataclass(frozen=True)
class Ring:
    current: str
    keys: dict[str, bytes]  # version → key material
    replacing: str | None = None

    def digests(self, version: str | None = None):
        """keyed_digests under one version's key (the current one by default)."""
        return keyed_digests(PURPOSE, key=self.keys[version or self.current])

    def replaced_digests(self):
        """keyed_digests under the replaced key while a rotation runs, else None."""
        return self.digests(self.replacing) if self.replacing else None


class RingError(ValueError):
    """A ring secret whose value does not say which key is current, or lacks a named key."""


def parse(value: dict) -> Ring:
    current = str(value.get("current") or "")
    replacing = str(value.get("replacing") or "") or None
    keys = {}
    for version in filter(None, (current, replacing)):
        material = value.get(f"key{version}")
        if not isinstance(material, str) or len(material) < 32:
            raise RingError(f"key{version} missing or shorter than 32 characters")
        keys[version] = material.encode()
    if not current:
        raise RingError("no current version")
    if replacing == current:
        raise RingError("replacing names the current version")
    return Ring(current, keys, replacing)


_cached: dict[str, tuple[float, Ring]] = {}
_lock = threading.Lock()


def ring() -> Ring:
    secret_id = os.environ.get("PERSON_KEY_SECRET_ID", "")
    if not secret_id:
        if settings().stage not in ("local", "test"):  # a deployed stage hashing with APP_SECRET could never rotate
            log.error("PERSON_KEY_SECRET_ID is not set on stage %s", settings().stage)
            raise KeyUnavailableError(UNAVAILABLE)
        return Ring("0", {"0": settings().app_secret})
    with _lock:
        cached = _cached.get(secret_id)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    try:
        found = parse(secrets.json_object(secret_id))
    except (secrets.Unreadable, RingError) as exc:
        log.error("person key secret %s unusable: %s", secret_id, exc)
        raise KeyUnavailableError(UNAVAILABLE) from exc
    with _lock:
        _cached[secret_id] = (time.monotonic() + fresh_seconds(), found)
    return found


def fresh_seconds() -> float:
    """How long a warm function trusts the ring it read."""
    return float(os.environ.get("PERSON_KEY_FRESH_SECONDS", FRESH_SECONDS))


def forget() -> None:
    """Read the secret again on next use (tests; `infra/person_key.py` after it writes the secret)."""
    with _lock:
        _cached.clear()


def person_key(id_number: str) -> str:
    """The person key a new record gets: the current version's."""
    return ring().digests()([id_number.encode()])[0]


def hasher():
    """person_key with the ring read and the key set up once, for loops (an import's rows)."""
    many = ring().digests()
    return lambda id_number: many([id_number.encode()])[0]


def lookup_keys(id_number: str) -> list[str]:
    """Every key the person may be stored under now: the current one first, then the replaced one."""
    current = ring()
    keys = [current.digests()([id_number.encode()])[0]]
    replaced = current.replaced_digests()
    if replaced is not None:
        keys.append(replaced([id_number.encode()])[0])
    return keys


def fingerprint(material: bytes) -> str:
    """A short non-secret tag of a key, for the rotation's records and the log (never the key)."""
    return hashlib.blake2b(material, digest_size=4, person=b"ring-tag").hexdigest()
