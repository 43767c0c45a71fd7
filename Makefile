# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: run test bench venv migrate demo worker clean-db

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

migrate: venv
	$(PY) -m core secrets init
	$(PY) -m core db upgrade

demo: migrate
	$(PY) -m core demo --customers 2000 --seed 1 --if-empty

## run: install, migrate, seed demo data once, serve the dashboard on http://localhost:8501
run: demo
	@echo "Дашборд: http://localhost:$(PORT)  (SMS и письма демо-режима: data/sms.log, data/email.log)"
	$(PY) -m core worker & WORKER=$$!; \
	trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	$(PY) -m streamlit run dashboard/app.py --server.port $(PORT)

## test: install and run the whole suite (PostgreSQL too when TEST_DATABASE_URL is set)
test: venv
	$(PY) -m pytest

## bench: the benchmark suite (figures as ratios to a raw baseline)
bench: venv
	$(PY) -m benchmarks --scale small

clean-db:
	rm -f data/app.db data/app.db-wal data/app.db-shm

worker: demo
	$(PY) -m core worker
