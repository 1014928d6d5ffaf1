"""Silver layer: typed, standardised, deduplicated, identity-resolved, pseudonymised tables."""
