"""Password hashes the server keeps instead of passwords, and their constant-time check.

Formats (PHC strings, standard base64 without padding)::

    $scrypt$ln=14,r=8,p=1$<salt>$<key>           what hash_password() writes
    $pbkdf2-sha256$i=600000$<salt>$<key>         accepted too

A plain password in the settings is compared with :func:`hmac.compare_digest`. Checking
a hash costs tens of milliseconds of CPU by design, so :class:`PasswordCheck` remembers
the passwords it has verified (as SHA-256 digests, a few at most): a browser sending
Basic auth with every request pays once, and callers on the event loop stay on time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field

SCRYPT_LOG2_N = 14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MAX_SCRYPT_LOG2_N = 20
MAX_PBKDF2_ITERATIONS = 10_000_000
REMEMBERED = 8
"""Verified passwords remembered per check (a rotated password pushes the old one out)."""


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """A parsed hash string; :meth:`parse` refuses anything malformed."""

    scheme: str
    """``scrypt`` or ``pbkdf2-sha256``."""
    params: tuple[int, ...]
    """scrypt: (log2 n, r, p); pbkdf2-sha256: (iterations,)."""
    salt: bytes
    key: bytes

    @classmethod
    def parse(cls, text: str) -> PasswordHash:
        """Raises ValueError (without echoing ``text``) when it is not a supported hash."""
        parts = text.strip().split("$")
        if len(parts) != 5 or parts[0]:
            raise ValueError("not a password hash: expected $scheme$params$salt$key")
        _, scheme, params, salt, key = parts
        values = dict(_param(p) for p in params.split(","))
        if scheme == "scrypt" and set(values) == {"ln", "r", "p"}:
            numbers: tuple[int, ...] = (values["ln"], values["r"], values["p"])
            if not (1 <= values["ln"] <= MAX_SCRYPT_LOG2_N and values["r"] and values["p"]):
                raise ValueError("scrypt parameters out of range")
        elif scheme == "pbkdf2-sha256" and set(values) == {"i"}:
            numbers = (values["i"],)
            if not 1 <= values["i"] <= MAX_PBKDF2_ITERATIONS:
                raise ValueError("pbkdf2 iterations out of range")
        else:
            raise ValueError(f"unsupported password hash scheme {scheme!r} or parameters")
        decoded = _b64decode(salt), _b64decode(key)
        if not all(decoded):
            raise ValueError("password hash with an empty salt or key")
        return cls(scheme, numbers, *decoded)

    def derive(self, password: str) -> bytes:
        secret = password.encode()
        if self.scheme == "scrypt":
            log2_n, r, p = self.params
            n = 1 << log2_n
            return hashlib.scrypt(
                secret,
                salt=self.salt,
                n=n,
                r=r,
                p=p,
                maxmem=256 * n * r + (1 << 20),
                dklen=len(self.key),
            )
        return hashlib.pbkdf2_hmac("sha256", secret, self.salt, self.params[0], len(self.key))

    def matches(self, password: str) -> bool:
        return hmac.compare_digest(self.derive(password), self.key)

    def encode(self) -> str:
        if self.scheme == "scrypt":
            params = "ln={},r={},p={}".format(*self.params)
        else:
            params = f"i={self.params[0]}"
        return f"${self.scheme}${params}${_b64encode(self.salt)}${_b64encode(self.key)}"


def hash_password(password: str, *, log2_n: int = SCRYPT_LOG2_N, salt: bytes | None = None) -> str:
    """A ``$scrypt$...`` string for ``password``, with a fresh random salt."""
    salt = salt or secrets.token_bytes(SALT_BYTES)
    params = (log2_n, SCRYPT_R, SCRYPT_P)
    key = PasswordHash("scrypt", params, salt, bytes(KEY_BYTES)).derive(password)
    return PasswordHash("scrypt", params, salt, key).encode()


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (a hash string). Malformed: ValueError."""
    return PasswordHash.parse(stored).matches(password)


@dataclass(slots=True)
class PasswordCheck:
    """One configured password, plain or hashed, checked in constant time."""

    plain: str | None = field(default=None, repr=False)
    hashed: PasswordHash | None = None
    _verified: dict[bytes, None] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def of(cls, plain: str | None, hashed: str | None) -> PasswordCheck | None:
        """The check for a setting pair (hash preferred), or None when neither is set."""
        if hashed:
            return cls(hashed=PasswordHash.parse(hashed))
        return cls(plain=plain) if plain else None

    @property
    def slow(self) -> bool:
        """Checking may take tens of ms (run it off the event loop)."""
        return self.hashed is not None

    def matches(self, password: str) -> bool:
        if self.hashed is None:
            return hmac.compare_digest(password.encode(), (self.plain or "").encode())
        digest = hashlib.sha256(password.encode()).digest()
        with self._lock:
            if digest in self._verified:
                return True
        if not self.hashed.matches(password):
            return False
        with self._lock:
            self._verified[digest] = None
            while len(self._verified) > REMEMBERED:
                del self._verified[next(iter(self._verified))]
        return True


def _param(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    if not sep or not value.isdigit() or len(value) > 9:
        raise ValueError("malformed password hash parameters")
    return name, int(value)


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("password hash with bad base64") from None
