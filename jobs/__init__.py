"""Customer-360 lakehouse jobs. One entry point: `python -m jobs <command>`."""
