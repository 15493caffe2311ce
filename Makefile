# gameday — the contract: `make demo` runs the headline scenario, `make test` runs the tests.
SHELL := /bin/bash
GO ?= go
BIN := bin/gameday
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Ryuk (testcontainers' reaper) would need an image pull; gameday removes what it starts by label.
export TESTCONTAINERS_RYUK_DISABLED := true
export GOFLAGS := -trimpath

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
lint: ## go vet, staticcheck, gofmt, and go.mod tidiness
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) mod tidy -diff

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
