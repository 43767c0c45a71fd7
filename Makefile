# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501
CABINET_PORT ?= 8502

.PHONY: run test bench bench-deps venv migrate demo worker clean-db lock lock-bench

# requirements.txt is the lock (every package pinned with its hashes), made from
# requirements.in by `make lock`; pip refuses any file whose hash is not in it.
$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

# The benchmark extra (the Django peer of `--only browser`): its own lock, installed over
# the app's; never in requirements.txt.
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): requirements-bench.txt $(STAMP)
	$(PY) -m pip install --quiet --require-hashes -r requirements-bench.txt
	touch $(BENCH_STAMP)

bench-deps: $(BENCH_STAMP)

migrate: venv
	$(PY) -m core secrets init
	$(PY) -m core db upgrade

demo: migrate
	$(PY) -m core demo --customers 2000 --seed 1 --if-empty

## run: install, migrate, seed demo data once, serve the back office on http://localhost:8501
## and the customer's cabinet on http://localhost:8502 (make run PORT=… CABINET_PORT=…)
run: demo
	@echo "Бэк-офис: http://localhost:$(PORT)   Личный кабинет клиента: http://localhost:$(CABINET_PORT)  (SMS и письма демо-режима: панель «Демо: SMS и письма» в кабинете, data/sms.log, data/email.log)"
	$(PY) -m core worker & WORKER=$$!; \
	$(PY) -m streamlit run cabinet/server.py --server.port $(CABINET_PORT) --server.headless true & CABINET=$$!; \
	trap 'kill $$WORKER $$CABINET 2>/dev/null' EXIT INT TERM; \
	CABINET_URL=$${CABINET_URL:-http://localhost:$(CABINET_PORT)} $(PY) -m streamlit run dashboard/server.py --server.port $(PORT)

## serve: the operator's start on DATABASE_URL, no demo data: the worker, the dashboard and the cabinet;
## refused while a demo login works or no staff exists (migrations: `python -m core db upgrade`)
.PHONY: serve
serve: venv
	$(PY) -m core serve --port $(PORT) --cabinet-port $(CABINET_PORT)

## test: install and run the whole suite (PostgreSQL too when TEST_DATABASE_URL is set);
## the benchmark extra too (about 5 s once), so the Django peer's test runs
test: venv bench-deps
	$(PY) -m pytest

## bench: the benchmark suite (figures as ratios to a raw baseline)
bench: venv bench-deps
	$(PY) -m benchmarks --scale small

# The simulated bank's file too: its memory is of the demo it was loaded with.
clean-db:
	rm -f data/app.db data/app.db-wal data/app.db-shm data/acquirer.db

worker: demo
	$(PY) -m core worker

## lock: re-make requirements.txt from requirements.in (needs uv on PATH, e.g. in a venv
## outside the repo); versions already locked stay unless requirements.in asks otherwise
lock:
	uv pip compile requirements.in --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu --no-config \
	  --custom-compile-command "make lock" -o requirements.txt

## lock-bench: re-make requirements-bench.txt from requirements-bench.in, within the app's lock
lock-bench:
	uv pip compile requirements-bench.in -c requirements.txt --generate-hashes \
	  --python-version 3.11 --python-platform x86_64-unknown-linux-gnu --no-config \
	  --custom-compile-command "make lock-bench" -o requirements-bench.txt
