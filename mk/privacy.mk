# --- privacy: the data subject's rights (jobs/privacy); requests recorded in ops.privacy_requests --
.PHONY: export erase

export: setup ## right of access: everything held about CUSTOMER=<CRM id|email|phone|customer_key> as one JSON file (ALL=1: every customer an ID names)
	@$(if $(CUSTOMER),,echo "make export: give the person, e.g. make export CUSTOMER=C1234567 (a CRM id, an email, a phone or a customer_key)"; exit 2)
	@$(JOBS) export --customer "$(CUSTOMER)" $(if $(ALL),--all)

erase: setup ## right to erasure: delete CUSTOMER=<CRM id|email|phone|customer_key> (or FILE=<one id per line>) from every layer, permanently (ALL=1: every customer an ID names)
	@$(if $(CUSTOMER)$(FILE),,echo "make erase: give the person, e.g. make erase CUSTOMER=C1234567, or a batch: make erase FILE=requests.txt"; exit 2)
	@$(JOBS) erase $(if $(CUSTOMER),--customer "$(CUSTOMER)") $(if $(FILE),--file "$(FILE)") $(if $(ALL),--all)
