"""bronze.orders -> silver.orders (latest status wins), silver.order_items, touchpoints, evidence."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.silver import standardise as std
from jobs.silver.nodes import customer_node, email_hash, email_node
from jobs.silver.sources.common import lineage, links, sightings, touchpoints
from jobs.silver.spec import Output, SourceSpec

SOURCE = "orders"
ITEMS = "array<struct<sku:string,category:string,quantity:string,unit_price:string,attributes:string>>"


def conform(bronze: DataFrame, secret: bytes) -> DataFrame:
    email = std.email(F.col("email"))
    df = bronze.select(
        std.trimmed(F.col("order_id")).alias("order_id"), std.trimmed(F.col("customer_id")).alias("customer_id"),
        email_hash(email, secret).alias("email_hash"), email_node(email, secret).alias("email_node"),
        std.mailbox_kind(email).alias("mailbox_kind"),
        F.lower(F.col("channel")).alias("channel"), F.upper(std.trimmed(F.col("currency"))).alias("currency"),
        F.col("total_amount").try_cast("double").alias("total_amount"), F.lower(F.col("status")).alias("status"),
        std.utc_timestamp(F.col("ordered_at")).alias("occurred_at"),
        F.from_json("items", ITEMS).alias("items"), *lineage(),
    )
    return df.withColumn("identity_node", F.coalesce(customer_node(F.col("customer_id")), F.col("email_node")))


def to_orders(df: DataFrame) -> DataFrame:
    return df.select("order_id", "customer_id", "email_hash", "identity_node", "channel", "currency",
                     "total_amount", "status", F.col("occurred_at").alias("ordered_at"),
                     F.col("occurred_at").alias("status_at"), F.size("items").cast("int").alias("item_count"),
                     *lineage())


def to_items(df: DataFrame) -> DataFrame:
    item = F.col("item")
    quantity = item["quantity"].try_cast("double").cast("int")
    price = item["unit_price"].try_cast("double")
    return (df.select("order_id", F.col("occurred_at").alias("status_at"), F.posexplode("items").alias("pos", "item"))
            .select("order_id", F.col("pos").cast("int").alias("item_index"), item["sku"].alias("sku"),
                    F.lower(item["category"]).alias("category"), quantity.alias("quantity"),
                    price.alias("unit_price"), F.round(quantity * price, 2).alias("line_amount"),
                    F.lower(F.get_json_object(item["attributes"], "$.seat")).alias("seat"),
                    item["attributes"].alias("attributes"), "status_at"))


def to_touchpoints(df: DataFrame) -> DataFrame:
    # Each status of an order (placed, cancelled, refunded) is its own interaction.
    return touchpoints(
        df, SOURCE, F.col("order_id"), F.col("channel"), "order", F.col("status"),
        touchpoint_id=F.concat_ws(":", F.lit(SOURCE), F.col("order_id"), F.col("status")),
        customer_id=F.col("customer_id"), order_id=F.col("order_id"), amount=F.col("total_amount"),
        currency=F.col("currency"))


def to_links(df: DataFrame) -> DataFrame:
    return links(df, SOURCE, [(customer_node(F.col("customer_id")), F.col("email_node"), "order_email")])


def to_sightings(df: DataFrame) -> DataFrame:
    return sightings(df, SOURCE, [customer_node(F.col("customer_id")), (F.col("email_node"), F.col("mailbox_kind"))])


def record_key(bronze: DataFrame) -> DataFrame:
    return bronze.select(F.trim(F.col("order_id")).alias("record_key"))


SPEC = SourceSpec(
    source=SOURCE, conform=conform, primary="silver.orders", record_key=record_key,
    outputs=(
        Output("silver.orders", ("order_id",), to_orders, mode="latest", newer="status_at",
               keep_earliest=("ordered_at",)),
        Output("silver.order_items", ("order_id", "item_index"), to_items, mode="latest", newer="status_at"),
        Output("silver.touchpoints", ("touchpoint_id",), to_touchpoints, shared=True),
        Output("silver.identity_links", ("left_node", "right_node", "rule"), to_links, mode="span", shared=True),
        Output("silver.identity_nodes", ("node",), to_sightings, mode="span", shared=True),
    ),
)
