# VoxBridge Dispatch — `make run` serves, `make test` runs every test. Both install the system
# libraries they need first (Debian/Ubuntu, as root), so they work on a fresh machine.

SWIFT       ?= swift
DB          ?= voxbridge.sqlite
HOST        ?= 127.0.0.1
PORT        ?= 8080
APT_PACKAGES = libcurl4-openssl-dev libsqlite3-dev pkg-config

.PHONY: test-build nemesis-quick package package-test page-check deps haproxy-deps build run test test-python flood-test clean bench bench-cluster cluster-demo nemesis bench-tools demo fuzz fuzz-api fuzz-api-quick soak browser-deps browser-test screenshots

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

## test-build: one optimized build of every target, tests included, compiled for testing (the
## tests' @testable imports need -enable-testing), in .build-test so that the plain release build
## of `make run` and `make package` in .build is never rebuilt by it. Every phase of `make test`
## runs on it: the suite, the flood (which needs an optimized serve), the Python client's tests,
## schemathesis and the browser. One build instead of a debug and a release one, each with its
## own BoringSSL (docs/BENCHMARKS.md, "Where make test's time goes").
TEST_SCRATCH = .build-test
TEST_FLAGS   = -c release -Xswiftc -enable-testing --scratch-path $(TEST_SCRATCH)
TEST_BIN     = $(TEST_SCRATCH)/release
test-build: deps
	$(SWIFT) build $(TEST_FLAGS) --build-tests

## test: the whole test suite with a private PostgreSQL server (scripts/with-postgres.sh installs
## Debian's postgresql when missing, starts it on a free loopback port, stops it afterwards); the
## suites that time the service run afterwards, one test at a time: several `serve` processes
## against PostgreSQL (propagation latency, outage under 200 picks/s, the cluster's faults), the
## operator page's event stream (an event at least every second), the ingress sync against
## Debian's HAProxy (installed when missing; UP within 2 s) and the store's 100 ms bound. Run beside
## the rest of the suite on a 2-core machine they would time the machine, not the service (CI once
## saw a 2.2 s gap between two events). Then the 20,000-connection flood (flood-test), on its own
## for the same reason; a 60-second nemesis with a fixed seed (nemesis-quick); the Python client's tests, a short schemathesis pass against the built
## service, then the operator's page in a real browser.
TIMED_TESTS = VoxBridgeDispatchTests\.(ClusterTests|ClusterLeaseTests|PostgresOutageTests|FleetEventStreamTests|FleetStateCommandTests)|IngressSyncTests\.IngressHAProxyTests|SettingsStoreTests\.PostgresSessionTimeoutTests
test: deps haproxy-deps test-build
	scripts/with-postgres.sh sh -c '$(SWIFT) test $(TEST_FLAGS) --skip-build --skip "$(TIMED_TESTS)" && $(SWIFT) test $(TEST_FLAGS) --skip-build --no-parallel --filter "$(TIMED_TESTS)"'
	$(MAKE) flood-test
	$(MAKE) nemesis-quick
	$(MAKE) test-python
	$(MAKE) fuzz-api-quick
	$(MAKE) browser-test

## haproxy-deps: Debian's haproxy (2.6) for the ingress sync's tests, which start it on loopback
haproxy-deps:
	@command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || { \
	  [ "$$(id -u)" = "0" ] || { echo "error: haproxy is missing: sudo apt-get install haproxy" >&2; exit 1; }; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy; }

## package: dist/voxbridge-dispatch_<version>_amd64.deb (scripts/package-deb.sh): the release binary
## with the Swift runtime and Foundation linked in, the units in deploy/, the environment file as a
## conffile, a man page; lintian must pass. Installs Debian's packaging tools when missing.
PACKAGE_APT_PACKAGES = dpkg-dev lintian help2man rsync
package: deps
	$(MAKE) deps APT_PACKAGES="$(PACKAGE_APT_PACKAGES)"
	SWIFT=$(SWIFT) scripts/package-deb.sh

## package-test: builds two packages (this commit's version and a later one), installs the first
## into a minimal Debian 12 (debootstrap from the machine's mirror, cached in .build-package-test),
## serves from it, picks against voxcore-sim, upgrades keeping data and configuration, removes
## and purges (scripts/package-test.sh; 15-20 minutes from a fresh clone, so not in `make test`)
package-test: package
	$(MAKE) deps APT_PACKAGES="debootstrap"
	$(SWIFT) build --product voxcore-sim
	SWIFT=$(SWIFT) scripts/package-test.sh

## flood-test: 20,000 slow and silent connections against the optimized serve of the test build
## under a file limit of 4,096 (SlowClientTests.swift, `flood`): descriptors bounded and back to
## idle, the fleet untouched, a well-behaved caller's picks all 200 with p99 under 10 ms; then the
## file limit lowered under a held flood. Part of `make test`. (Under this flood the caller's p99
## was 204 ms on a debug serve: docs/BENCHMARKS.md.)
flood-test: test-build
	@out=$$(VOXBRIDGE_TEST_RELEASE_SERVE=$(CURDIR)/$(TEST_BIN)/voxbridge-dispatch $(SWIFT) test $(TEST_FLAGS) --skip-build --filter 'SlowClientTests/flood' 2>&1); \
	status=$$?; printf '%s\n' "$$out"; [ $$status -eq 0 ] || exit $$status; \
	printf '%s\n' "$$out" | grep -q ' of 20000 connected' || { echo "error: the flood test did not run (renamed, or filtered out?)" >&2; exit 1; }

## browser-deps: Debian's chromium (Playwright's own browser download cannot work here) and
## Playwright for Python in $(BROWSER_VENV), each when missing
PLAYWRIGHT_VERSION ?= 1.65.0
BROWSER_VENV        = .venv-browser
BROWSER_VENV_STAMP  = $(BROWSER_VENV)/.playwright-$(PLAYWRIGHT_VERSION)
$(BROWSER_VENV_STAMP):
	@python3 -c 'import ensurepip, venv' 2>/dev/null || { [ "$$(id -u)" = "0" ] || { echo "error: python3's venv is missing: sudo apt-get install python3-venv" >&2; exit 1; }; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv; }
	rm -rf $(BROWSER_VENV) && python3 -m venv $(BROWSER_VENV)
	$(BROWSER_VENV)/bin/pip install --quiet --disable-pip-version-check --retries 5 playwright==$(PLAYWRIGHT_VERSION)
	touch $@
browser-deps: $(BROWSER_VENV_STAMP)
	@dpkg -s chromium >/dev/null 2>&1 || { \
	  [ "$$(id -u)" = "0" ] || { echo "error: chromium is missing: sudo apt-get install chromium" >&2; exit 1; }; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

## browser-test: the operator's page (GET /) in Chromium against the test build's serve and
## voxcore-sim, both started by the test on loopback; screenshots go to SCREENSHOTS (a temporary
## folder by default)
SCREENSHOTS ?=
browser-test: deps browser-deps haproxy-deps page-check test-build
	scripts/with-postgres.sh sh -c '$(BROWSER_VENV)/bin/python Tests/Browser/operator_page_test.py --dispatch $(TEST_BIN)/voxbridge-dispatch \
	  --sim $(TEST_BIN)/voxcore-sim --store "$$VOXBRIDGE_TEST_POSTGRES" $(if $(SCREENSHOTS),--screenshots $(SCREENSHOTS))'

## page-check: the operator page's script parses (node --check, where node is installed; without
## node the browser test's own load is the check: a syntax error is a page error there)
PAGE_SCRIPT = Sources/VoxBridgeDispatch/Page/operator.js
page-check:
	@if command -v node >/dev/null 2>&1; then node --check $(PAGE_SCRIPT) && echo "$(PAGE_SCRIPT): syntax ok (node --check)"; \
	else echo "node not installed: $(PAGE_SCRIPT) is checked by the browser test's load"; fi

## screenshots: browser-test, keeping its screenshots in docs/screenshots (for the README)
screenshots:
	$(MAKE) browser-test SCREENSHOTS=docs/screenshots

## test-python: clients/python's unittest suite (stdlib only) against the test build's real serve and voxcore-sim
test-python: test-build
	VOXBRIDGE_BIN_DIR=$(CURDIR)/$(TEST_BIN) python3 -m unittest discover -s clients/python -p 'test_*.py' -v

## bench: release-build the dispatcher, voxcore-sim and voxbridge-bench into $(BENCH_SCRATCH) and run every
## load scenario, ours and the naive picker side by side, then the rolling restart (the runbook's way
## beside drain --wait; a few minutes each); writes the tables into docs/BENCHMARKS.md
BENCH_SCRATCH ?= .build
BENCH_BUILD    = $(SWIFT) build -c release --scratch-path $(BENCH_SCRATCH)
bench: bench-tools
	$(BENCH_SCRATCH)/release/voxbridge-bench --scenario all --write-doc docs/BENCHMARKS.md
	$(BENCH_SCRATCH)/release/voxbridge-bench --rolling-restart --write-doc docs/BENCHMARKS.md

## bench-cluster: the cluster scenarios (cluster-burst beside three independent instances,
## cluster-latency beside one instance alone, failover) on release builds, three instances sharing a
## private PostgreSQL (scripts/with-postgres.sh); writes their tables into docs/BENCHMARKS.md
bench-cluster: bench-tools
	scripts/with-postgres.sh sh -c '$(BENCH_SCRATCH)/release/voxbridge-bench --cluster all --store "$$VOXBRIDGE_TEST_POSTGRES" --write-doc docs/BENCHMARKS.md'

## cluster-demo: PostgreSQL, three instances, voxcore-sim and 200 dialouts/s; kill -9 of the leader,
## then SIGSTOP of the next one for 5 s, with the figures printed as it goes (about 40 s)
cluster-demo: bench-tools
	scripts/with-postgres.sh sh -c '$(BENCH_SCRATCH)/release/voxbridge-bench --cluster failover --store "$$VOXBRIDGE_TEST_POSTGRES"'

## nemesis: three instances on a PostgreSQL of the bench's own (so that it may stop and start it;
## as root), each behind a proxy that members and callers go through and reaching the database
## through another; 100 dialouts/s through the client library on 16 sim servers × 64 workers, a list
## write every second, and a seeded schedule of faults, one or two at once, each healed after 1–6 s:
## partitions instance↔database, instance↔instances, instance↔callers, one-way follower→leader,
## the database away or restarted, kill -9, a pause longer than the lease. Then the checker's table;
## it exits non-zero when a target failed. NEMESIS_SECONDS (default 300); SEED reproduces a schedule.
NEMESIS_SECONDS ?= 300
SEED ?= $(shell date +%s)
nemesis: bench-tools
	scripts/with-postgres.sh sh -c 'SEED=$(SEED) $(BENCH_SCRATCH)/release/voxbridge-bench --cluster nemesis --duration $(NEMESIS_SECONDS)'

## nemesis-quick: the nemesis for 60 s with a fixed seed on the test build's binaries, its checker's
## table and verdicts; part of `make test` (scripts/with-postgres.sh only installs PostgreSQL here
## when missing: the nemesis runs a server of its own)
NEMESIS_QUICK_SEED ?= 5
nemesis-quick: test-build
	scripts/with-postgres.sh sh -c 'SEED=$(NEMESIS_QUICK_SEED) $(TEST_BIN)/voxbridge-bench --cluster nemesis --duration 60 \
	  --dispatcher $(TEST_BIN)/voxbridge-dispatch --sim $(TEST_BIN)/voxcore-sim'

## bench-tools: the release dispatcher, voxcore-sim and voxbridge-bench in $(BENCH_SCRATCH), for bench, demo and soak
bench-tools: deps
	$(BENCH_BUILD) --product voxbridge-dispatch
	$(BENCH_BUILD) --product voxcore-sim
	$(BENCH_BUILD) --product voxbridge-bench

## demo: a simulated fleet of 3 servers and the dispatcher; registers them through the API, shows picks and /v1/fleet
demo: bench-tools
	$(BENCH_SCRATCH)/release/voxbridge-bench --demo

## soak: the bench's steady scenario (1,000 dialouts/s) for SOAK_SECONDS against the dispatcher alone; not in CI.
## Read its table: the soak holds when it shows no errors and RSS (start→end) grew under 5 %; record the
## figures in docs/BENCHMARKS.md
SOAK_SECONDS ?= 600
soak: bench-tools
	$(BENCH_SCRATCH)/release/voxbridge-bench --scenario steady --duration $(SOAK_SECONDS) --side ours

## fuzz: libFuzzer on the health-report parser and the fleet-list validator (Fuzz/), each for
## FUZZ_SECONDS seconds, in a private network namespace; a crash fails with its input in .build-fuzz/artifacts
FUZZ_SECONDS ?= 300
FUZZ_BUILD    = cd Fuzz && $(SWIFT) build --sanitize=fuzzer -c release --scratch-path ../.build-fuzz
fuzz: deps
	$(FUZZ_BUILD) --product FuzzHealthReading
	$(FUZZ_BUILD) --product FuzzFleetList
	Fuzz/run-fuzzers.sh .build-fuzz/release $(FUZZ_SECONDS)

## fuzz-api: schemathesis (PyPI, into .venv-fuzz) against a live `serve` in a private network namespace
## with only loopback up, checking every answer against docs/openapi.yaml; FUZZ_API_EXAMPLES cases per
## operation and phase (500: about 4,000 cases in all, 1½ minutes)
SCHEMATHESIS_VERSION ?= 4.32.5
FUZZ_API_EXAMPLES    ?= 500
FUZZ_VENV             = .venv-fuzz
FUZZ_VENV_STAMP       = $(FUZZ_VENV)/.schemathesis-$(SCHEMATHESIS_VERSION)
$(FUZZ_VENV_STAMP):
	@python3 -c 'import ensurepip, venv' 2>/dev/null || { [ "$$(id -u)" = "0" ] || { echo "error: python3's venv is missing: sudo apt-get install python3-venv" >&2; exit 1; }; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv; }
	rm -rf $(FUZZ_VENV) && python3 -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/pip install --quiet --disable-pip-version-check --retries 5 schemathesis==$(SCHEMATHESIS_VERSION)
	touch $@
fuzz-api: deps $(FUZZ_VENV_STAMP)
	$(SWIFT) build --product voxbridge-dispatch
	Fuzz/fuzz-api.sh .build/debug/voxbridge-dispatch $(FUZZ_VENV)/bin/st $(FUZZ_API_EXAMPLES)

## fuzz-api-quick: the short schemathesis pass `make test` runs, on the test build's serve
fuzz-api-quick: $(FUZZ_VENV_STAMP) test-build
	Fuzz/fuzz-api.sh $(TEST_BIN)/voxbridge-dispatch $(FUZZ_VENV)/bin/st 25

clean:
	rm -rf .build .build-test .build-bench .build-perf .build-fuzz .build-package .build-package-test dist .venv-fuzz .venv-browser
