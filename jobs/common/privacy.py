"""Keyed pseudonyms for identifiers: HMAC-SHA256 computed in the JVM with Spark built-ins.

A plain hash of an email or phone is reversible by hashing candidate values; a keyed hash is
not without the secret. The secret comes from the environment (a secret store in production);
dev and test fall back to a published dev-only secret so the demo runs with nothing set.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping

from pyspark.sql import Column
from pyspark.sql import functions as F

from jobs.common.errors import ConfigError

SECRET_ENV = "C360_HMAC_SECRET"
# The default secret for dev and test only: it is public (it is in this file), so pseudonyms
# made with it protect nothing. Production refuses it.
DEV_SECRET = "c360-dev-secret-not-for-production"
MIN_SECRET_CHARS = 16

_BLOCK = 64  # SHA-256 block size in bytes (RFC 2104's B)
_KIND = re.compile(r"^[a-z][a-z0-9_]*$")


def resolve_secret(env: str, environ: Mapping[str, str] | None = None) -> bytes:
    """The HMAC key for `env`: C360_HMAC_SECRET when set, else the dev secret outside prod."""
    environ = os.environ if environ is None else environ
    value = environ.get(SECRET_ENV)
    if value is None:
        if env in ("dev", "test"):
            return DEV_SECRET.encode("utf-8")
        raise ConfigError(SECRET_ENV, f"not set, and env '{env}' has no default secret",
                          allowed=f"set {SECRET_ENV} from the secret store "
                                  f"(at least {MIN_SECRET_CHARS} characters)", source="environment")
    if len(value) < MIN_SECRET_CHARS:
        raise ConfigError(SECRET_ENV, f"has {len(value)} characters, too short to be a key",
                          allowed=f"a secret of at least {MIN_SECRET_CHARS} characters from the "
                                  "secret store", source="environment")
    if value == DEV_SECRET and env not in ("dev", "test"):
        raise ConfigError(SECRET_ENV, f"is the public dev-only secret, refused in env '{env}'",
                          allowed=f"set {SECRET_ENV} from the secret store", source="environment")
    return value.encode("utf-8")


def _padded_keys(secret: bytes) -> tuple[bytes, bytes]:
    """(K' xor ipad, K' xor opad) where K' is the key hashed if too long, zero-padded to a block."""
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\x00")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_sha256(col: Column, secret: bytes) -> Column:
    """Lower-case hex HMAC-SHA256 of the UTF-8 text in `col` (null stays null).

    H((K' xor opad) || H((K' xor ipad) || m)), all in the JVM: no Python UDF round trip.
    """
    if not secret:
        raise ValueError("hmac_sha256 needs a non-empty secret (see resolve_secret)")
    inner_key, outer_key = _padded_keys(bytes(secret))
    inner = F.unhex(F.sha2(F.concat(F.lit(bytearray(inner_key)), F.encode(col, "UTF-8")), 256))
    return F.sha2(F.concat(F.lit(bytearray(outer_key)), inner), 256)


def pseudonym(col: Column, secret: bytes, kind: str) -> Column:
    """32-hex keyed pseudonym of `col`, domain-separated by `kind` (email, phone, ip, ...).

    The same text under two kinds gives unrelated pseudonyms, so joining on them cannot link
    identifiers of different kinds. Null stays null.
    """
    if not _KIND.match(kind):  # no ':' in kinds, so "kind:value" is unambiguous
        raise ValueError(f"pseudonym kind must match {_KIND.pattern} (e.g. 'email'), not {kind!r}")
    return F.substring(hmac_sha256(F.concat(F.lit(f"{kind}:"), col), secret), 1, 32)
