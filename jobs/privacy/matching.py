"""Which rows name the people an erasure is about: pure transformations, no reads or writes.

Three shapes of table, three ways of finding the person:
- a declared table (silver, gold): its schema's `data_subject` columns hold customer keys, identity
  nodes or the id of a row of another table (`rows_naming`, `delete_condition`);
- a bronze table: its raw fields are standardised and hashed by the source's own conform step,
  which yields the same identity nodes silver derived (`bronze_lines`);
- free text that may quote a record (ops.quarantine's raw line, a gate's observed sample): cut into
  words and phone numbers, joined with the person's identifiers, clear and hashed (`rows_quoting`).

Every match is made by a join with a frame of the people's values, never by a predicate holding
the values themselves: Delta writes a DELETE's predicate into the table's log, which outlives the
rows it deleted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.common.contracts import DataSubject

VALUE = "value"   # the one column of a values frame

# An identifier (id, key, hash, email) is made of these; anything else ends it.
_TOKEN_CHARS = r"a-z0-9_.@+\-"   # (text is lowercased first)
_PHONE_RUN = r"\+?\d[\d\s.()/\-]{6,}\d"   # digits however a source spaced them
_PHONE_TAIL_DIGITS = 8   # a number's last digits: the same with or without its country code
_PHONE_MIN_DIGITS = 9    # a shorter run is an order number or a date, not a phone
PHONE_TAG = "phone~"


def rows_naming(df: DataFrame, declared: DataSubject, values: DataFrame) -> DataFrame:
    """The rows of `df` in which any declared column holds one of `values` (a values frame): a link
    between the person's email and someone else's CRM id names the person, so it goes. One
    equi-join per column: an OR of columns in one join would compare every row with every value."""
    named = [df.join(F.broadcast(values), F.col(f"`{c}`") == values[VALUE], "left_semi")
             for c in declared.columns]
    return reduce(DataFrame.unionByName, named)   # a row naming them twice comes twice


def delete_condition(declared: DataSubject, columns: Sequence[str]) -> Column | str:
    """How a MERGE finds the rows to delete: a table naming people in one column is joined on it
    with the values frame; one naming them in several, on the `_fingerprint` of rows_naming's rows."""
    named = declared.columns
    if len(named) == 1:
        return f"t.`{named[0]}` = s.`{VALUE}`"
    return fingerprint(columns, "t") == F.col("s._fingerprint")


def values_for(declared: DataSubject, keys: Iterable[str], nodes: Iterable[str],
               via_values: Iterable[str] = ()) -> list[str]:
    """The values a declared table's columns are matched against: the row ids of the table it
    belongs to (`via`), else the people's customer keys and identity nodes."""
    if declared.via is not None:
        return sorted(set(via_values))
    return sorted(set(keys) | set(nodes))


def node_columns(conformed: DataFrame) -> list[str]:
    """The identity-node columns a source's conform step derives (identity_node, email_node, ...)."""
    return [c for c in conformed.columns if c.endswith("_node")]


def bronze_lines(conformed: DataFrame, nodes: DataFrame, lineage: Sequence[str]) -> DataFrame:
    """The lineage (file, line) of every bronze record whose conformed row carries one of `nodes`
    (a values frame): the records the person's silver rows came from, and any other the pipeline
    would attribute to them, including those it refused downstream."""
    columns = node_columns(conformed)
    if not columns:
        return conformed.select(*lineage).limit(0)
    exploded = conformed.select(*lineage, F.explode(F.array(*[F.col(c) for c in columns])).alias(VALUE))
    return exploded.join(F.broadcast(nodes), VALUE, "left_semi").select(*lineage).distinct()


def _phone_tail(digits: Column) -> Column:
    return F.concat(F.lit(PHONE_TAG), F.substring(digits, -_PHONE_TAIL_DIGITS, _PHONE_TAIL_DIGITS))


def text_tokens(text: Column) -> Column:
    """The words of a free text that could be an identifier, lowercased (ids, keys, hashes,
    emails: split where an identifier cannot continue, edge punctuation trimmed), and the last
    8 digits of every phone-like run of 9 digits or more, however spaced, tagged as phones."""
    words = F.transform(F.split(F.lower(F.coalesce(text, F.lit(""))), rf"[^{_TOKEN_CHARS}]+"),
                        lambda w: F.regexp_replace(w, r"^[.+\-]+|[.+\-]+$", ""))
    runs = F.transform(F.regexp_extract_all(F.coalesce(text, F.lit("")), F.lit(_PHONE_RUN), 0),
                       lambda r: F.regexp_replace(r, r"\D", ""))
    phones = F.transform(F.filter(runs, lambda d: F.length(d) >= _PHONE_MIN_DIGITS), _phone_tail)
    return F.array_distinct(F.concat(F.filter(words, lambda w: w != ""), phones))


def quoted_values(identifiers: Iterable[str], phones: Iterable[str] = ()) -> list[str]:
    """What `text_tokens` yields for the people: their identifiers lowercased, their phones' tails."""
    tails = {PHONE_TAG + d[-_PHONE_TAIL_DIGITS:] for d in (re.sub(r"\D", "", p or "") for p in phones)
             if len(d) >= _PHONE_MIN_DIGITS}
    return sorted({i.strip().lower() for i in identifiers if i and i.strip()} | tails)


def fingerprint(columns: Sequence[str], alias: str | None = None) -> Column:
    """A row's identity from all its values (for tables without a key, such as ops.quarantine)."""
    prefix = f"{alias}." if alias else ""
    return F.sha2(F.to_json(F.struct(*[F.col(f"{prefix}`{c}`").alias(c) for c in columns])), 256)


def rows_quoting(df: DataFrame, text_columns: Sequence[str], values: DataFrame) -> DataFrame:
    """The rows of `df` whose text columns quote one of `values` (a values frame built from
    quoted_values), with their `fingerprint` as `_fingerprint`: matched by a join on words, so a
    batch of a thousand people costs what one does."""
    columns = df.columns
    words = df.select(*columns, F.explode(F.array_distinct(F.flatten(F.array(
        *[text_tokens(F.col(c)) for c in text_columns])))).alias(VALUE))
    # Deduplicated by fingerprint: a map column (bronze's _extra) refuses a plain distinct().
    return (words.join(F.broadcast(values), VALUE, "left_semi").select(*columns)
            .withColumn("_fingerprint", fingerprint(columns)).dropDuplicates(["_fingerprint"]))


def identifier_texts(keys: Iterable[str], nodes: Iterable[str], emails: Iterable[str] = ()) -> set[str]:
    """Every text that identifies the people: customer keys, nodes whole and by their value (a CRM
    id, a device id, an email or phone hash), clear emails."""
    texts = set(keys) | set(nodes) | set(emails)
    texts |= {n.split(":", 1)[1] for n in nodes if ":" in n}
    return {t for t in texts if t}
