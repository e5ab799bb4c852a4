# phoenix — the two set-up commands are `make demo` and `make test`; both call `make setup`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup system python kafka s3proxy k8s-tools deploy-check test test-fast bench soak demo schemas clean

setup: system python kafka s3proxy

system:
	bash deploy/setup/system.sh

python: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

kafka:
	bash deploy/setup/kafka.sh

s3proxy:
	bash deploy/setup/s3proxy.sh

# helm and kubeconform (go install, into .cache/tools/bin) and the offline Kubernetes and KEDA
# schemas (.cache/k8s-schemas); minutes of CPU the first time, then nothing.
k8s-tools: python
	bash deploy/setup/k8s-tools.sh

# The deployment checked offline: docker-compose config, the Prometheus files and the dashboard's
# PromQL (promtool), helm lint, helm template | kubeconform -strict. Part of `make test` too.
DEPLOY_CHECKS := test_compose.py test_prometheus_files.py test_dashboard.py test_k8s_schemas.py test_helm.py
deploy-check: python k8s-tools
	$(BIN)/pytest -q $(addprefix tests/integration/deploy/,$(DEPLOY_CHECKS))

test: setup k8s-tools
	$(BIN)/pytest

test-fast: python
	$(BIN)/pytest -m "not kafka and not postgres and not esorex"

# Every benchmark under bench/, results in bench/results/*.json and the table in bench/README.md.
bench: setup
	$(BIN)/python bench/run_all.py

# A campaign of many small nights with random kills, for MINUTES (default 10); prints the invariant counts.
soak: setup
	$(BIN)/python -m tests.faults.soak --minutes $(or $(MINUTES),10)

demo: setup
	bash deploy/demo.sh

schemas: python
	$(BIN)/phoenix schema export docs/schemas

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
