# Every target sets itself up: a fresh clone needs only `make run` or `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench screenshots clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The torch pair is pinned here, not in pyproject: users elsewhere get their own matching pair.
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	# opencv-contrib-python-headless (a dependency) installs cv2 too: the plain wheel must not sit beside it.
	$(PY) -m pip uninstall -q -y opencv-python-headless 2>/dev/null || true
	$(PY) -m pip install -q -e '.[test]'
	# MTCNN's trained face-detector weights (1.9 MB, MIT). --no-deps: its metadata pins torch<2.3 (and old
	# numpy / Pillow), which pip would otherwise downgrade to; the app reads only its weight files.
	$(PY) -m pip install -q --no-deps facenet-pytorch==2.6.0
	touch $(STAMP)

# The compiled Korean catalog: rebuilt whenever a catalog source changes (the app also builds it at first run).
CATALOG_SOURCES := $(wildcard resources/translations/*/LC_MESSAGES/*.po)
CATALOGS := resources/translations/ko/LC_MESSAGES/visionlab.mo
$(CATALOGS): $(STAMP) $(CATALOG_SOURCES)
	$(PY) -m visionlab.core.i18n_compile

run: $(STAMP) $(CATALOGS)
	$(VENV)/bin/visionlab

# The lint contracts run first: a broken import boundary or type error fails `make test` (and CI).
test: $(STAMP) $(CATALOGS) lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider
	@if command -v xvfb-run >/dev/null 2>&1; then \
		QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x1024x24" $(PY) -m pytest -q -p no:cacheprovider -m xvfb tests; \
	else echo "xvfb-run not found: the 3D view test was skipped"; fi

# Lint contracts (config in pyproject.toml): style, types of the headless core, import boundaries.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy visionlab/core
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(VENV)/bin/visionlab bench optimizer --json
	$(VENV)/bin/visionlab bench startup --json

screenshots: $(STAMP)
	mkdir -p docs/screenshots
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/visionlab screenshot --all --out docs/screenshots

clean:
	rm -rf $(VENV) build dist *.egg-info
