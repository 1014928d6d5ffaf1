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
from collections.abc import Sequence
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
    """A privacy request that cannot be carried out as given: it changes nothing. `index`: which
    identifier of a batch it is about."""

    def __init__(self, message: str, index: int | None = None):
        super().__init__(message)
        self.index = index


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


def _normalised(asked: DataFrame, secret: bytes) -> DataFrame:
    """`asked` (request, kind, text) with the identifier's `node` and `clear` value as silver writes
    them; both null when silver would drop it (a malformed email, an invalid phone number)."""
    text, kind = F.col("text"), F.col("kind")
    email, phone = std.email(text), std.phone(text)
    clear = (F.when(kind == "email", email).when(kind == "phone", phone)
             .when(kind == "customer_id", std.trimmed(text)))
    node = (F.when(kind == "email", nodes.email_node(email, secret))
            .when(kind == "phone", nodes.phone_node(phone, secret))
            .when(kind == "customer_id", nodes.customer_node(std.trimmed(text))))
    return asked.select("request", "kind", "text", node.alias("node"), clear.alias("clear"))


def _live_keys(merged: dict[str, str], keys: set[str]) -> set[str]:
    """Each key as it stands today: a key merged into another stands for its survivor."""
    live = set()
    for key in keys:
        seen = set()
        while key in merged and key not in seen:
            seen.add(key)
            key = merged[key]
        live.add(key)
    return live


def _keys_named(spark: SparkSession, config: Config, normalised: DataFrame, graph: DataFrame,
                customer_keys: DataFrame | None) -> DataFrame:
    """(request, customer_key) for every customer each request's identifier names."""
    by_node = (normalised.filter(F.col("node").isNotNull()).join(graph.filter(F.col("customer_key").isNotNull()),
                                                                 "node").select("request", "customer_key"))
    known = (customer_keys if customer_keys is not None else graph).select("customer_key").distinct()
    by_key = (normalised.filter(F.col("kind") == "customer_key")
              .select("request", F.col("text").alias("customer_key")).join(known, "customer_key")
              .select("request", "customer_key"))
    named = by_node.unionByName(by_key)
    pii = _table(spark, config, "silver.customer_pii")
    if pii is not None:
        # A shared identifier links no one in the graph; the clear profiles still name its people.
        for kind in ("email", "phone"):
            named = named.unionByName(
                normalised.filter(F.col("kind") == kind).join(
                    pii.filter(F.col("customer_key").isNotNull()).select(F.col(kind).alias("clear"), "customer_key"),
                    "clear").select("request", "customer_key"))
    return named.distinct()


def find_subjects(spark: SparkSession, config: Config, identifiers: Sequence[str], kind: str | None = None,
                  allow_several: bool = False) -> list[Subject]:
    """The customer keys and nodes each of `identifiers` names, resolved together (a batch of a
    thousand costs a few queries, as one does). Stops, changing nothing, at the first identifier
    that names no one or (without allow_several) several customers, listing their keys; the
    error's `index` says which."""
    kinds = []
    for index, identifier in enumerate(identifiers):
        try:
            kinds.append(identifier_kind(identifier, kind))
        except RequestError as exc:
            raise RequestError(str(exc), index) from None
    graph = _table(spark, config, "silver.identity_graph")
    if graph is None:
        raise RequestError(f"no identity graph at {config.paths.table('silver.identity_graph')}: "
                           "run the pipeline (make run) before a privacy request")
    customer_keys = _table(spark, config, "silver.customer_keys")
    asked = spark.createDataFrame([(n, k, i.strip()) for n, (i, k) in enumerate(zip(identifiers, kinds, strict=True))],
                                  "request int, kind string, text string")
    normalised = _normalised(asked, resolve_secret(config.env)).cache()
    try:
        invalid = sorted(r["request"] for r in normalised.filter(
            (F.col("kind") != "customer_key") & F.col("node").isNull()).select("request").collect())
        if invalid:
            n = invalid[0]
            raise RequestError(f"'{identifiers[n]}' is not a valid {kinds[n]} once normalised as silver does; "
                               "check it, or pass the kind of identifier it is (--kind)", n)
        pairs = _keys_named(spark, config, normalised, graph, customer_keys).collect()
    finally:
        normalised.unpersist()
    merged = {} if customer_keys is None else {
        r["customer_key"]: r["merged_into"] for r in customer_keys
        .filter((F.col("status") == "merged") & F.col("merged_into").isNotNull())
        .select("customer_key", "merged_into").collect()}
    named: dict[int, set[str]] = {n: set() for n in range(len(identifiers))}
    for r in pairs:
        named[r["request"]].add(r["customer_key"])
    keys_of = []
    for n, identifier in enumerate(identifiers):
        keys = _live_keys(merged, named[n])
        if not keys:
            raise RequestError(f"no customer is known by {kinds[n]} '{identifier}' in the lake at "
                               f"{config.paths.lake}; check the identifier (or --kind)", n)
        if len(keys) > 1 and not allow_several:
            raise RequestError(f"{kinds[n]} '{identifier}' names {len(keys)} customers: {', '.join(sorted(keys))}. "
                               "Repeat the request with one of these customer keys, or with --all to "
                               "include every one of them", n)
        keys_of.append(keys)
    every = sorted(set().union(*keys_of))
    owned: dict[str, set[str]] = {}
    for r in (graph.join(F.broadcast(spark.createDataFrame([(k,) for k in every], "customer_key string")),
                         "customer_key").select("customer_key", "node").collect()):
        owned.setdefault(r["customer_key"], set()).add(r["node"])
    return [Subject(identifier_kind=k, keys=tuple(sorted(keys)),
                    nodes=tuple(sorted(set().union(*(owned.get(key, set()) for key in keys)))))
            for k, keys in zip(kinds, keys_of, strict=True)]


def find_subject(spark: SparkSession, config: Config, identifier: str, kind: str | None = None,
                 allow_several: bool = False) -> Subject:
    """The customer keys and nodes `identifier` names (find_subjects for one)."""
    return find_subjects(spark, config, [identifier], kind, allow_several)[0]


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
