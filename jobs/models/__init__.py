"""Models: point-in-time features, propensity training, CLV, scoring."""
