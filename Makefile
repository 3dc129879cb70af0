# furusato-cms: `make run` to try it, `make test` to prove it. See README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
INI    ?= development.ini
PYTEST_WORKERS ?= 2
# make run's ports: the app, the local My Number Card provider, the mail catcher's SMTP and page.
PORT      ?= 6543
OIDC_PORT ?= 9080
SMTP_PORT ?= 1025
MAIL_PORT ?= 1080

.PHONY: install catalog migrate demo run test test-sqlite test-pg i18n-check bench bench-growth bench-smoke clean
.PHONY: scaling-demo serve vendor bench-national

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed catalog

catalog: $(VENV)/.installed
	$(BIN)/furusato-catalog compile locale

migrate: install
	$(BIN)/furusato-initdb $(INI)

demo: migrate
	$(BIN)/furusato-demo $(INI)

run: demo
	$(BIN)/python -m furusato_cms.devtools.run $(INI) --port $(PORT) --oidc-port $(OIDC_PORT) \
		--smtp-port $(SMTP_PORT) --mail-port $(MAIL_PORT)

# Every core (production): one waitress per core on the ini's listen address.
WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
serve: migrate
	$(BIN)/furusato-serve $(INI) --workers $(WORKERS)

test: install
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$FURUSATO_TEST_PG_URL" ]; then \
		$(MAKE) --no-print-directory test-pg; \
	else \
		echo "== PostgreSQL pass NOT run: set FURUSATO_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) =="; \
	fi

test-sqlite: install
	@echo "== tests on SQLite =="
	FURUSATO_TEST_DB=sqlite $(BIN)/pytest -n $(PYTEST_WORKERS) -q

test-pg: install
	@echo "== tests on PostgreSQL ($$FURUSATO_TEST_PG_URL) =="
	FURUSATO_TEST_DB=$$FURUSATO_TEST_PG_URL $(BIN)/pytest -n $(PYTEST_WORKERS) -q

i18n-check: install
	$(BIN)/furusato-catalog check locale

# Benchmarks against the local PostgreSQL (see README.md, "Benchmarks"): every figure at
# 1M people plus renew/eligibility/stats at 100k and 300k for the growth figures.
BENCH_GROWTH ?= 100000,300000,1000000

bench: install
	$(BIN)/python bench/run.py --growth $(BENCH_GROWTH)

bench-growth: install
	$(BIN)/python bench/run.py --growth $(BENCH_GROWTH) --only-growth

bench-smoke: install
	$(BIN)/python bench/run.py --smoke --growth 100,300
	$(BIN)/python bench/national.py --smoke

# National size (issue 17): statistics by changes, eligibility, the national report and the
# activity search at 1 M and 10 M people, and their growth (hours; see README, Benchmarks).
NATIONAL_SIZES ?= 1000000,10000000
bench-national: install
	$(BIN)/python bench/national.py --sizes $(NATIONAL_SIZES) $(NATIONAL_ARGS)

# docs/scaling.md: partitioned tables with 10M generated rows (a few minutes; ROWS=… for
# less), then the cores the national peak needs from the last `make bench` results.
ROWS ?= 10000000
scaling-demo: install
	$(BIN)/python bench/partitioning.py --rows $(ROWS)
	$(BIN)/python bench/capacity.py

# Front-end packages from the npm registry, committed (never fetched at run time): the
# Digital Agency design tokens for the themes and axe-core for the browser tests.
vendor:
	sh tools/vendor-assets.sh

clean:
	rm -rf $(VENV) var .pytest_cache
