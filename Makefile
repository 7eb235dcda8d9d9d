# Vessel build. `make` builds everything into build/; `make test` runs all tests (as root);
# `make install` puts the commands in $(PREFIX)/bin.
SHELL := /bin/bash
PREFIX ?= /usr/local
# Where `make install` puts vessel.service (systemd's directory for local units).
SYSTEMD_UNIT_DIR ?= /etc/systemd/system
JAVA_HOME := $(shell . scripts/jdk.sh && vessel_find_jdk)
export JAVA_HOME
MVN ?= mvn
MVN_FLAGS ?= -q -B
JAVA := $(JAVA_HOME)/bin/java
SOURCES := $(shell find linux image runtime vmm engine cli -name '*.java' -path '*/main/*' 2>/dev/null) $(wildcard */pom.xml) pom.xml

.PHONY: all build deps test bench install uninstall clean guest-assets

all: build

build: deps build/java build/lib/vessel-runtime.jar build/vessel-launch build/vessel-runtime build/vessel-monitor build/libvessel-client.so build/vessel-runtime.aot build/guests/test-guest.elf build/vessel-vmm.aot

build/java: scripts/jdk.sh
	@mkdir -p build
	echo "$(JAVA)" > $@

deps:
	@scripts/install-deps.sh

build/vessel-launch: native/vessel-launch.c native/Makefile
	@mkdir -p build
	$(MAKE) -s -C native vessel-launch
	cp native/vessel-launch $@

# vessel-vmm's AOT cache: a training run boots the test guest (scripts/aot-train-vmm.sh).
build/vessel-vmm.aot: build/lib/vessel-runtime.jar build/guests/test-guest.elf scripts/vmm-jvm-flags.sh
	@scripts/aot-train-vmm.sh build || { echo "vessel: vessel-vmm AOT training failed; it runs without the cache" >&2; rm -f $@; }

# The VMM's test guests (native/guests): a freestanding x86-64 ELF with PVH and 64-bit entries,
# and the same program as a bzImage.
build/guests/test-guest.elf: $(wildcard native/guests/*.S native/guests/*.c native/guests/*.h native/guests/*.ld) native/guests/Makefile
	@mkdir -p build/guests
	$(MAKE) -s -C native/guests
	cp native/guests/test-guest.elf native/guests/test-guest.bzImage build/guests/

# The runtime's front end: the vessel-runtime command, talking to a warm runtime service.
build/vessel-runtime: native/vessel-runtime.c native/Makefile
	@mkdir -p build
	$(MAKE) -s -C native vessel-runtime
	cp native/vessel-runtime $@

build/vessel-monitor: native/vessel-monitor.c native/Makefile
	@mkdir -p build
	$(MAKE) -s -C native vessel-monitor
	cp native/vessel-monitor $@

# The CLI's connection to the daemon's socket (JNI; beside vessel-launch, where the CLI looks).
build/libvessel-client.so: native/vessel-client.c native/Makefile
	@mkdir -p build
	$(MAKE) -s -C native libvessel-client.so
	cp native/libvessel-client.so $@

build/lib/vessel-runtime.jar: $(SOURCES)
	@mkdir -p build/lib
	$(MVN) $(MVN_FLAGS) -Dmaven.test.skip=true package
	cp cli/target/lib/*.jar build/lib/
	cp cli/target/vessel-cli-*.jar build/lib/vessel-cli.jar
	@rm -f build/vessel-runtime.aot build/vessel.aot build/vessel-daemon.aot build/vessel-vmm.aot

# The JDK 25 AOT cache: classes loaded and linked by a training run of a real container's life.
build/vessel-runtime.aot: build/lib/vessel-runtime.jar build/vessel-launch build/libvessel-client.so
	@scripts/aot-train.sh build || { echo "vessel: AOT training failed; running without the cache" >&2; rm -f $@ build/vessel.aot build/vessel-daemon.aot; }

test: deps
	@scripts/install-deps.sh --test
	$(MAKE) build guest-assets
	$(MVN) -B test -Dvessel.launcher=$(CURDIR)/build/vessel-launch -Dvessel.root=$(CURDIR)

# The default guest of `vessel vm run`: Debian's cloud kernel (bzImage and extracted vmlinux) and an
# initramfs of busybox and its virtio modules, in build/guest/ (cached; see the script).
guest-assets:
	scripts/guest-assets.sh $(CURDIR)/build/guest

bench: build
	bench/run-bench.sh

install: build
	install -d $(PREFIX)/lib/vessel/lib $(PREFIX)/bin
	install -m 0644 build/lib/*.jar $(PREFIX)/lib/vessel/lib/
	install -m 0755 build/vessel-launch $(PREFIX)/lib/vessel/vessel-launch
	install -m 0755 build/vessel-monitor $(PREFIX)/lib/vessel/vessel-monitor
	install -m 0644 build/libvessel-client.so $(PREFIX)/lib/vessel/libvessel-client.so
	install -m 0644 build/java $(PREFIX)/lib/vessel/java
	install -d $(PREFIX)/lib/vessel/scripts
	install -m 0755 scripts/jdk.sh scripts/aot-train.sh scripts/make-rootfs.sh $(PREFIX)/lib/vessel/scripts/
	install -m 0755 scripts/aot-train-vmm.sh $(PREFIX)/lib/vessel/scripts/
	install -m 0644 scripts/vmm-jvm-flags.sh $(PREFIX)/lib/vessel/scripts/
	install -d $(PREFIX)/lib/vessel/guests
	install -m 0644 build/guests/test-guest.elf $(PREFIX)/lib/vessel/guests/
	@# the cache is bound to the jars' paths and times: train it where they now are
	$(PREFIX)/lib/vessel/scripts/aot-train.sh $(PREFIX)/lib/vessel || true
	@# vessel-runtime is the C front end (a link, so that it finds its cold path beside itself);
	@# vessel-runtime-cold is the script, which runs the service and is the front end's fallback
	install -m 0755 build/vessel-runtime $(PREFIX)/lib/vessel/vessel-runtime
	sed -e 's|^here=""  .*|here=$(PREFIX)/lib/vessel|' -e 's|^lib=.*|lib=$$here|' -e 's|^client=.*|client=|' \
	    -e 's|^if \[ ! -f "$$lib/lib/vessel-runtime.jar" \].*|if false; then|' vessel-runtime > $(PREFIX)/lib/vessel/vessel-runtime-cold
	chmod 0755 $(PREFIX)/lib/vessel/vessel-runtime-cold
	rm -f $(PREFIX)/bin/vessel-runtime
	ln -s ../lib/vessel/vessel-runtime $(PREFIX)/bin/vessel-runtime
	sed -e 's|^here=""  .*|here=$(PREFIX)/lib/vessel|' -e 's|^lib=.*|lib=$$here|' \
	    -e 's|^if \[ ! -f "$$lib/lib/vessel-cli.jar" \].*|if false; then|' vessel > $(PREFIX)/bin/vessel
	chmod 0755 $(PREFIX)/bin/vessel
	$(PREFIX)/lib/vessel/scripts/aot-train-vmm.sh $(PREFIX)/lib/vessel || true
	sed -e 's|^here=""  .*|here=$(PREFIX)/lib/vessel|' -e 's|^lib=.*|lib=$$here|' \
	    -e 's|^if \[ ! -f "$$lib/lib/vessel-vmm.jar" \].*|if false; then|' vessel-vmm > $(PREFIX)/bin/vessel-vmm
	chmod 0755 $(PREFIX)/bin/vessel-vmm
	install -d $(SYSTEMD_UNIT_DIR)
	sed -e 's|/usr/local/|$(PREFIX)/|g' packaging/vessel.service > $(SYSTEMD_UNIT_DIR)/vessel.service
	chmod 0644 $(SYSTEMD_UNIT_DIR)/vessel.service
	@if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi

uninstall:
	rm -rf $(PREFIX)/lib/vessel $(PREFIX)/bin/vessel-runtime $(PREFIX)/bin/vessel $(PREFIX)/bin/vessel-vmm $(SYSTEMD_UNIT_DIR)/vessel.service

clean:
	rm -rf build
	$(MAKE) -s -C native clean
	$(MAKE) -s -C native/guests clean
	$(MVN) $(MVN_FLAGS) clean
