# gameday — the contract: `make demo` runs the headline scenario, `make test` runs the tests.
SHELL := /bin/bash
GO ?= go
BIN := bin/gameday
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Ryuk (testcontainers' reaper) would need an image pull; gameday removes what it starts by label.
export TESTCONTAINERS_RYUK_DISABLED := true
export GOFLAGS := -trimpath
# The licence check: go-licenses (Google's, on its licenseclassifier) names the licence of every
# package that the binary and the tests compile on this platform (go list -deps -test ./...).
# It is built from its own module with its own go.sum, so that neither it nor its dependencies
# enter our go.mod (`go get -tool` would raise x/net and cobra in our build); `go run ...@version`
# cannot be used, as it asks the proxy for the version list, which the proxy refuses for it.
GO_LICENSES_VERSION := v2.0.1
GO_LICENSES := $(CURDIR)/bin/go-licenses-$(GO_LICENSES_VERSION)
# Forbidden: AGPL, Commons Clause, CC-BY-NC. Restricted: GPL and LGPL (a static Go binary cannot be
# relinked, as the LGPL asks). Unknown: SSPL, BUSL, Elastic and other licences it names but does
# not rank. A package with no licence file that it recognises fails too. MPL and EPL (reciprocal,
# per file) and the permissive licences pass.
LICENCES_DISALLOWED := forbidden,restricted,unknown
# Its log of assembly files it cannot read is noise; errors are still printed.
GO_LICENSES_QUIET := --logtostderr=false --log_file=/dev/null --stderrthreshold=ERROR
# The module to check: this one; the test of the check points it at small modules of its own.
LICENCES_DIR ?= .

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## build the static gameday binary into bin/
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/gameday

.PHONY: demo
demo: build ## run the headline scenario in-process, with a verdict and a report
	./$(BIN) demo

.PHONY: sensitivity
sensitivity: build ## the full sensitivity matrix: every built-in on resilient, naive and each guarded feature off
	./$(BIN) sensitivity --parallel 6 --out reports/sensitivity --markdown reports/sensitivity.md

.PHONY: matrix
matrix: build ## the resilience matrix (link × fault kind → journeys ok/degraded/broken), gated by scenarios/matrix.expected.json
	./$(BIN) matrix --parallel 2 --out reports/matrix

.PHONY: test
test: deps ## run every test with the race detector, then the quick sensitivity matrix
	CGO_ENABLED=1 $(GO) test -race -timeout 40m ./...
	$(MAKE) sensitivity-quick

.PHONY: sensitivity-quick
sensitivity-quick: build ## the quick sensitivity matrix (compressed timelines) with the release binary: part of make test
	./$(BIN) sensitivity --quick --parallel 8 --out reports/sensitivity-quick

.PHONY: lint
lint: ## go vet, staticcheck, gofmt, go.mod tidiness and the licences of the dependencies
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) mod tidy -diff
	@$(MAKE) --no-print-directory licences

# go-licenses reads GOROOT to tell the standard library from the rest: unset, a -trimpath build
# of it takes every package for the standard library and passes anything. Hence GOROOT is set,
# and a second run that allows no licence at all must name at least one library. (Not
# `go-licenses report`: it looks up each module's repository on the network.)
.PHONY: licences
licences: $(GO_LICENSES) ## fail on a dependency under the AGPL, GPL, LGPL, SSPL or BUSL, or with no licence file
	@cd $(LICENCES_DIR) && export GOROOT="$$($(GO) env GOROOT)" && \
	echo "go-licenses check --include_tests --disallowed_types=$(LICENCES_DISALLOWED) ./..." && \
	{ $(GO_LICENSES) check --include_tests --disallowed_types=$(LICENCES_DISALLOWED) $(GO_LICENSES_QUIET) ./... \
		|| { echo "make licences: FAIL: a dependency above is not allowed, or go-licenses could not run" >&2; exit 1; }; } && \
	n=$$($(GO_LICENSES) check --include_tests --allowed_licenses=none $(GO_LICENSES_QUIET) ./... 2>&1 \
		| sed -n "s/.* for library '\(.*\)'\.$$/\1/p" | sort -u | wc -l) && \
	{ test "$$n" -gt 0 || { echo "make licences: FAIL: go-licenses saw no library at all; is GOROOT right?" >&2; exit 1; }; } && \
	echo "make licences: $$n libraries, all allowed"

$(GO_LICENSES):
	@set -o pipefail; dir=$$($(GO) mod download -json github.com/google/go-licenses/v2@$(GO_LICENSES_VERSION) \
		| sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p') && test -n "$$dir" \
		|| { echo "make licences: FAIL: cannot download go-licenses $(GO_LICENSES_VERSION) (the first time needs the Go module proxy)" >&2; exit 1; }; \
	echo "go build go-licenses $(GO_LICENSES_VERSION) from $$dir"; \
	GOOS=$$($(GO) env GOHOSTOS) GOARCH=$$($(GO) env GOHOSTARCH) $(GO) -C "$$dir" build -o $@ . \
		|| { echo "make licences: FAIL: cannot build go-licenses" >&2; exit 1; }

.PHONY: bench
bench: deps ## run the benchmarks (figures in README.md); installs wrk from Debian's packages for the load engine against its peers
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) \
		|| echo "make bench: wrk could not be installed; BenchmarkLoadVsPeers leaves wrk out"
	CGO_ENABLED=0 $(GO) test -run '^$$' -bench . -benchmem -benchtime 3s ./...

.PHONY: deps
deps: ## install what tests need from Debian's packages (gcc for -race, chromium for the report's browser test)
	@command -v gcc >/dev/null || { apt-get update -qq && apt-get install -y -qq gcc >/dev/null; }
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
		|| echo "make deps: chromium could not be installed; TestHTMLInChromium will skip"

.PHONY: clean
clean: ## remove build output and reports
	rm -rf bin reports
