"""Identity resolution: identifiers -> one stable customer_key per real person."""
