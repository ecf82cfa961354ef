"""Keyed hashes (HMAC-SHA256) of personal data.

Customer emails and phone numbers are stored only as these hashes; employee
emails are hashed with the same key, so feedback from an employee's own address
can be found without keeping customer contact details in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from functools import lru_cache

from plaudit import settings

_NOT_DIGITS = re.compile(r"\D")


@lru_cache(maxsize=4)
def _key(explicit: str | None, home: str) -> bytes:
    if explicit:
        return explicit.encode()
    path = settings.Path(home) / "hash.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def key() -> bytes:
    s = settings.load()
    return _key(s.hash_key, str(s.home))


def normalise(field: str, value: str) -> str:
    """The same address or number written differently hashes the same."""
    value = value.strip()
    if "phone" in field:
        digits = _NOT_DIGITS.sub("", value)
        return ("+" if value.startswith("+") else "") + digits
    return value.lower()


def keyed_hash(field: str, value: str, secret: bytes | None = None) -> str:
    return hmac.new(secret or key(), normalise(field, value).encode(), hashlib.sha256).hexdigest()
