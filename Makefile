# Two commands for a fresh clone:  `make book`  and  `make test`.
# Every other target is one small step of those two pipelines, listed in order.
# Settings live here, once, each with a comment.

# interpreter used to create the virtual environment
PYTHON_BASE ?= python3
# the project's own environment (never committed)
VENV        := .venv
PY          := $(VENV)/bin/python
# marker files: a step reruns only when its inputs change
STAMPS      := .stamps
# offline JS/fonts + downloads, served via html_extra_path
ASSETS      := _build/site_assets
# warnings are errors; report all of them in one run
JB_FLAGS    := -W --keep-going
# e.g. PYTEST_ARGS="-k slider" to run a subset
PYTEST_ARGS ?=
# every module's nbgrader assignment id (module folders with a module.toml, in _toc.yml order)
ASSIGNMENTS  = $(shell $(PY) -m course.manifest)
# the assignment grade/collect/feedback/report work on (make grade ASSIGNMENT=module2)
ASSIGNMENT  ?= $(firstword $(ASSIGNMENTS))

.PHONY: book test venv test-env notorch-venv assets notebooks serve grade render collect feedback report similarity clean
.DEFAULT_GOAL := book

# ---- step 1: Python environment (requirements pinned, constraints lock the rest)
$(STAMPS)/venv: requirements.txt constraints.txt pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(PY) || $(PYTHON_BASE) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $@
venv: $(STAMPS)/venv

# ---- step 2: front-end assets from the npm registry (MathJax, widget manager, fonts)
# (npm ci writes node_modules/.package-lock.json: the target is redone if node_modules goes)
NPM_DONE    := node_modules/.package-lock.json
$(NPM_DONE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# copies only the files pages load into $(ASSETS)/vendor (+ favicon); no-op when up to date
assets: $(NPM_DONE) $(STAMPS)/venv
	$(PY) tools/stage_assets.py $(ASSETS)

# ---- step 3: every module's notebooks, each from its one chapter source (nbgrader source +
# release + download); refuses to overwrite a hand-edited instructor notebook
notebooks: $(STAMPS)/venv
	$(PY) -m course.notebooks build

# ---- step 4: the site
# the execution cache keys on the pages' cell code only: when the code or data the pages
# import changes, drop the cache so every figure and slider frame is drawn again
$(STAMPS)/page-inputs: $(wildcard solutions/*.py course/*.py book/*/*.py book/*/module.toml book/*/data/*.h5)
	@mkdir -p $(STAMPS)
	rm -rf _build/.jupyter_cache
	@touch $@

book: $(STAMPS)/venv assets notebooks $(STAMPS)/page-inputs
	@# pages keep the script list (mathjax_path, nb_ipywidgets_js) they were first written with,
	@# and Sphinx copies html_extra_path only when a page changes: after a change of _config.yml
	@# or of the staged assets rewrite every page (the execution cache is kept)
	@if [ _config.yml -nt $(STAMPS)/book-config ] || [ $(ASSETS)/.staged -nt $(STAMPS)/book-config ]; \
	  then rm -rf _build/html _build/.doctrees; mkdir -p $(STAMPS); touch $(STAMPS)/book-config; fi
	$(VENV)/bin/jupyter-book build . $(JB_FLAGS)
	@echo ""
	@echo "Site built: open _build/html/index.html"
	@echo "or serve it: $(PY) -m http.server --bind 127.0.0.1 --directory _build/html 8000"
	@echo "             then browse http://127.0.0.1:8000/"

serve: book
	$(PY) -m http.server --bind 127.0.0.1 --directory _build/html 8000

# ---- tests: the same environment plus test tools, a browser and a sandbox
$(STAMPS)/test-env: $(STAMPS)/venv requirements-test.txt
	$(PY) -m pip install -q -r requirements-test.txt -c constraints.txt
	@command -v chromium >/dev/null && command -v bwrap >/dev/null && command -v espeak-ng >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium bubblewrap espeak-ng)
	@touch $@
test-env: $(STAMPS)/test-env

# a fresh environment with only the student notebook's packages (no torch) + a kernel runner,
# for tests/test_notebook_journey.py; pip reuses its wheel cache
NOTORCH_VENV := _build/venv-notorch
$(STAMPS)/notorch-venv: requirements.txt constraints.txt course/environment.py $(STAMPS)/venv
	@mkdir -p $(STAMPS)
	rm -rf $(NOTORCH_VENV) && $(PYTHON_BASE) -m venv $(NOTORCH_VENV)
	$(NOTORCH_VENV)/bin/python -m pip install -q $$($(PY) -m course.notebooks student-requirements) \
	  ipykernel nbclient -c constraints.txt
	@touch $@
notorch-venv: $(STAMPS)/notorch-venv

test: test-env book notorch-venv
	$(PY) -m pytest $(PYTEST_ARGS)

# ---- instructors: grade every submission in grader/submitted (sandboxed, parallel, resumable)
# (make grade FORCE=1 regrades everyone; the default grades only new or changed submissions;
# make grade SCHEDULER=tcp://host:8786 grades on a Dask cluster, see README)
grade: $(STAMPS)/venv notebooks
	$(PY) -m neurograder.batch --course grader --assignment $(ASSIGNMENT) $(if $(FORCE),--force) \
	  $(if $(SCHEDULER),--scheduler $(SCHEDULER))

# what graders see: plotting cells and Task 4.3 widgets re-run in the sandbox (cached; run it
# after make grade and before hand grading; one sandbox per core on this machine, even when
# make grade used a cluster; make render FORCE=1 redraws everyone)
render: $(STAMPS)/venv
	$(PY) -m neurograder.render --course grader --assignment $(ASSIGNMENT) $(if $(FORCE),--force)

# an LMS download (Canvas; Moodle: see grader/nbgrader_config.py) into grader/submitted
collect: $(STAMPS)/venv notebooks
	@test -n "$(ZIP)" || (echo "usage: make collect ZIP=path/to/download.zip [ASSIGNMENT=$(ASSIGNMENT)]"; exit 2)
	$(PY) -m neurograder.lms collect $(ASSIGNMENT) "$(ZIP)" --course grader

# feedback for every graded student (grader/feedback), released through the exchange
feedback: $(STAMPS)/venv
	$(PY) -m neurograder.lms feedback $(ASSIGNMENT) --course grader

# class report from the gradebook: grader/reports/<assignment>_class.html (+ CSVs), offline HTML
report: $(STAMPS)/venv
	$(PY) -m neurograder.report --course grader --assignment $(ASSIGNMENT)

# ---- instructors: which pairs of submissions to look at (offline page grader/similarity/index.html)
similarity: $(STAMPS)/venv notebooks
	$(PY) -m neurograder.similarity --course grader --assignment $(ASSIGNMENT)

clean:
	rm -rf _build $(STAMPS) grader/source grader/release
