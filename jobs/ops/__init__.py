"""The pipeline's own bookkeeping jobs: orchestrator outcomes (ops.pipeline_runs) and Delta housekeeping."""
