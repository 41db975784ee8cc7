# The few commands a person types. Each sets up what it needs first (virtual env, data).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup data system-deps sweep test test-fast bench lint format ui export serve screenshots clean

setup: $(STAMP)

# Dependencies pinned by constraints.txt so every machine runs the same versions.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# Fashion-MNIST from Debian's package when we may install it (root, apt present); otherwise
# the loader falls back to Keras' cache or the download. `python -m src.data` verifies it.
data: setup
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null || true; \
	fi
	$(PY) -m src.data

sweep: data
	$(PY) -m src.sweep -m loss=sparse,categorical

# What the tests need from the operating system: the data set, the browser the MLflow UI test
# drives (headless, through Playwright) and PostgreSQL for the distributed test's `mlflow server`
# (the test starts its own cluster on a free port). Installed with apt-get when we may (root,
# apt-get present) and one is missing, so a second `make test` does not run apt again; otherwise
# the tests needing them are skipped, each naming the command that would enable it.
SYSTEM_PACKAGES := dataset-fashion-mnist chromium postgresql

system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "apt-get install" $$missing; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "not installed:" $$missing "- the tests needing them will be skipped;" \
			"to run them: sudo apt-get install" $$missing; \
	fi

# Two test processes (TEST_WORKERS=1 for one): the suite mostly waits on subprocesses.
TEST_WORKERS ?= 2
test: system-deps data
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

# The unit layer (under a minute): no training, no sweeps, no processes; `make test` runs all.
test-fast: data
	$(PY) -m pytest -m "not slow"

# The sweep against the plain keras-tuner + MLflow script (25 to 40 min); BENCH_ARGS=--long for the
# default sweep's budget. Its figures go to docs/speed.md (docs/speed-method.md says what they are).
bench: data
	$(PY) -m tools.bench $(BENCH_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

ui: setup
	$(PY) -m src.ui

# The best trial of the default store -> Model Registry (alias champion) + exports/.
export: setup
	$(PY) -m src.export $(EXPORT_ARGS)

# The champion behind a REST endpoint; MLflow starts uvicorn by name, hence PATH.
# Loopback only: MLflow's model server has no authentication of its own.
serve: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" MLFLOW_TRACKING_URI=sqlite:///mlruns/mlflow.db \
	  $(VENV)/bin/mlflow models serve -m "models:/fashion_mnist_softmax@champion" \
	  --env-manager local --host 127.0.0.1 --port 5001

# The README's pictures, from the latest sweep in mlruns/ (needs Debian's chromium).
screenshots: setup
	$(PY) -m tools.ui screenshot --out docs

clean:
	rm -rf outputs .pytest_cache .ruff_cache
