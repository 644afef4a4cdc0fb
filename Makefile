# Ployz: the two commands a new user needs are `make demo` and `make test`.
SWIFT ?= swift
BIN = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)

.PHONY: deps build test demo demo-down install uninstall bench-nats bench-mesh bench-gateway bench-dns bench-deploy clean

# make install: where the binaries go; DESTDIR stages a package's tree.
PREFIX ?= /usr/local
DESTDIR ?=
PRODUCTS = ployzd ployzctl ployz-gateway ployz-dns
# The admin's unit directory on a live system, the distribution's when staging a package.
UNITDIR ?= $(if $(DESTDIR),/lib/systemd/system,/etc/systemd/system)

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

## install: release build; the four binaries into $(PREFIX)/bin, ployzd.service, /etc/ployz
install:
	$(SWIFT) build -c release
	install -d -m 0755 $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) $(DESTDIR)/etc/ployz
	cd "$$($(SWIFT) build -c release --show-bin-path)" && install -m 0755 $(PRODUCTS) $(DESTDIR)$(PREFIX)/bin/
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|' packaging/systemd/ployzd.service > $(DESTDIR)$(UNITDIR)/ployzd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/ployzd.service
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "installed; start it with: systemctl enable --now ployzd"

## uninstall: removes what install put in place; keeps /etc/ployz and /var/lib/ployz (config, networks, keys)
uninstall:
	rm -f $(foreach p,$(PRODUCTS),$(DESTDIR)$(PREFIX)/bin/$(p)) $(DESTDIR)$(UNITDIR)/ployzd.service
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

bench-nats:
	@scripts/bench-nats.sh

bench-mesh:
	@scripts/bench-mesh.sh

bench-gateway:
	@scripts/bench-gateway.sh

bench-dns:
	@scripts/bench-dns.sh

bench-deploy:
	@scripts/bench-deploy.sh

clean:
	rm -rf .build
