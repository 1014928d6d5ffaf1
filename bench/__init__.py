"""`make bench`: throughput per stage at a stated scale (see bench/__main__.py)."""
