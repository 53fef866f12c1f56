# 哨点人员健康监测 — `make run` starts everything locally, `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_STAMP := .local/.apt-installed

.PHONY: run test bench reset frontend unit functional e2e clean package

$(STAMP): requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

frontend/node_modules/.package-lock.json: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

frontend/dist/index.html: frontend/node_modules/.package-lock.json $(shell find frontend/src frontend/index.html frontend/m -type f 2>/dev/null)
	cd frontend && npm run build

frontend: frontend/dist/index.html

# Debian packages the browser tests need (chromium and a Chinese font); root on these machines.
$(APT_STAMP):
	@mkdir -p .local
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "WenQuanYi Micro Hei"; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei; \
	fi
	touch $(APT_STAMP)

run: $(STAMP) frontend
	$(PY) -m local.run

reset:
	rm -rf .local/state .local/state.tmp .local/state.old
	@echo "本地数据已清空；下次 make run 将重新生成演示数据。"

test: $(STAMP) frontend $(APT_STAMP)
	$(PY) -m pytest -q tests/unit tests/functional
	$(PY) -m pytest -q tests/e2e

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

functional: $(STAMP)
	$(PY) -m pytest -q tests/functional

e2e: $(STAMP) frontend $(APT_STAMP)
	$(PY) -m pytest -q tests/e2e

bench: $(STAMP)
	$(PY) -m pip install -q -r requirements-bench.txt
	$(PY) -m bench.run

package: $(STAMP)
	SENTINEL_STAGE=$${STAGE:-dev} AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-cn-north-1} \
		$(VENV)/bin/chalice package --stage $${STAGE:-dev} --merge-template infra/stateful.json build/

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist build
