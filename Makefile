# The two set-up commands (README.md): `make chat` and `make test`.
# Each creates .venv from the project's own files when it is missing or stale.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: chat test validate eval clean compile model

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,server]'
	touch $(STAMP)

# Byte-compile the package as pip does for installed ones: with PYTHONDONTWRITEBYTECODE set
# (as on this machine), every start would otherwise compile it again (about 50 ms).
compile: $(STAMP)
	@$(BIN)/python -m compileall -q chatbot

chat: $(STAMP) compile
	$(BIN)/sarcoma-chat

test: $(STAMP) compile
	$(BIN)/python -m pytest

validate: $(STAMP)
	$(BIN)/sarcoma-chat validate

eval: $(STAMP)
	$(BIN)/python ../shared/tools/score.py --system '$(BIN)/sarcoma-chat batch' ../shared/data/dev_set.jsonl

# Retrain the interpreter after changing intents/ (needs the bench extra: scikit-learn, torch
# 2.13.0 from this machine's disk); cross-validation by writer chooses the answer bars.
model: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,server,bench]'
	$(BIN)/python tools/train_understanding.py

clean:
	rm -rf $(VENV) build *.egg-info
