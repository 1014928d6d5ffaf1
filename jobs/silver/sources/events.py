"""bronze.events (Segment messages) -> silver.touchpoints, identity evidence and web profiles."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.common.privacy import pseudonym
from jobs.silver import standardise as std
from jobs.silver.nodes import anonymous_node, customer_node, email_node, phone_node
from jobs.silver.sources.common import lineage, links, sightings, touchpoints
from jobs.silver.spec import Output, SourceSpec

SOURCE = "events"
CONTEXT = ("struct<channel:string,ip:string,locale:string,page:struct<path:string>,"
           "campaign:struct<name:string,source:string,medium:string>>")
TRAITS = ("struct<email:string,phone:string,firstName:string,lastName:string,birthday:string,"
          "address:struct<street:string,city:string,postalCode:string,country:string>>")
# Segment's context.channel names the SDK: our channels name where the customer was.
CHANNELS = {"web": "web", "mobile": "app", "server": "server"}


def conform(bronze: DataFrame, secret: bytes) -> DataFrame:
    ctx = F.from_json("context", CONTEXT)
    traits = F.from_json("traits", TRAITS)
    user, anon = std.trimmed(F.col("user_id")), std.trimmed(F.col("anonymous_id"))
    sdk = F.lower(ctx["channel"])
    channel = F.coalesce(F.element_at(F.create_map(*[F.lit(x) for kv in CHANNELS.items() for x in kv]), sdk),
                         F.when(F.col("type") == "screen", "app"), F.when(F.col("type") == "page", "web"), sdk)
    df = bronze.select(
        F.col("message_id"), F.col("type"), std.utc_timestamp(F.col("timestamp")).alias("occurred_at"),
        user.alias("customer_id"), anon.alias("anonymous_id"),
        std.trimmed(F.col("previous_id")).alias("previous_id"),
        F.coalesce(F.col("event"), F.col("name")).alias("event_name"), F.col("properties"),
        channel.alias("channel"), ctx["page"]["path"].alias("page_path"),
        ctx["campaign"]["name"].alias("utm_campaign"), ctx["campaign"]["source"].alias("utm_source"),
        ctx["campaign"]["medium"].alias("utm_medium"), ctx["locale"].alias("locale"),
        pseudonym(std.trimmed(ctx["ip"]), secret, "ip").alias("ip_hash"),
        F.when(F.col("type") == "identify", traits).alias("traits"),
        F.get_json_object("properties", "$.order_id").alias("order_id"),
        F.get_json_object("properties", "$.total").try_cast("double").alias("amount"),
        F.get_json_object("properties", "$.currency").alias("currency"),
        *lineage(),
    )
    t = F.col("traits")
    country = std.country(t["address"]["country"])
    return (df.withColumn("identity_node", F.coalesce(customer_node(F.col("customer_id")),
                                                     anonymous_node(F.col("anonymous_id"))))
            .withColumn("trait_email", std.email(t["email"]))
            .withColumn("trait_phone", std.phone(t["phone"], country))
            .withColumn("trait_country", country)
            .withColumn("email_node", email_node(F.col("trait_email"), secret))
            .withColumn("phone_node", phone_node(F.col("trait_phone"), secret)))


def to_touchpoints(df: DataFrame) -> DataFrame:
    return touchpoints(
        df, SOURCE, F.col("message_id"), F.col("channel"), F.col("type"), F.col("event_name"),
        customer_id=F.col("customer_id"), anonymous_id=F.col("anonymous_id"), page_path=F.col("page_path"),
        utm_campaign=F.col("utm_campaign"), utm_source=F.col("utm_source"), utm_medium=F.col("utm_medium"),
        order_id=F.col("order_id"), amount=F.col("amount"), currency=F.col("currency"),
        properties=F.col("properties"), ip_hash=F.col("ip_hash"), locale=F.col("locale"))


def to_links(df: DataFrame) -> DataFrame:
    customer, anon = customer_node(F.col("customer_id")), anonymous_node(F.col("anonymous_id"))
    alias_of = F.when(F.col("type") == "alias", anonymous_node(F.col("previous_id")))
    return links(df, SOURCE, [
        (customer, anon, "signed_in"),
        (customer, alias_of, "alias"),
        (F.col("identity_node"), F.col("email_node"), "identify_email"),
        (F.col("identity_node"), F.col("phone_node"), "identify_phone"),
    ])


def to_sightings(df: DataFrame) -> DataFrame:
    return sightings(df, SOURCE, [customer_node(F.col("customer_id")), anonymous_node(F.col("anonymous_id")),
                                  (F.col("email_node"), std.mailbox_kind(F.col("trait_email"))),
                                  (F.col("phone_node"), std.phone_line_kind(F.col("trait_phone")))])


def to_profiles(df: DataFrame) -> DataFrame:
    """What identify calls say about a person (restricted table), per customer or device."""
    t = F.col("traits")
    address = t["address"]
    return (df.where(t.isNotNull()).select(
        F.col("identity_node").alias("profile_node"), F.lit(SOURCE).alias("source"),
        std.trimmed(t["firstName"]).alias("first_name"), std.trimmed(t["lastName"]).alias("last_name"),
        F.col("trait_email").alias("email"), F.col("trait_phone").alias("phone"),
        std.birth_date(t["birthday"]).alias("birth_date"), std.trimmed(address["street"]).alias("street"),
        std.trimmed(address["city"]).alias("city"), std.postal_code(address["postalCode"]).alias("postal_code"),
        F.col("trait_country").alias("country"), F.col("occurred_at").alias("observed_at")))


def record_key(bronze: DataFrame) -> DataFrame:
    return bronze.select(F.col("message_id").alias("record_key"))


SPEC = SourceSpec(
    source=SOURCE, conform=conform, primary="silver.touchpoints", record_key=record_key,
    outputs=(
        Output("silver.touchpoints", ("touchpoint_id",), to_touchpoints, shared=True),
        Output("silver.identity_links", ("left_node", "right_node", "rule"), to_links, mode="span", shared=True),
        Output("silver.identity_nodes", ("node",), to_sightings, mode="span", shared=True),
        Output("silver.customer_pii", ("profile_node", "source"), to_profiles, mode="fields_latest",
               newer="observed_at", shared=True),
    ),
)
