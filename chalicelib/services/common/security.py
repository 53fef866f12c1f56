"""Password hashing, token digests and keyed hashes (keyed with the stage's app secret,
services/common/stage_secrets.py). Standard library only."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from chalicelib.services.common import stage_secrets

# scrypt at N=2^14, r=8 costs ~16 MB and tens of milliseconds: slow for a guesser, fine for a login.
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "scrypt${}${}${}${}${}".format(_N, _R, _P, _b64(salt), _b64(digest))


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    return hmac.compare_digest(candidate, _unb64(digest))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Sessions are stored under this digest; a 256-bit random token needs no salt."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(purpose: str, value: str) -> str:
    """A keyed hash under the application secret, separated by purpose (never a plain hash of a
    low-entropy value such as a phone, a 6-digit code or an ID number): BLAKE2b in its keyed mode
    (RFC 7693, a MAC by design), the purpose as its personalization."""
    return keyed_digests(purpose)([value.encode()])[0]


def keyed_hasher(purpose: str):
    """keyed_hash with the key set up once: for loops over many values (an import's rows)."""
    many = keyed_digests(purpose)

    def keyed(value: str) -> str:
        return many([value.encode()])[0]

    return keyed


def keyed_digests(purpose: str, *, key: bytes | None = None):
    """`digests(values) -> list[str]`, equal to keyed_hash(purpose, value) per value: `values` is a list
    of bytes, or one bytes object of fixed-width values with their `width`. `key` replaces the
    application secret (the person-key ring's versions, services/common/keyring.py). The
    keyed state is prepared once and copied per value: a feed hashes a million ID numbers, and this is
    two C calls each (HMAC-SHA256 cost four, and `hmac.new` per value twice that)."""
    secret = stage_secrets.app_secret() if key is None else key
    if len(secret) > hashlib.blake2b.MAX_KEY_SIZE:
        secret = hashlib.blake2b(secret).digest()
    keyed = hashlib.blake2b(key=secret, digest_size=32, person=purpose.encode())

    def digests(values: list[bytes] | bytes, width: int = 0) -> list[str]:
        out = []
        append, copy = out.append, keyed.copy
        if width:  # one loop per form: this is the hot path of a feed
            for start in range(0, len(values), width):
                state = copy()
                state.update(values[start:start + width])
                append(state.hexdigest())
            return out
        for value in values:
            state = copy()
            state.update(value)
            append(state.hexdigest())
        return out

    return digests


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
