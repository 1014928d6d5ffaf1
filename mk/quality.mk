# Quality gates (jobs/quality, expectations/*.yaml). Included by the Makefile.
.PHONY: docs gate

docs: setup ## build Great Expectations Data Docs from the last gate runs (gx/uncommitted/data_docs)
	@$(PY) -m jobs docs

gate: setup ## re-run the bronze quality gate on the whole bronze layer (all runs)
	@$(JOBS) run gate_bronze --full-rebuild
