# Thin wrapper around dev.py (the real entry point). Pass extra arguments with ARGS="...",
# e.g. make test ARGS="-k invalidation -x", make demo ARGS="127.0.0.1:8001".
PYTHON ?= python3
ARGS ?=

.PHONY: demo test lint fmt docs bench

demo:
	$(PYTHON) dev.py demo $(ARGS)

test:
	$(PYTHON) dev.py test $(ARGS)

lint:
	$(PYTHON) dev.py lint

fmt:
	$(PYTHON) dev.py fmt

docs:
	$(PYTHON) dev.py docs $(ARGS)

bench:
	$(PYTHON) dev.py bench $(ARGS)
