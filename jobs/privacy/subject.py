"""Who a privacy request is about, and which rows of a declared table are theirs.

A request names a person by one identifier: a CRM id, an email, a phone or a customer_key. The
identifier is normalised and keyed-hashed exactly as silver does (jobs.silver.nodes), so it meets
the identity graph's node; an identifier the graph attributes to no one (a family mailbox, a
switchboard: shared by design) is looked up in the clear profiles instead, and then usually
names several customers. The subject is the customer keys it resolves to and every identity node
the graph gives them. Each table says in its schema how a row names a person (`data_subject`:
customer_key columns, identity node columns, or the rows of another table it belongs to).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.common.config import Config
from jobs.common.contracts import DataSubject
from jobs.common.errors import PipelineError
from jobs.common.privacy import resolve_secret
from jobs.common.tables import read_table, table_exists
from jobs.identity.keys import KEY_PREFIX
from jobs.privacy import IDENTIFIER_KINDS
from jobs.silver import nodes
from jobs.silver import standardise as std

_PHONE_TEXT = re.compile(r"^\+?[\d\s().\-/]+$")


class RequestError(PipelineError):
    """A privacy request that cannot be carried out as given: it changes nothing."""


@dataclass(frozen=True)
class Subject:
    """The person a request is about: their customer keys and identity nodes (hashed, as in silver)."""

    identifier_kind: str
    keys: tuple[str, ...]
    nodes: tuple[str, ...]


def identifier_kind(identifier: str, kind: str | None = None) -> str:
    """The kind of `identifier`: as given, else a customer_key (ck_...), an email (has @), a phone
    (digits, spaces, + and punctuation only, 6 digits or more), otherwise a CRM id."""
    if kind is not None:
        if kind not in IDENTIFIER_KINDS:
            raise RequestError(f"unknown identifier kind '{kind}'; use one of {', '.join(IDENTIFIER_KINDS)}")
        return kind
    text = identifier.strip()
    if not text:
        raise RequestError("the identifier is empty; give a CRM id, an email, a phone or a customer_key")
    if text.startswith(KEY_PREFIX):
        return "customer_key"
    if "@" in text:
        return "email"
    if _PHONE_TEXT.match(text) and sum(ch.isdigit() for ch in text) >= 6:
        return "phone"
    return "customer_id"


def _table(spark: SparkSession, config: Config, name: str) -> DataFrame | None:
    path = str(config.paths.table(name))
    return read_table(spark, path) if table_exists(spark, path) else None


def _normalised(spark: SparkSession, kind: str, identifier: str, secret: bytes) -> tuple[str | None, str | None]:
    """(node, clear value) of the identifier as silver writes them; (None, None) when silver would
    drop it (a malformed email, an invalid phone number)."""
    one = spark.range(1).select(F.lit(identifier.strip()).alias("text"))
    if kind == "email":
        clear = std.email(F.col("text"))
        node = nodes.email_node(clear, secret)
    elif kind == "phone":
        clear = std.phone(F.col("text"))
        node = nodes.phone_node(clear, secret)
    else:
        clear = std.trimmed(F.col("text"))
        node = nodes.customer_node(clear)
    row = one.select(node.alias("node"), clear.alias("clear")).first()
    return row["node"], row["clear"]


def _live_keys(customer_keys: DataFrame | None, keys: set[str]) -> set[str]:
    """Each key as it stands today: a key merged into another stands for its survivor."""
    if customer_keys is None or not keys:
        return keys
    merged = {r["customer_key"]: r["merged_into"] for r in customer_keys
              .filter((F.col("status") == "merged") & F.col("merged_into").isNotNull())
              .select("customer_key", "merged_into").collect()}
    live = set()
    for key in keys:
        seen = set()
        while key in merged and key not in seen:
            seen.add(key)
            key = merged[key]
        live.add(key)
    return live


def find_subject(spark: SparkSession, config: Config, identifier: str, kind: str | None = None,
                 allow_several: bool = False) -> Subject:
    """The customer keys and nodes `identifier` names. Stops, changing nothing, when it names no one
    or (without allow_several) several customers, listing their keys."""
    kind = identifier_kind(identifier, kind)
    graph = _table(spark, config, "silver.identity_graph")
    if graph is None:
        raise RequestError(f"no identity graph at {config.paths.table('silver.identity_graph')}: "
                           "run the pipeline (make run) before a privacy request")
    customer_keys = _table(spark, config, "silver.customer_keys")
    if kind == "customer_key":
        asked = {identifier.strip()}
        if customer_keys is not None:
            known = {r[0] for r in customer_keys.filter(F.col("customer_key") == identifier.strip())
                     .select("customer_key").collect()}
            asked &= known
        keys = _live_keys(customer_keys, asked)
    else:
        node, clear = _normalised(spark, kind, identifier, resolve_secret(config.env))
        if node is None:
            raise RequestError(f"'{identifier}' is not a valid {kind} once normalised as silver does; "
                               "check it, or pass the kind of identifier it is (--kind)")
        keys = {r[0] for r in graph.filter((F.col("node") == node) & F.col("customer_key").isNotNull())
                .select("customer_key").distinct().collect()}
        pii = _table(spark, config, "silver.customer_pii")
        if kind in ("email", "phone") and pii is not None:
            # A shared identifier links no one in the graph; the clear profiles still name its people.
            keys |= {r[0] for r in pii.filter((F.col(kind) == clear) & F.col("customer_key").isNotNull())
                     .select("customer_key").distinct().collect()}
        keys = _live_keys(customer_keys, keys)
    if not keys:
        raise RequestError(f"no customer is known by {kind} '{identifier}' in the lake at "
                           f"{config.paths.lake}; check the identifier (or --kind)")
    if len(keys) > 1 and not allow_several:
        raise RequestError(f"{kind} '{identifier}' names {len(keys)} customers: {', '.join(sorted(keys))}. "
                           "Repeat the request with one of these customer keys, or with --all to "
                           "include every one of them")
    owned = graph.filter(F.col("customer_key").isin(*sorted(keys))).select("node").distinct()
    return Subject(identifier_kind=kind, keys=tuple(sorted(keys)),
                   nodes=tuple(sorted(r[0] for r in owned.collect())))


def _is_subjects(col: Column, values: tuple[str, ...]) -> Column:
    return col.isin(*values) if values else F.lit(False)


def owned_rows(df: DataFrame, declared: DataSubject, subject: Subject,
               via_values: tuple[str, ...] = ()) -> DataFrame:
    """The rows of `df` that are the subject's alone: at least one declared column names them and
    every declared column that names anyone names them (a link between their email and another
    person's CRM id is not theirs to see). `via_values`: the subject's values of declared.via's column."""
    checks = ([(F.col(c), subject.keys) for c in declared.keys]
              + [(F.col(c), subject.nodes) for c in declared.nodes]
              + ([(F.col(declared.via[1]), via_values)] if declared.via else []))
    some = F.lit(False)
    every = F.lit(True)
    for col, values in checks:
        some = some | (col.isNotNull() & _is_subjects(col, values))
        every = every & (col.isNull() | _is_subjects(col, values))
    return df.filter(some & every)
