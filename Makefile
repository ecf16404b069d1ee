# Single entry point for readers, students, instructors and maintainers.
# Every target creates or reuses the virtual environment in .venv, so a fresh
# machine needs only Python 3.10+ (and make).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2

# nbgrader runs helper programs (alembic) by name, so the environment's bin comes first.
export PATH := $(CURDIR)/$(BIN):$(PATH)

# Quiet and reproducible TensorFlow everywhere (oneDNN changes floating-point results).
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONHASHSEED := 0

ASSIGNMENTS := $(notdir $(wildcard solutions/ch*))

.PHONY: help venv book book-clean lab release test test-fast grade bench experiments clean publish student-kit \
        hub hub-install hub-users hub-stop hub-clean test-hub

help:
	@echo "make book       build the book into _build/html and open it"
	@echo "make lab        start JupyterLab in the course root (students and instructors)"
	@echo "make release    regenerate notebooks/ from solutions/ with nbgrader"
	@echo "make test       run the whole test suite (what CI runs); timings in _build/test-timings.md"
	@echo "make test-fast  the quick loop (under 2 minutes): no notebook execution, book build, grading or browser"
	@echo "make grade A=ch01_learning_from_data [ARGS=\"--workers 4\"]   autograde a whole class in parallel"
	@echo "make hub        (root) a JupyterHub for the class on this machine: PAM login, nbgrader exchange, formgrader"
	@echo "make hub-users FILE=roster.csv   (root) students' accounts from nbgrader's roster CSV, added to the gradebook"
	@echo "make hub-stop   stop the hub; make hub-clean also removes the accounts and state it created"
	@echo "make test-hub   (root) the hub's end-to-end test: a class of three in Chromium (what .ci/run runs after make test)"
	@echo "make bench      print the benchmark report (notebooks, book build, grading throughput)"
	@echo "make experiments [ARGS=\"ch09\"]   rerun the pages' recorded experiments (book/chNN/results/)"
	@echo "make student-kit DEST=../course-kit   the public students' repository: no solutions, no grading"
	@echo "make publish    build the book and push _build/html to the gh-pages branch (ghp-import)"
	@echo "make bench ARGS=\"--last-tests --no-book --no-notebooks --grading 0\"   the last test run's timings"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build --all -W -n --keep-going .
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"
	@if [ -z "$$CI" ]; then $(BIN)/python -m webbrowser -t "file://$(CURDIR)/_build/html/index.html" >/dev/null 2>&1 || true; fi

book-clean:
	rm -rf _build

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=. $(if $(filter 0,$(shell id -u)),--allow-root,)

release: $(STAMP)
	@for a in $(ASSIGNMENTS); do \
	  echo "== $$a"; \
	  $(BIN)/nbgrader generate_assignment $$a --force || exit 1; \
	done

# Every notebook executes once per run: the book build (started in the background) executes the pages,
# one dlcourse-grade class run per chapter the exercises. A work unit is a test file, or a test class (one
# per chapter in the grading round trip); tests/conftest.py orders them: class runs first, tests that wait
# for the book build last.
# TensorFlow's thread pools are explicit: the book build's kernel uses the 2 cores of the reference
# machine; graded kernels get one thread each (dlcourse-grade's sandbox, DLCOURSE_KERNEL_THREADS).
test: export TF_NUM_INTRAOP_THREADS ?= 2
test: export TF_NUM_INTEROP_THREADS ?= 1
test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope --no-loadscope-reorder -m "not hub"

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser and not hub" -n 2

# -- A class on JupyterHub (book/instructors.md, "Running a class on JupyterHub"); run as root ---------
# JupyterHub goes into the course environment (requirements-hub.txt: every user's server runs
# jupyterhub-singleuser from it); configurable-http-proxy into hub/node_modules (npm ci, pinned).
# HUB_DIR is the hub's state (exchange, configuration, database); the instructor's course directory is
# a copy of this course in ~$(HUB_INSTRUCTOR)/<course id>. HUB_ARGS: more options of tools/hub.py setup
# (--port, --ip, --authenticator, --instructor NAME --instructor-password PW, --no-share-env).
HUB_DIR        ?= /srv/dlcourse-hub
HUB_INSTRUCTOR ?= instructor
HUB_STAMP      := $(VENV)/.hub-installed
HUB_PY          = $(BIN)/python tools/hub.py --hub-dir $(HUB_DIR)

hub-install: $(HUB_STAMP) hub/node_modules/.package-lock.json

$(HUB_STAMP): requirements-hub.txt $(STAMP)
	$(BIN)/python -m pip install -r requirements-hub.txt
	touch $(HUB_STAMP)

hub/node_modules/.package-lock.json: hub/package.json hub/package-lock.json
	cd hub && npm ci --no-audit --no-fund

hub: hub-install
	$(HUB_PY) setup --instructor $(HUB_INSTRUCTOR) $(HUB_ARGS)
	$(HUB_PY) start

hub-users: hub-install
	@test -n "$(FILE)" || { echo "usage: make hub-users FILE=roster.csv   (nbgrader's format: id,first_name,last_name,email)"; exit 1; }
	$(HUB_PY) users $(FILE) $(USERS_ARGS)

hub-stop:
	$(HUB_PY) stop

hub-clean:
	$(HUB_PY) teardown

test-hub: hub-install
	$(BIN)/python -m pytest -m hub -p no:cacheprovider tests/test_hub.py

grade: $(STAMP)
	$(BIN)/dlcourse-grade $(A) $(ARGS)

bench: $(STAMP)
	$(BIN)/python tools/benchmark.py $(ARGS)

# The pages' slow experiments (cells tagged experiment:NAME) over all their seeds; each writes
# book/<chapter>/results/NAME.json, which the page plots. ARGS="--list" shows which are stale.
experiments: $(STAMP)
	$(BIN)/python tools/experiments.py $(ARGS)

# Publishing by hand (the GitHub Pages workflow in .github/workflows/book.yml does the same on push).
publish: book
	@test -x $(BIN)/ghp-import || { echo "ghp-import is not installed: $(BIN)/python -m pip install ghp-import"; exit 1; }
	$(BIN)/ghp-import --no-jekyll --push --force _build/html

# The students' kit: release notebooks, book (sources and build), data, helper package without
# grading; see tools/student_kit.py. KIT_ARGS="--no-build" skips building its book.
student-kit: $(STAMP)
	@test -n "$(DEST)" || { echo "usage: make student-kit DEST=../course-kit"; exit 1; }
	$(BIN)/python tools/student_kit.py $(DEST) $(KIT_ARGS)

clean:
	rm -rf _build .pytest_cache .jupyter_cache submitted autograded feedback gradebook.db
