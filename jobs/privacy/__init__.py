"""The data subject's rights: find a person's rows in every layer (subject), hand them a copy
(export), and record each request without personal data (audit)."""

# What a request may name a person by (pure Python: the command line reads it without Spark).
IDENTIFIER_KINDS = ("customer_id", "email", "phone", "customer_key")
