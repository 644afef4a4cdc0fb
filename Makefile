# Ployz: the two commands a new user needs are `make demo` and `make test`.
SWIFT ?= swift
BIN = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)

.PHONY: deps build test demo demo-down bench-nats bench-mesh bench-gateway bench-dns clean

## deps: install the Debian packages Ployz needs (only what is missing)
deps:
	@scripts/deps.sh

## build: debug build of every product
build: deps
	$(SWIFT) build

## test: every test (unit and, as root, integration in network namespaces)
test: deps
	$(SWIFT) build --build-tests
	@scripts/run-tests.sh

## demo: a working mesh on this machine, in network namespaces
demo: build
	@scripts/demo.sh up

## demo-down: remove everything the demo made
demo-down:
	@scripts/demo.sh down

bench-nats:
	@scripts/bench-nats.sh

bench-mesh:
	@scripts/bench-mesh.sh

bench-gateway:
	@scripts/bench-gateway.sh

bench-dns:
	@scripts/bench-dns.sh

clean:
	rm -rf .build
