# cac — run `make help` for the targets.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN     := bin/cac
LDFLAGS := -s -w -X main.version=$(VERSION)
# Test modules: tests whose heavy dependencies (Argo CD, Istio, the sops library) stay out of cac's module.
TEST_MODULES := $(patsubst %/go.mod,%,$(wildcard test/*/go.mod))
# cross builds these GOOS/GOARCH pairs.
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64

.DEFAULT_GOAL := help

.PHONY: help build test cross demo bench lint fuzz clean

help: ## show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/cac (stripped, version stamped)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/cac

test: ## run every test with the race detector (what CI runs), then every test module (test/*/go.mod)
	$(GO) test -race -count=1 ./...
	@for m in $(TEST_MODULES); do echo "cd $$m && $(GO) test -count=1 ./..."; (cd $$m && $(GO) test -count=1 ./...) || exit 1; done

cross: ## build cac for linux, darwin and windows × amd64 and arm64 into dist/ (CGO_ENABLED=0)
	@failed=; for p in $(PLATFORMS); do os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
	  out=dist/cac-$$os-$$arch$$ext; echo "$$p -> $$out"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $$out ./cmd/cac || failed="$$failed $$p"; \
	done; test -z "$$failed" || { echo "cross: failed for$$failed"; exit 1; }

demo: build ## render the built-in example (3 regions) from a local config git repo, then select one
	./scripts/demo.sh $(BIN)

bench: build ## Go benchmarks, then cac against its peers on the same generated fleet
	./scripts/bench.sh $(BIN)

lint: ## gofmt, go vet and go mod tidy -diff, for cac's module and every test module
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff
	@for m in $(TEST_MODULES); do echo "cd $$m && $(GO) vet ./... && $(GO) mod tidy -diff"; (cd $$m && $(GO) vet ./... && $(GO) mod tidy -diff) || exit 1; done

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	./scripts/fuzz.sh $${FUZZTIME:-30s}

clean: ## remove build, cross-build and demo output
	rm -rf bin dist .demo .bench output
