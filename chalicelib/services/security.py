"""Password hashing, token digests and keyed hashes. Standard library only."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from chalicelib.config import settings

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
    """HMAC-SHA256 under the application secret, separated by purpose (never a plain hash of a
    low-entropy value such as a phone, a 6-digit code or an ID number)."""
    return hmac.new(settings().app_secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def keyed_hasher(purpose: str):
    """keyed_hash with the secret read once: for loops over many values (an import's rows)."""
    secret, prefix = settings().app_secret, f"{purpose}:".encode()
    digest = hashlib.sha256

    def keyed(value: str) -> str:
        return hmac.new(secret, prefix + value.encode(), digest).hexdigest()

    return keyed


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
