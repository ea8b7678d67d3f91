# tonewall — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run build test vet bench fuzz sipp hostile image deploy-check clean

run: ## run tonewall on the shipped configuration (loopback, self-signed TLS)
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/tonewall run --config configs/tonewall.yaml

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/tonewall ./cmd/tonewall

vet:
	$(GO) vet ./...

test: vet ## go vet, the systemd unit's checks, the container image built and run, the SIPp call flows and payment calls (when sipp is installed), every test with the race detector
	bash deploy/check.sh --image
	SIPP_CALLS=50 SIPP_RATE=25 SIPP_HOLD=500 bash test/sipp/run.sh flows pay
	$(GO) test -race -timeout 20m ./...

bench: build ## micro-benchmarks, then the B2BUA load program (figures in BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./test/sipload -tonewall bin/tonewall -transport udp -calls 5000 -workers 64 -hold 1000
	$(GO) run ./test/sipload -tonewall bin/tonewall -transport tls -calls 2000 -workers 64 -hold 1000
	$(GO) run ./test/load -calls 500 -duration 6s -srtp gcm -mode all
	$(GO) run ./test/load -calls 500 -duration 5s -srtp off -mode forward,relay,rtpengine -rounds 3
	$(GO) run ./test/load -calls 500 -duration 5s -srtp aes80 -mode forward,relay,rtpengine -rounds 3
	$(GO) run ./test/load -calls 562 -search 3000 -duration 5s -srtp aes80 -mode forward,relay,rtpengine -port-min 17000
	$(GO) run ./test/load -calls 1000 -srtp gcm -mode relay -stage none,mix,closed,open -rounds 6 -phase 2s

FUZZTIME ?= 30s
fuzz: ## run each fuzz target for FUZZTIME
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

sipp: ## every SIPp scenario against a local build, the payment load included (needs sipp on PATH, or SIPP=/path/to/sipp; TLS runs need a sipp with TLS)
	bash test/sipp/run.sh all

hostile: ## the hostile-input suite at full size, with the figures of BENCHMARKS.md "Edge under attack"
	HOSTILE_FULL=1 $(GO) test -count=1 -v -timeout 20m ./test/hostile

.PHONY: soak
soak: ## the soak at full size, 20 calls/s for 5 min, then nothing left of them (BENCHMARKS.md "Soak"); SOAK_RATE, SOAK_DURATION resize it
	SOAK_FULL=1 $(GO) test -count=1 -v -timeout 20m -run '^TestSoak$$' ./test/soak

IMAGE ?= localhost/tonewall:$(VERSION)
CONTAINER_BUILD ?= buildah bud
image: ## the container image of deploy/Containerfile around a static build; pulls nothing
	rm -rf bin/image && mkdir -p bin/image/state
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/image/tonewall ./cmd/tonewall
	cp deploy/passwd deploy/group deploy/tonewall.yaml /etc/ssl/certs/ca-certificates.crt bin/image/
	$(CONTAINER_BUILD) -f deploy/Containerfile -t $(IMAGE) bin/image

deploy-check: ## the unit's checks, then the image built and run read-only (needs buildah and podman)
	bash deploy/check.sh --image

clean:
	rm -rf bin data
