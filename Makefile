# cac — run `make help` for the targets.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN     := bin/cac
LDFLAGS := -s -w -X main.version=$(VERSION)

.DEFAULT_GOAL := help

.PHONY: help build test demo bench lint fuzz clean

help: ## show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/cac (stripped, version stamped)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/cac

test: ## run every test with the race detector (what CI runs), then the Argo CD type check
	$(GO) test -race -count=1 ./...
	cd test/argocd && $(GO) test -count=1 ./...
	cd test/sopsread && $(GO) test -count=1 ./...

demo: build ## render the built-in example (3 regions) from a local config git repo, then select one
	./scripts/demo.sh $(BIN)

bench: build ## Go benchmarks, then cac against its peers on the same generated fleet
	./scripts/bench.sh $(BIN)

lint: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	./scripts/fuzz.sh $${FUZZTIME:-30s}

clean: ## remove build and demo output
	rm -rf bin .demo .bench output
