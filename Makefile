# HL7 v2 / FHIR ingestion gateway. `make run` starts it with an embedded
# Kafka-protocol broker; `make test` runs the whole suite, as CI does.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)

# The whole suite runs its real-Kafka, kcat and grpcurl tests: nothing is
# skipped silently in `make test`.
TEST_ENV := KAFKA_TESTS=1 KCAT_REQUIRED=1 GRPCURL_REQUIRED=1 SCHEMATHESIS_REQUIRED=1 INTEROP_REQUIRED=1 HAPIFHIR_REQUIRED=1 LFH_REQUIRED=1
FUZZTIME ?= 60s

.PHONY: all build run test test-go test-deps ops-check lint fmt-check vet proto proto-check r4spec r4spec-check v2fhir-vocab tools bench bench-go bench-e2e bench-py bench-v2fhir soak fuzz clean

all: build

build:
	$(GO) build -buildvcs=auto -o $(BIN)/gateway ./cmd/gateway

## run: the gateway with every door on its default port and an embedded broker on 127.0.0.1:9092.
# Built, then exec'd: the gateway is make's own child, so the SIGTERM make
# forwards to its children reaches it (`go run` would not pass it on and
# leave the gateway orphaned). -buildvcs=auto records the revision that
# `gateway version` prints, even where GOFLAGS turns stamping off.
run:
	$(GO) build -buildvcs=auto -o $(BIN)/gateway ./cmd/gateway && exec $(BIN)/gateway serve $(ARGS)

## test: lint, generated-code check, then every test (fuzz seed corpora included).
test: lint proto-check r4spec-check ops-check test-go

## ops-check: alert rules (promtool check + unit tests) and the dashboard against docs/metrics.md.
ops-check:
	bash scripts/promtool.sh

# -race: the doors, the pipeline and the producer are concurrent by design;
# the detector costs about two minutes here.
test-go: test-deps
	$(TEST_ENV) $(GO) test -race -count=1 -p 2 -timeout 40m ./...

## test-deps: what the tests need besides Go, installed idempotently:
## kcat and haproxy (apt), grpcurl (go install), Apache Kafka, HAPI FHIR and LinuxForHealth's
## hl7v2-fhir-converter (Maven Central),
## schemathesis (PyPI, into a venv under .cache/).
test-deps: tools
	bash test/kcat/check.sh install
	bash test/kafka/kafka.sh fetch
	bash test/scaleout/haproxy.sh install
	bash test/hapifhir/hapi.sh fetch
	bash bench/v2fhir/lfh.sh fetch
	bash test/interop/setup.sh install >/dev/null
	bash test/openapi/setup.sh >/dev/null

tools:
	bash scripts/tools.sh

lint: fmt-check vet tools
	$(BIN)/buf lint

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## proto: regenerate Go, gRPC, grpc-gateway and OpenAPI code with buf and local plugins.
proto: tools
	bash scripts/proto.sh

proto-check: tools
	bash scripts/proto.sh --check

## v2fhir-vocab: regenerate hl7/v2fhir/vocab_gen.go from the IG concept maps in hl7/v2fhir/ig (TestVocabIsGenerated checks it).
v2fhir-vocab:
	cd hl7/v2fhir && $(GO) generate

## r4spec: regenerate fhir/r4spec/r4_gen.go from the FHIR R4 definitions (Maven Central, see fhir/r4spec/SOURCE.md).
r4spec:
	cd fhir/r4spec && $(GO) generate

r4spec-check:
	bash fhir/r4spec/fetch.sh --check

## bench: parser, validation, FHIR and end-to-end figures, each beside its baseline.
bench: bench-go bench-py bench-e2e bench-v2fhir

# bench/fhirload runs 3s per figure: at the default 1s its 8-client rate varies by about 10% here.
bench-go:
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 -cpu=1 ./hl7/ ./hl7/conformance/ ./ingest/hl7door/ ./ingest/mllp/ ./publish/
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./fhir/fhirval/
	$(GO) test -run='^$$' -bench=Convert -benchmem -count=1 -cpu=1 ./hl7/v2fhir/
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=3s -count=1 ./bench/fhirload/

# HL7 v2 to FHIR beside LinuxForHealth's converter: resources, coverage table,
# CPU per message (10 s of LinuxForHealth's timed passes; make test runs it with 2 s).
bench-v2fhir: build
	bash bench/v2fhir/lfh.sh fetch
	GATEWAY_BIN=$(BIN)/gateway LFH_REQUIRED=1 LFH_MIN_CPU=10s $(GO) test -run='^TestSideBySide$$' -count=1 -v ./bench/v2fhir/

bench-py:
	bash bench/hl7py/run.sh

bench-e2e: build
	bash scripts/bench-e2e.sh

## soak: 1M messages over MLLP into 3-broker Kafka beside a plain producer (not in test or bench;
## SOAK_MESSAGES=100000 make soak for fewer).
soak: build
	bash scripts/soak.sh

## fuzz: run every fuzz target for FUZZTIME each (the seed corpora also run in `make test`).
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf $(BIN)
