# Two commands for a fresh machine: `make book` and `make test`. Both create .venv first.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTHON  ?= python3
CHAPTERS := $(wildcard book/*.ipynb)

.PHONY: install book test unit execute clean

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

# Unit tests, then every chapter in smoke mode (book/conftest.py sets GAN_TUTORIAL_SMOKE=1).
test: install
	$(BIN)/pytest -v --nbval-lax --nbval-current-env tests book

unit: install
	$(BIN)/pytest tests

# Re-run every chapter at full size and store its outputs (what the rendered book shows).
execute: install
	for nb in $(CHAPTERS); do \
	  env -u GAN_TUTORIAL_SMOKE $(BIN)/papermill --cwd book -k python3 "$$nb" "$$nb" || exit 1; \
	done

clean:
	rm -rf _build
