# relaybpf build. Every output goes under build/.
BUILD     ?= build
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= gcc
PREFIX    ?= /usr/local
DESTDIR   ?=
SBINDIR   ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
UNITDIR   ?= $(PREFIX)/lib/systemd/system
DOCDIR    ?= $(PREFIX)/share/doc/relaybpf
MANDIR    ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions

ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# The BPF programs build against the UAPI headers (linux-libc-dev), never the
# build host's kernel (bpf/lib/common.h says why that is enough); asm/ is in
# the multiarch directory, which clang does not search for -target bpf.
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
# Extra definitions for both the BPF programs and the loader: a variant
# build (tests/e2e/test_rel_upgrade.sh builds one with one more counter).
RELAY_DEFS ?=
BPF_CFLAGS := $(RELAY_DEFS) -target bpf -O2 -g -Wall -Werror -D__TARGET_ARCH_$(ARCH) \
              -Iinclude -Ibpf $(if $(MULTIARCH),-I/usr/include/$(MULTIARCH))
CFLAGS    ?= -O2 -g
CFLAGS    += $(RELAY_DEFS) -D_GNU_SOURCE -Wall -Wextra -Werror -std=gnu11 -I$(BUILD) -Iinclude -Iuser
LDLIBS    := -lbpf -lelf -lz

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BPF_HDRS  := $(wildcard bpf/lib/*.h) include/relaybpf.h

# The loader's code, less main(), is a library the unit tests link too.
USER_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
USER_HDRS := $(wildcard user/*.h) include/relaybpf.h

TEST_SRCS := $(wildcard tests/unit/*.c)
TEST_OBJS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%.o,$(TEST_SRCS))

FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               -Wall -Wextra -Werror -std=gnu11 -I$(BUILD) -Iinclude -Iuser -Itests/unit

SANITIZE_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                   -fno-sanitize-recover=all

.PHONY: all clean test unit e2e demo install deb fuzz lint check-sanitize front-ns bench soak vmtest
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/relaybpf

# The TC programs of the front with ALU32 and JMP32 (BPF v3, kernel 5.1+):
# a 32-bit field read back from the stack no longer pays `<<= 32; >>= 32`
# and a 32-bit compare is one jump. relay_front_in's xlated 6898 -> 6465,
# relay_front_rev's 4609 -> 4343, frames no larger, hot -2 to -3 ns but
# for relay_front_in over IPv6 (level), whose gain is relay_nat6_fwd
# inlined, which v3 leaves room for in 6.1's stack limit (nat.h; figures in
# docs/bench.md, "relay_front_in's and relay_front_rev's spills"). Not
# relay_front_xdp's: its verifier walk grew to 97% of the limit.
$(BUILD)/bpf/front_public.bpf.o $(BUILD)/bpf/front_tunnel.bpf.o: BPF_CFLAGS += -mcpu=v3

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

# CPPFLAGS and LDFLAGS as the environment gives them (the package's
# hardening flags, dpkg-buildflags).
$(BUILD)/user/%.o: user/%.c $(USER_HDRS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The version: the VERSION file's line (a fresh clone has no tags to
# describe; the package takes it too, debian/changelog must agree).
VERSION   := $(shell cat VERSION)
VERSION_DEF := -DRELAY_VERSION='"$(VERSION)"'
$(BUILD)/user/version.o: VERSION
$(BUILD)/user/version.o: CFLAGS += $(VERSION_DEF)

$(BUILD)/relaybpf: $(BUILD)/user/main.o $(USER_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%.o: tests/unit/%.c $(wildcard tests/unit/*.h) $(USER_HDRS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit -c $< -o $@

$(BUILD)/unit_tests: $(TEST_OBJS) $(USER_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lcriterion

# ns/packet of the front programs (BPF_PROG_TEST_RUN, repeat): a figure, not a test.
$(BUILD)/front_ns: tests/bench/front_ns.c $(BUILD)/tests/packet.o $(USER_OBJS)
	$(CC) $(CFLAGS) -Itests/unit $^ -o $@ $(LDLIBS)

front-ns: $(BUILD)/front_ns
	$(BUILD)/front_ns

unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

# libFuzzer on the BPF programs (tests/fuzz/relay_fuzz.c). The loader's
# objects link as they are; the harness and the fixtures get the sanitizers.
$(BUILD)/fuzz/relay_fuzz: tests/fuzz/relay_fuzz.c tests/unit/packet.c tests/unit/packet.h \
		$(USER_OBJS) $(USER_HDRS) $(SKELS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/relay_fuzz.c tests/unit/packet.c $(USER_OBJS) -o $@ $(LDLIBS)

$(BUILD)/fuzz/seeds: tests/fuzz/seeds.c tests/unit/packet.c tests/unit/packet.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit tests/fuzz/seeds.c tests/unit/packet.c -o $@

# Bounded run: FUZZ_SECONDS (60). New inputs go to build/fuzz/corpus, an
# input that breaks an invariant to build/fuzz/crash-*. FUZZ_PROG=0..3
# fuzzes one program alone (tests/fuzz/README.md), with a corpus of its own.
FUZZ_CORPUS := $(BUILD)/fuzz/corpus$(if $(FUZZ_PROG),-$(FUZZ_PROG))
fuzz: $(BUILD)/fuzz/relay_fuzz $(BUILD)/fuzz/seeds
	@mkdir -p $(BUILD)/fuzz/seed $(FUZZ_CORPUS)
	$(BUILD)/fuzz/seeds $(BUILD)/fuzz/seed
	$(if $(FUZZ_PROG),RELAY_FUZZ_PROG=$(FUZZ_PROG) )$(BUILD)/fuzz/relay_fuzz \
		-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=$(BUILD)/fuzz/ $(FUZZ_CORPUS) $(BUILD)/fuzz/seed

# E2E_JOBS: scripts at once (tests/e2e/run.sh).
E2E_JOBS ?= 1
e2e: $(BUILD)/relaybpf
	E2E_JOBS=$(E2E_JOBS) tests/e2e/run.sh

# SOAK_SECONDS (600) of mixed traffic through the lab, then the loader's
# commands under valgrind (tests/e2e/soak.sh). Not part of `make test`.
soak: $(BUILD)/relaybpf
	scripts/deps.sh
	SOAK_SECONDS=$(or $(SOAK_SECONDS),600) tests/e2e/soak.sh

# Static analysis of the loader: both must stay clean (.clang-tidy lists the
# checks; the skeletons are generated first, user/ includes them).
lint: $(SKELS)
	cppcheck --library=scripts/cppcheck-libbpf.cfg --enable=warning,style,performance,portability \
		--std=c11 --error-exitcode=1 --quiet -Iinclude -Iuser \
		--suppress=unusedStructMember:user/netlink.c user/
	clang-tidy --quiet $(USER_SRCS) user/main.c -- $(VERSION_DEF) -D_GNU_SOURCE -std=gnu11 -I$(BUILD) -Iinclude -Iuser

# The loader and the unit tests built with ASan and UBSan in their own build
# directory, then the unit tests run. Criterion ignores a report printed when
# a test's process exits (LeakSanitizer), so the log is searched for one.
check-sanitize:
	CFLAGS="$(SANITIZE_CFLAGS)" $(MAKE) BUILD=$(BUILD)/sanitize \
		$(BUILD)/sanitize/relaybpf $(BUILD)/sanitize/unit_tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		$(BUILD)/sanitize/unit_tests > $(BUILD)/sanitize/unit.log 2>&1; \
		rc=$$?; cat $(BUILD)/sanitize/unit.log; test $$rc -eq 0 && \
		! grep -qE 'ERROR: [A-Za-z]+Sanitizer|runtime error:' $(BUILD)/sanitize/unit.log
	$(BUILD)/sanitize/relaybpf --help >/dev/null
	$(BUILD)/sanitize/relaybpf attach --role front --bogus 2>/dev/null; test $$? -eq 2

# The unit tests and an e2e subset on another kernel, booted in QEMU
# (scripts/vmtest.sh): KERNEL=6.1 or 6.12 (Debian's cloud kernels, fetched
# with apt-get download) or host. The build runs here, on the host.
# VMTEST_ARGS: more options of scripts/vmtest.sh (--unit-filter, --e2e).
KERNEL ?= 6.1
vmtest:
	scripts/deps.sh
	$(MAKE) all $(BUILD)/unit_tests
	scripts/vmtest.sh --kernel $(KERNEL) --no-build $(VMTEST_ARGS)

# What `make test` runs on Debian's 6.1 and 6.12. 6.1, the minimum, runs
# every unit test that makes a bpf() call (the fixtures load only the
# programs their tests run, since QEMU's TCG makes each verifier pass cost
# seconds; together they load all five) and two e2e scripts for each family:
# TC (native XDP from 6.3) with the backend verifying every checksum, and
# every kind of reply from the back ending with detach. Left out on 6.1:
# VMTEST_HOST_ONLY, 66 of the 350 tests, the suites of pure userspace code
# (option and config parsing, mark and table allocation, the maglev table,
# service plans, the metrics text): strace -f of them counts no bpf() call,
# no uname(), no netlink socket, no file of /proc or /sys but
# /sys/devices/system/cpu/possible (a CPU count) and one SIOCGIFNAME ioctl
# (a device's name for a message), so nothing in their result comes from
# the kernel, and the host runs them (below); under TCG each still costs a process start (the 66 took 76 s and 88 s
# in the 6.1 guest, load 2.5 on the host). Kept, though they load no program:
# version (probes the kernel), service_maps and service_hold (create maps).
# 6.12 runs the same e2e scripts and the suites whose
# results hang on the kernel's helpers: the checksum helpers with and without
# BPF_F_IPV6 (ipv6_csum, back_csum, icmp_csum), ICMP errors built with
# bpf_skb_change_tail and bpf_check_mtu on GSO packets (front_mtu), socket
# lookups (front_host, back_out), fragments, the XDP rewrite, the back's
# fix-ups and its ICMP to its own stack (back_mtu); those load every program
# too. `make vmtest KERNEL=6.12` runs it whole.
VMTEST_HOST_ONLY := back_alloc|backend_opt|config|ct_max|maglev|mark|metrics_addr|metrics_format|options|port_list|rate_limit|service_check|service_opt|service_plan
VMTEST_CI_E2E := --e2e 'test_front_xdp_native.sh test_back_replies_veth.sh'
VMTEST_CI_UNIT := @(ipv6_csum/*|back_csum/*|icmp_csum/*|back_mtu/*|front_host/*|front_mtu/*@(too_big|gso)*|front_xdp/*relayed*|back_out/*@(redirected|local_socket)*|front_frag/*@(relayed|stack)*)
VMTEST_CI_WHOLE := --timeout 3600 --unit-filter '!(@($(VMTEST_HOST_ONLY)))/*' $(VMTEST_CI_E2E)
VMTEST_CI := --timeout 1800 --unit-filter '$(VMTEST_CI_UNIT)' $(VMTEST_CI_E2E)

# The README's test command: installs what is missing, builds, runs it all.
# The unit tests run once per kernel: on the host all 350 under ASan+UBSan
# (check-sanitize; the plain build's whole run on the same kernel would add
# nothing but 75 s), the plain -O2 build, the one users run, on the host for
# the VMTEST_HOST_ONLY suites and in the 6.1 guest for the other 284.
# The kernel matrix runs last, one kernel after the other: TCG is CPU-bound
# and each guest's criterion runs tests on both of its CPUs, so two guests
# side by side on 2 cores would share the same CPU time, and timing-sensitive
# e2e tests (socat and ping timeouts) would run slower still. The host's e2e
# scripts run two at a time (tests/e2e/run.sh: each lab is its own): most of
# their time is waiting (timeouts, probes, BGP), 2090 checks passed so in
# 1310 s against 1675 s one at a time, on a machine loaded by other work.
test:
	scripts/deps.sh
	$(MAKE) lint
	$(MAKE) $(BUILD)/unit_tests
	$(BUILD)/unit_tests --filter '@($(VMTEST_HOST_ONLY))/*'
	$(MAKE) check-sanitize
	$(MAKE) fuzz FUZZ_SECONDS=20
	$(MAKE) e2e E2E_JOBS=2
	$(MAKE) vmtest KERNEL=6.1 VMTEST_ARGS="$(VMTEST_CI_WHOLE)"
	$(MAKE) vmtest KERNEL=6.12 VMTEST_ARGS="$(VMTEST_CI)"

demo:
	scripts/deps.sh
	$(MAKE) all
	scripts/demo.sh

# The benchmark (docs/bench.md): its own BPF programs and tool, never part of `make test`.
BENCH_BPF := $(wildcard bench/*.bpf.c)
BENCH_SKELS := $(patsubst bench/%.bpf.c,$(BUILD)/bench/%.skel.h,$(BENCH_BPF))

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c bench/bench.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -Ibench -c $< -o $@

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

$(BUILD)/bench/rbbench: bench/rbbench.c bench/bench.h $(BENCH_SKELS)
	$(CC) $(CFLAGS) -I$(BUILD)/bench -Ibench $< -o $@ $(LDLIBS) -lpthread

bench:
	scripts/deps.sh
	$(MAKE) all $(BUILD)/bench/rbbench $(BUILD)/front_ns
	bench/run.sh


# The binary, the systemd unit (paths filled in), the man page and the
# example configs and the bash completion; the unit reads
# $(SYSCONFDIR)/relaybpf/{front,back}.conf.
install: $(BUILD)/relaybpf
	install -D -m 0755 $(BUILD)/relaybpf $(DESTDIR)$(SBINDIR)/relaybpf
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(COMPLETIONDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    -e 's|@DOCDIR@|$(DOCDIR)|g' dist/relaybpf@.service.in \
	    > $(DESTDIR)$(UNITDIR)/relaybpf@.service
	install -m 0644 dist/relaybpf.8 $(DESTDIR)$(MANDIR)/man8/relaybpf.8
	install -m 0644 dist/front.conf dist/back.conf dist/bird-front.conf dist/frr-front.conf $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 dist/relaybpf.bash-completion $(DESTDIR)$(COMPLETIONDIR)/relaybpf

# The Debian package (debian/): dpkg-buildpackage writes its results next to
# the source tree and its scratch files into debian/, so it builds a copy of
# the tree in $(BUILD)/deb/ and everything stays under $(BUILD); of what it
# makes only the package is kept. lintian must find no error.
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB      := $(BUILD)/relaybpf_$(VERSION)_$(DEB_ARCH).deb
deb:
	scripts/deps.sh
	@test "$$(dpkg-parsechangelog -S Version)" = "$(VERSION)" || \
		{ echo "make deb: debian/changelog's version is not VERSION's ($(VERSION))" >&2; exit 1; }
	rm -rf $(BUILD)/deb
	mkdir -p $(BUILD)/deb/relaybpf-$(VERSION)
	tar -c --exclude=./.git --exclude=./build --exclude=./$(BUILD) . | \
		tar -x -C $(BUILD)/deb/relaybpf-$(VERSION)
	cd $(BUILD)/deb/relaybpf-$(VERSION) && dpkg-buildpackage -us -uc -b
	lintian --allow-root --fail-on error --display-info $(BUILD)/deb/relaybpf_$(VERSION)_$(DEB_ARCH).changes
	cp $(BUILD)/deb/relaybpf_$(VERSION)_$(DEB_ARCH).deb $(DEB)
	rm -rf $(BUILD)/deb
	@echo "make deb: $(DEB)"

clean:
	rm -rf $(BUILD)
