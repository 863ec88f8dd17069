# VoxBridge Dispatch — `make run` serves, `make test` runs every test. Both install the system
# libraries they need first (Debian/Ubuntu, as root), so they work on a fresh machine.

SWIFT       ?= swift
DB          ?= voxbridge.sqlite
HOST        ?= 127.0.0.1
PORT        ?= 8080
APT_PACKAGES = libcurl4-openssl-dev libsqlite3-dev pkg-config

.PHONY: deps build run test clean

## deps: install the system packages the build needs, when any is missing
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != "0" ]; then \
	    echo "error: missing system packages:$$missing — run 'sudo make deps' or 'sudo apt-get install$$missing'" >&2; exit 1; \
	  fi; \
	  echo "installing:$$missing"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

## build: a release build of the service
build: deps
	$(SWIFT) build -c release --product voxbridge-dispatch

## run: build and serve on $(HOST):$(PORT) with the SQLite file $(DB) in this folder
run: build
	.build/release/voxbridge-dispatch serve --host $(HOST) --port $(PORT) --db $(DB)

## test: the whole test suite
test: deps
	$(SWIFT) test

clean:
	rm -rf .build
