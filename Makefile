# moat: the two commands a newcomer needs are `make run` and `make test`.

GO      ?= go
BIN     := bin/moat
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/moat-mcp/moat/host.Version=$(VERSION)
LISTEN  ?= 127.0.0.1:8080

# First-party plugins: every folder under plugins/ is built to plugins/NAME.wasm.
PLUGIN_DIRS := $(wildcard plugins/*/)
PLUGINS     := $(patsubst plugins/%/,plugins/%.wasm,$(PLUGIN_DIRS))
GO_SOURCES  := $(shell find . -name '*.go' -not -path './bin/*') go.mod go.sum

.PHONY: all build plugins run test vet lint bench examples clean conformance conformance-plugin

all: build plugins

build: $(BIN)

$(BIN): $(GO_SOURCES)
	$(GO) build -ldflags "$(LDFLAGS)" -o $@ ./cmd/moat

plugins: $(PLUGINS)

plugins/%.wasm: $(GO_SOURCES)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $@ ./plugins/$*

## run: build moat and the bundled plugins, and serve them over streamable
## HTTP at http://$(LISTEN)/mcp with the built-in configuration.
run: build plugins
	$(BIN) serve --plugins plugins --listen $(LISTEN)

## test: every test, with the race detector, after vet and staticcheck;
## then the load harness's own tests (bench/ is a module of its own) and
## each fuzz target for 50,000 executions.
test: vet lint
	$(GO) test -race -count=1 -timeout 20m ./...
	cd bench/peers/ts && npm ci --no-audit --no-fund
	cd bench && $(GO) test -count=1 -timeout 10m ./...
	$(MAKE) fuzz-short
	$(MAKE) conformance

# sandbox/internal/rootfs implements wazero's Seek, which vet's stdmethods
# check takes for a faulty io.Seeker; it is vetted with that check off.
vet:
	$(GO) vet $$($(GO) list ./... | grep -v /sandbox/internal/rootfs)
	$(GO) vet -stdmethods=false ./sandbox/internal/rootfs
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./sdk/go/... ./plugins/...
	cd bench && $(GO) vet ./...

STATICCHECK_VERSION := v0.8.2
lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	cd bench && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## bench: every benchmark, then the load harness (bench/) against moat and
## its peers; rewrites the load section of docs/BENCHMARKS.md and the plots
## in docs/bench/. About 10 minutes; run it on a quiet machine. Needs
## Node.js and npm (the TypeScript SDK peer) and wabt's wat2wasm.
## BENCH_COUNT and BENCH_FLAGS (load run's flags, such as -duration 2s)
## shorten it while developing.
BENCH_OUT   := bench/out
BENCH_COUNT ?= 5
BENCH_FLAGS ?=
bench:
	mkdir -p $(BENCH_OUT) && date +%s > $(BENCH_OUT)/started
	cd bench/peers/ts && npm ci --no-audit --no-fund
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) ./sandbox/ > $(BENCH_OUT)/sandbox.bench.txt; \
		s=$$?; cat $(BENCH_OUT)/sandbox.bench.txt; exit $$s
	$(GO) test -overlay bench/deadline/overlay.json -run '^$$' -bench Spin -benchmem -count $(BENCH_COUNT) ./sandbox/ > $(BENCH_OUT)/spin.bench.txt; \
		s=$$?; cat $(BENCH_OUT)/spin.bench.txt; exit $$s
	cd bench/extism && $(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) . > ../out/extism.bench.txt; \
		s=$$?; cat ../out/extism.bench.txt; exit $$s
	cd bench && GO=$(GO) $(GO) run ./cmd/load run -out out $(BENCH_FLAGS)
	cd bench && $(GO) run ./cmd/load report -out out -doc ../docs/BENCHMARKS.md -plots ../docs/bench \
		-wall $$(( $$(date +%s) - $$(cat out/started) ))

## examples: build every examples/<lang>/hello, each with its own toolchain
## (Go, wabt, clang-14 for wasm32-wasi, Rust, Node.js). Rust: the first
## toolchain with a WASI standard library, the rustc and cargo on PATH
## (target wasm32-wasip1, Rust 1.78 and later) or Debian's (wasm32-wasi);
## RUSTC and CARGO choose others, e.g. make examples RUSTC=/usr/bin/rustc CARGO=/usr/bin/cargo
examples:
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o examples/go/hello/hello.wasm ./examples/go/hello
	wat2wasm examples/wat/hello/hello.wat -o examples/wat/hello/hello.wasm
	$(MAKE) -C examples/c/hello
	eval "$$(examples/rust/toolchain.sh)" && cd examples/rust/hello && \
		RUSTC=$$RUSTC $$CARGO build --release --target $$TARGET && \
		cp target/$$TARGET/release/hello.wasm hello.wasm
	cd examples/assemblyscript/hello && npm ci --no-audit --no-fund && npm run build

## conformance: the official MCP conformance suite (pinned in
## examples/conformance/package-lock.json) against moat serving its fixtures
## plugin with examples/config/conformance.yaml, on a free loopback port;
## fails on any failed check. Needs Node.js 20 or later and npm.
conformance: build conformance-plugin
	examples/conformance/run.sh $(BIN) examples/config/conformance.yaml

## conformance-plugin: the suite's fixtures as a plugin. It is kept out of
## plugins/, which make run serves whole.
conformance-plugin: examples/conformance/conformance.wasm

examples/conformance/conformance.wasm: $(GO_SOURCES)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $@ ./examples/conformance

## chaos: the chaos suite with the race detector, the soak at full size
## (CHAOS_CLIENTS clients for CHAOS_DURATION; 1000 for 60s), on the embedded
## store or, with STORE=redis, on a redis-server it starts. make test runs
## the same tests, with the soak at its default of 10s.
CHAOS_CLIENTS  ?= 1000
CHAOS_DURATION ?= 60s
STORE          ?= embedded
.PHONY: chaos fuzz fuzz-short
chaos:
	MOAT_CHAOS_CLIENTS=$(CHAOS_CLIENTS) MOAT_CHAOS_DURATION=$(CHAOS_DURATION) MOAT_CHAOS_STORE=$(STORE) \
		$(GO) test -race -count=1 -timeout 30m -v -run Chaos ./host/

## fuzz: each fuzz target for FUZZTIME executions; go test -fuzz takes one
## target per run. A crash is written under the package's testdata/fuzz:
## keep it, as the regression test it is. fuzz-short runs each for 50,000
## executions, as CI does. The budget is a count, not a duration: Go 1.26's
## fuzz coordinator can report its own -fuzztime deadline as a failure
## ("context deadline exceeded", no crasher) when a worker is busy as the
## clock runs out (go.dev/issue/75804, fixed in Go 1.27); a count has no
## deadline to race. A duration still works: make fuzz FUZZTIME=2m.
FUZZTIME     ?= 300000x
FUZZ_TARGETS := FuzzDescription:./host/internal/plugin FuzzCallResult:./host/internal/plugin \
	FuzzParse:./host/config FuzzHTTP:./host/internal/server \
	FuzzFrontDoorView:./host/internal/server \
	FuzzInstrument:./sandbox/internal/instrument \
	FuzzResultDecodeAgrees:./host/internal/plugin \
	FuzzParseRequest:./sdk/go FuzzAppendString:./sdk/go
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $${t%%:*} in $${t#*:} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZTIME) $${t#*:}/; \
	done

fuzz-short:
	$(MAKE) fuzz FUZZTIME=50000x

clean:
	rm -rf bin plugins/*.wasm examples/conformance/conformance.wasm
