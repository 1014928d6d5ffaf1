"""Keyed pseudonyms: the JVM HMAC equals Python's hmac, and the secret is resolved safely."""

import hashlib
import hmac

import pytest
from pyspark.sql import functions as F

from jobs.common import privacy
from jobs.common.errors import ConfigError

VALUES = ["jean.dupont@gmail.com", "+33612345678", "", "Élodie Müller – 東京 🚀", "a" * 200, None]
SECRETS = [b"short-key-16chars", privacy.DEV_SECRET.encode(), b"k" * 64, b"a-long-key-" * 10,
           "clé-secrète-non-ascii".encode()]


def _collect(spark, make):
    df = spark.createDataFrame([(i, v) for i, v in enumerate(VALUES)], "i int, v string")
    return [r[0] for r in df.orderBy("i").select(make(F.col("v"))).collect()]


def _py_hmac(secret: bytes, value: str | None) -> str | None:
    return None if value is None else hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("secret", SECRETS, ids=["16B", "dev", "64B", "110B", "non-ascii"])
def test_hmac_sha256_equals_python_hmac(spark, secret):
    got = _collect(spark, lambda c: privacy.hmac_sha256(c, secret))
    assert got == [_py_hmac(secret, v) for v in VALUES]
    assert all(len(h) == 64 and h == h.lower() for h in got if h is not None)


def test_hmac_needs_a_secret():
    with pytest.raises(ValueError, match="secret"):
        privacy.hmac_sha256(F.col("v"), b"")


def test_pseudonym_is_a_truncated_domain_separated_hmac(spark):
    secret = b"pseudonym-test-secret"
    as_email = _collect(spark, lambda c: privacy.pseudonym(c, secret, "email"))
    as_phone = _collect(spark, lambda c: privacy.pseudonym(c, secret, "phone"))
    assert as_email == [None if v is None else _py_hmac(secret, f"email:{v}")[:32] for v in VALUES]
    assert all(len(p) == 32 for p in as_email if p is not None)
    assert as_email[-1] is None and as_phone[-1] is None
    assert all(e != p for e, p in zip(as_email[:-1], as_phone[:-1], strict=True))
    other_key = _collect(spark, lambda c: privacy.pseudonym(c, b"another-secret-value", "email"))
    assert all(a != b for a, b in zip(as_email[:-1], other_key[:-1], strict=True))


@pytest.mark.parametrize("kind", ["", "Email", "email:x", "e mail"])
def test_pseudonym_rejects_ambiguous_kinds(kind):
    with pytest.raises(ValueError, match="kind"):
        privacy.pseudonym(F.col("v"), b"x" * 16, kind)


@pytest.mark.parametrize("env", ["dev", "test"])
def test_dev_and_test_fall_back_to_the_dev_secret(env):
    assert privacy.resolve_secret(env, environ={}) == privacy.DEV_SECRET.encode()


@pytest.mark.parametrize("env", ["dev", "test", "prod"])
def test_the_environment_secret_wins(env):
    secret = "s3cr3t-from-the-vault-0123"
    assert privacy.resolve_secret(env, environ={privacy.SECRET_ENV: secret}) == secret.encode()


def test_prod_without_a_secret_fails_naming_the_variable_and_the_fix():
    with pytest.raises(ConfigError, match="C360_HMAC_SECRET") as err:
        privacy.resolve_secret("prod", environ={})
    assert "secret store" in str(err.value)


def test_prod_refuses_the_dev_secret():
    with pytest.raises(ConfigError, match="dev-only"):
        privacy.resolve_secret("prod", environ={privacy.SECRET_ENV: privacy.DEV_SECRET})


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_short_secret_is_refused(env):
    with pytest.raises(ConfigError, match="C360_HMAC_SECRET.*at least 16") as err:
        privacy.resolve_secret(env, environ={privacy.SECRET_ENV: "short"})
    assert err.value.key == privacy.SECRET_ENV


def test_resolve_secret_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv(privacy.SECRET_ENV, "from-os-environ-0123456")
    assert privacy.resolve_secret("prod") == b"from-os-environ-0123456"
