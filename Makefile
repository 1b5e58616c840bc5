GO ?= go
FUZZTIME ?= 10s

.PHONY: build build-shim test fuzz bench lint churn

# A static binary: it runs on any Linux, in any image.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ebb ./cmd/ebb

# The shim build for container images: only `ebb run` and `ebb version`.
build-shim:
	CGO_ENABLED=0 $(GO) build -trimpath -tags shim -o bin/ebb-shim ./cmd/ebb

# The whole test suite. Installs missing Debian packages first (as root).
test:
	bash .ci/deps
	$(GO) test -count=1 -timeout 30m ./...

fuzz:
	@for pkg in ./config ./internal/evloop; do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep ^Fuzz); do \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

lint:
	gofmt -l $$(git ls-files '*.go')
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench:
	$(GO) run ./internal/bench/cmd/ebb-bench -shim both -reference -duration 4s

# Autoscaling: the churn scenario and 10 cold starts against examples/hello;
# writes the "## Autoscaling" section of docs/benchmarks.md and docs/churn.svg.
churn:
	$(GO) run ./internal/churn/cmd/ebb-churn -cold-starts 10
