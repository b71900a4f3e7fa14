# Two commands for a fresh machine: `make book` and `make test`. Both create .venv first.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTHON  ?= python3
CHAPTERS := $(wildcard book/*.ipynb)

.PHONY: install book test unit execute colab clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The HTML book from the stored full-run outputs, warnings as errors.
book: install
	$(BIN)/jupyter-book build -W -n --keep-going .

# Unit tests, the book in headless Chromium (tests/test_browser.py builds it), then every
# chapter in smoke mode (book/conftest.py sets GAN_TUTORIAL_SMOKE=1).
test: install
	$(BIN)/pytest -v --nbval-lax --nbval-current-env tests book

unit: install
	$(BIN)/pytest tests

# Re-run every chapter at full size (on the GPU if there is one) and store its outputs, which
# the rendered book shows. A chapter that fails keeps its old outputs; each run is logged in
# book/run_log.json and book/how_this_book_was_run.md. One chapter: make execute NB=book/x.ipynb
execute: install
	$(BIN)/python book/_tools/execute.py $(NB)

# After changing repository.url in _config.yml: rewrite every chapter's Colab badge and install cell.
colab: install
	$(BIN)/python book/_tools/colab.py

clean:
	rm -rf _build
