# Two commands for a fresh machine: `make book` and `make test`. Both create .venv first.
VENV    := .venv
ifeq ($(OS),Windows_NT)
BIN     := $(VENV)/Scripts
PYTHON  ?= python
else
BIN     := $(VENV)/bin
PYTHON  ?= python3
endif
STAMP   := $(VENV)/.installed
CHAPTERS := $(wildcard book/*.ipynb)
# The groups of pyproject.toml that `make install` installs (all of them; Colab needs none).
EXTRAS  := test,docs,run,lint

.PHONY: install book i18n i18n-coverage test unit execute colab results-registry lock lock-check clean

install: $(STAMP)

# The lock first (every version pinned), then the package with its declared groups: pip checks
# that the lock satisfies pyproject.toml and installs nothing more; `pip check` confirms it.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	$(BIN)/python -m pip check
	touch $(STAMP)

# The HTML book from the stored full-run outputs, warnings as errors: the English edition into
# _build/html, then the Chinese one (locale/zh_CN catalogues) into _build/html/zh_CN.
book: install
	$(BIN)/jupyter-book build -W -n --keep-going .
	$(BIN)/python book/_tools/build_zh.py -W -n --keep-going

# After the English prose changes: extract every message of every page again (gettext builder,
# POT/book/<page>.pot) and update the catalogues locale/zh_CN/LC_MESSAGES/book/<page>.po (a
# changed message comes back fuzzy, a new one empty, a removed one is dropped), then count what
# is left to translate. The gettext build keeps its own doctrees (_build/i18n): Sphinx refuses
# to share them with html.
POT     := _build/i18n/_build/gettext
i18n: install
	rm -rf $(POT)
	$(BIN)/jupyter-book build -W -n --keep-going --builder custom --custom-builder gettext \
	    --path-output _build/i18n .
	$(BIN)/sphinx-intl update --pot-dir $(POT) --locale-dir locale --language zh_CN \
	    --no-obsolete
	$(BIN)/python book/_tools/i18n_coverage.py

# Per catalogue: translated, fuzzy and untranslated messages.
i18n-coverage: install
	$(BIN)/python book/_tools/i18n_coverage.py

# Lint the Python files and the chapters, then the unit tests,
# the book in headless Chromium (tests/test_browser.py builds it), every chapter as Colab runs
# it (tests/test_colab.py), and every chapter in smoke mode (book/conftest.py sets
# GAN_TUTORIAL_SMOKE=1).
test: install
	$(BIN)/ruff check .
	$(BIN)/pytest -v --nbval-lax --nbval-current-env tests book

unit: install
	$(BIN)/pytest tests

# Re-run every chapter at full size (on the GPU if there is one) and store its outputs, which
# the rendered book shows. A chapter that fails keeps its old outputs; each run is logged in
# book/run_log.json and book/how_this_book_was_run.md. One chapter: make execute NB=book/x.ipynb
execute: install
	$(BIN)/python book/_tools/execute.py $(NB)

# After changing repository.url in _config.yml, or after committing new result files: rewrite
# every chapter's Colab badge and install cell, and pin gan_tutorial.results to the repository
# and to HEAD's commit (where chapters outside a clone download book/results/ from).
colab: install
	$(BIN)/python book/_tools/colab.py

# After a benchmark writes book/results/: the SHA-256 of every file, which gan_tutorial.results
# checks each download against (gan_tutorial/results_registry.txt). Commit, then `make colab`.
results-registry: install
	$(BIN)/python book/_tools/results_registry.py

# Regenerate requirements.txt: one lock of every group for Linux, macOS and Windows, Python 3.10
# and newer (uv pip compile --universal). The versions already in it are kept where they still
# fit; to move one, delete its lines first. TORCH is the tested pair, pinned on purpose (see the
# lock's header). uv comes from PyPI into .venv; it is not part of the lock.
# `make lock-check` then checks the result.
TORCH   := torch==2.14.1 torchvision==0.29.1
LOCK_PYTHON := 3.10
export LOCK_HEADER
lock: $(BIN)/uv
	printf '%s\n' $(TORCH) | $(BIN)/uv pip compile --quiet --universal \
	    --python-version $(LOCK_PYTHON) --all-extras --constraints - --no-header \
	    pyproject.toml -o requirements.txt
	{ printf '%s\n' "$$LOCK_HEADER"; grep -v '^#' requirements.txt | sed '/./,$$!d'; } \
	    > requirements.txt.new
	mv requirements.txt.new requirements.txt

# Check that the lock installs from wheels alone on every platform and Python it promises (a dry
# run in an empty environment: nothing is downloaded but the index pages). macOS means macOS 14,
# the oldest that torch 2.14 supports.
LOCK_PLATFORMS := x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu aarch64-apple-darwin \
                  x86_64-pc-windows-msvc
LOCK_PYTHONS   := 3.10 3.11 3.12 3.13
lock-check: $(BIN)/uv
	$(BIN)/uv venv --quiet --allow-existing $(VENV)/lock-check
	set -e; for platform in $(LOCK_PLATFORMS); do for version in $(LOCK_PYTHONS); do \
	    echo "$$platform, Python $$version"; \
	    MACOSX_DEPLOYMENT_TARGET=14.0 $(BIN)/uv pip install --quiet --dry-run --only-binary :all: \
	        --python $(VENV)/lock-check --python-platform $$platform --python-version $$version \
	        -r requirements.txt; \
	done; done

$(BIN)/uv:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'uv>=0.5'

clean:
	rm -rf _build

define LOCK_HEADER
# The tested environment, locked for Linux, macOS and Windows and Python 3.10 to 3.13: every
# group of pyproject.toml (runtime, test, docs, run, lint). `make install` installs it with pip,
# then the package. Generated by `uv pip compile --universal` (`make lock`); don't edit by hand.
#
# torch==2.14.1 and torchvision==0.29.1 are pinned (Makefile: TORCH), and PyPI decides the
# build: macOS (Apple silicon, macOS 14 or newer) and Windows get PyPI's CPU wheels; Linux gets
# PyPI's only Linux wheel, the CUDA 13 build with its nvidia-* and triton wheels (the lines
# marked sys_platform == 'linux'; about 3 GB, and it runs on the CPU too). The CPU-only Linux
# wheels live on download.pytorch.org, an index that the project's CI cannot reach, and the CI
# machines hold this exact CUDA pair on disk, where pip finds it. Intel Macs are not covered:
# PyTorch's last wheels for them are 2.2.2, and the package needs torch 2.6 or newer.

endef
