# --- privacy: the data subject's rights (jobs/privacy); requests recorded in ops.privacy_requests --
.PHONY: export

export: setup ## right of access: everything held about CUSTOMER=<CRM id|email|phone|customer_key> as one JSON file (ALL=1: every customer an ID names)
	@$(if $(CUSTOMER),,echo "make export: give the person, e.g. make export CUSTOMER=C1234567 (a CRM id, an email, a phone or a customer_key)"; exit 2)
	@$(JOBS) export --customer "$(CUSTOMER)" $(if $(ALL),--all)
