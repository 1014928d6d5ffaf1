"""Identifier nodes of the identity graph: `<type>:<value>`, email and phone as keyed hashes.

The node text is what silver tables carry in `identity_node`, what `silver.identity_links` joins
and what `silver.identity_graph` maps to a customer_key. Clear emails and phones never appear.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from jobs.common.privacy import pseudonym

NODE_TYPES = ("customer_id", "anonymous_id", "email", "phone")


def _node(kind: str, value: Column) -> Column:
    return F.when(value.isNotNull(), F.concat(F.lit(kind + ":"), value))


def customer_node(customer_id: Column) -> Column:
    return _node("customer_id", customer_id)


def anonymous_node(anonymous_id: Column) -> Column:
    return _node("anonymous_id", anonymous_id)


def email_hash(normalised_email: Column, secret: bytes) -> Column:
    return pseudonym(normalised_email, secret, "email")


def phone_hash(e164: Column, secret: bytes) -> Column:
    return pseudonym(e164, secret, "phone")


def email_node(normalised_email: Column, secret: bytes) -> Column:
    return _node("email", email_hash(normalised_email, secret))


def phone_node(e164: Column, secret: bytes) -> Column:
    return _node("phone", phone_hash(e164, secret))


def node_type(node: Column) -> Column:
    return F.substring_index(node, ":", 1)
