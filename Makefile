# Two commands do all the set-up: `make demo` and `make test`.
# Only Python 3.11+ and make are needed; uv is fetched into .tools/ and builds .venv/ from uv.lock.

PYTHON ?= python3
TOOLS := $(CURDIR)/.tools
UV := $(TOOLS)/bin/uv
VENV := $(CURDIR)/.venv

export UV_PYTHON ?= $(shell command -v $(PYTHON))
export AIRFLOW_HOME ?= $(CURDIR)/airflow_home
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export REVIEW_GOV_DATA_DIR ?= $(CURDIR)/var
export GX_ANALYTICS_ENABLED := false
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS :=

.PHONY: demo test venv clean

$(UV):
	$(PYTHON) scripts/bootstrap_uv.py $(TOOLS)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	touch $@

venv: $(VENV)/.synced

demo: venv
	$(VENV)/bin/python scripts/demo.py

test: venv
	$(VENV)/bin/python -m pytest

clean:
	rm -rf $(VENV) $(TOOLS) $(AIRFLOW_HOME) var
