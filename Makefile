# Kalexo Teamwork. `make run` starts the whole system locally; `make test` runs every test.
# Both set themselves up on a fresh clone (virtual environment with Python 3.12+, packages from PyPI).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Chalice picks the Lambda runtime from this interpreter; the imaging wheels need python3.12 or newer.
# Each candidate is run, not just looked up: a pyenv shim exists even where it cannot start that version.
PYTHON ?= $(shell for p in python3.12 python3.13 $(HOME)/.pyenv/versions/3.12*/bin/python3.12 \
	$(HOME)/.pyenv/versions/3.13*/bin/python3.13 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Kalexo's pixel kernels (C, layers/imaging/kalexo_pixels) compiled into the venv; without a C compiler the tiler
# halves with Pillow instead (the same pixels, slower), and this stamp is not made, so a later make tries again.
NATIVE_STAMP := $(VENV)/.native-installed
NATIVE_SOURCES := layers/native.py $(wildcard layers/imaging/kalexo_pixels/*.c layers/imaging/kalexo_pixels/*.py)
STAGE ?= dev
WEB_STAMP := web/node_modules/.installed

.PHONY: help venv native web run reset test unit lint token package-check layer layer-check publish-site deploy urls admin destroy clean

help:
	@echo "make run                     start the whole system locally (emulator, REST, websockets, workers)"
	@echo "make run FRESH=1             the same, after deleting what earlier runs kept (make reset)"
	@echo "make run ARGS=\"--rest-port N\"  other ports or options (python -m local run --help lists them)"
	@echo "make reset                   delete the local stack's kept state (.local/), saying what it deletes"
	@echo "make test                    set up and run every test (unit, contract, end-to-end, browser)"
	@echo "make web                     install the web client's OpenSeadragon (npm ci in web/)"
	@echo "make token USER=<name> [WORKSPACE=<id>] [ADMIN=1]   a token for the running local stack"
	@echo "make lint                    ruff and mypy"
	@echo "make package-check           the one-stack path: chalice package with the merged template, then cfn-lint"
	@echo "make layer                   build the imaging layer: build/layer-imaging-{x86_64,aarch64}.zip"
	@echo "make layer-check             layer builds reproducibly, app package + layer < 250 MB, imports checked"
	@echo "make deploy STAGE=<name>     everything on AWS: stack, secret, layer, chalice deploy, site (CDN=0: no CloudFront)"
	@echo "make urls STAGE=<name>       a deployed stage's REST, websocket and site URLs"
	@echo "make admin STAGE=<name> EMAIL=<address>   the first platform administrator, and a token for them"
	@echo "make destroy STAGE=<name>    remove the stage, keeping its data (DELETE_DATA=1 deletes that too)"

$(STAMP): requirements.txt requirements-dev.txt clients/python/pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is needed (python3.12 or python3.13 on PATH)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip<26.3'  # chalice 1.34 packages with pip and requires <26.3
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(STAMP)

native: $(NATIVE_STAMP)

$(NATIVE_STAMP): $(STAMP) $(NATIVE_SOURCES)
	@$(BIN)/python layers/native.py --install
	@if $(BIN)/python -c 'import kalexo_pixels' 2>/dev/null; then touch $@; fi

# The web client's one dependency, pinned in web/package-lock.json. Without npm the stack still runs, but the
# page cannot load its viewer (scripts/system-packages.sh installs npm).
web:
	@if [ ! -f $(WEB_STAMP) ] || [ web/package-lock.json -nt $(WEB_STAMP) ]; then \
	  if command -v npm >/dev/null 2>&1; then \
	    (cd web && npm ci --no-audit --no-fund --silent) && touch $(WEB_STAMP); \
	  else echo "npm is missing: the web client cannot load OpenSeadragon (bash scripts/system-packages.sh)"; fi; \
	fi

run: $(STAMP) native web
	$(BIN)/python -m local run $(if $(filter 1,$(FRESH)),--fresh) $(ARGS)

# What `make run` keeps across restarts lives in .local/: this deletes it (and says what it deletes).
reset: $(STAMP)
	$(BIN)/python -m local reset $(if $(STATE_DIR),--state-dir "$(STATE_DIR)")

test: $(STAMP)
	@bash scripts/system-packages.sh
	@$(MAKE) --no-print-directory native web
	$(BIN)/python -m pytest

unit: $(STAMP) native
	$(BIN)/python -m pytest tests/unit

lint: $(STAMP) native
	$(BIN)/ruff check .
	$(BIN)/mypy app.py chalicelib local infra tests bench clients/python

token: $(STAMP)
	@$(BIN)/python -m local token --user "$(USER)" $(if $(WORKSPACE),--workspace "$(WORKSPACE)") $(if $(ADMIN),--admin) $(if $(STATE_DIR),--state-dir "$(STATE_DIR)")

package-check: $(STAMP)
	$(BIN)/python -m infra.package --stage $(STAGE) --out build/package-$(STAGE)
	$(BIN)/cfn-lint build/package-$(STAGE)/sam.json infra/template.yaml

layer: $(STAMP)
	$(BIN)/python layers/build.py

# Needs build/package-$(STAGE)/deployment.zip: package-check makes it.
layer-check: $(STAMP) package-check
	$(BIN)/python layers/build.py --check-reproducible
	$(BIN)/python layers/check_size.py --package build/package-$(STAGE)/deployment.zip
	$(BIN)/python -m pytest -q tests/unit/test_layer.py

publish-site: $(STAMP) web
	$(BIN)/python -m infra.publish_site --stage $(STAGE)

# AWS credentials and region from the environment (AWS_PROFILE, AWS_DEFAULT_REGION); AWS_ENDPOINT_URL deploys
# into an emulator instead (the rehearsal in tests/e2e/test_deploy_rehearsal.py).
deploy: $(STAMP) web
	@$(BIN)/python -m infra.deploy --stage $(STAGE) $(if $(filter 0,$(CDN)),--no-cdn) \
	  $(if $(UPLOAD_ORIGINS),--upload-origins "$(UPLOAD_ORIGINS)") $(if $(filter 1,$(DIRTY)),--allow-uncommitted)

# The URLs of a deployed stage again (from the record make deploy keeps in the account).
urls: $(STAMP)
	@$(BIN)/python -m infra.deploy --stage $(STAGE) --urls

admin: $(STAMP)
	@test -n "$(EMAIL)" || { echo "make admin STAGE=<name> EMAIL=<address> [NAME=...]"; exit 2; }
	@$(BIN)/python -m infra.admin --stage $(STAGE) --email "$(EMAIL)" $(if $(NAME),--name "$(NAME)") \
	  $(if $(USER_ID),--user-id "$(USER_ID)")

# STAGE must be named on the command line (no dev default); DELETE_DATA=1 asks for the stage name again
# (CONFIRM=<stage> when not at a terminal).
destroy: $(STAMP)
	@test "$(origin STAGE)" = "command line" || { echo "make destroy STAGE=<name> [DELETE_DATA=1]: name the stage"; exit 2; }
	$(BIN)/python -m infra.destroy --stage $(STAGE) $(if $(filter 1,$(DELETE_DATA)),--delete-data) \
	  $(if $(CONFIRM),--confirm "$(CONFIRM)")

clean:
	rm -rf build .local .mypy_cache .ruff_cache .pytest_cache
