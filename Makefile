# tonewall — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run build test vet bench fuzz sipp hostile clean

run: ## run tonewall on the shipped configuration (loopback, self-signed TLS)
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/tonewall run --config configs/tonewall.yaml

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/tonewall ./cmd/tonewall

vet:
	$(GO) vet ./...

test: vet ## go vet, the SIPp call flows and payment calls (when sipp is installed), every test with the race detector, the portable path of the assembly
	SIPP_CALLS=50 SIPP_RATE=25 SIPP_HOLD=500 bash test/sipp/run.sh flows pay
	$(GO) test -race -timeout 20m ./...
	$(GO) test -tags purego -timeout 10m ./internal/dtmf/... ./internal/prefetch

bench: build ## micro-benchmarks, then the B2BUA load program (figures in BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./test/sipload -tonewall bin/tonewall -transport udp -calls 5000 -workers 64 -hold 1000
	$(GO) run ./test/sipload -tonewall bin/tonewall -transport tls -calls 2000 -workers 64 -hold 1000
	$(GO) run ./test/load -calls 500 -duration 6s -srtp gcm -mode both
	$(GO) run ./test/load -calls 500 -srtp gcm -mode relay -stage none,closed,open -rounds 10 -phase 1s

FUZZTIME ?= 30s
fuzz: ## run each fuzz target for FUZZTIME
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

sipp: ## every SIPp scenario against a local build, the payment load included (needs sipp on PATH)
	bash test/sipp/run.sh all

hostile: ## the hostile-input suite at full size, with the figures of BENCHMARKS.md "Edge under attack"
	HOSTILE_FULL=1 $(GO) test -count=1 -v -timeout 20m ./test/hostile

clean:
	rm -rf bin data
