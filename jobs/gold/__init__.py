"""Gold: one row per customer (gold.customer_360), segments, marts and A/B results.

Each job module holds pure transformations (DataFrame -> DataFrame) and one thin `run()`.
"""
