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

ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_CFLAGS := -target bpf -O2 -g -Wall -Werror -D__TARGET_ARCH_$(ARCH) \
              -I$(BUILD) -Iinclude -Ibpf
CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Werror -std=gnu11 -I$(BUILD) -Iinclude -Iuser
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

.PHONY: all clean test unit e2e demo install
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/relaybpf

$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

$(BUILD)/user/%.o: user/%.c $(USER_HDRS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/relaybpf: $(BUILD)/user/main.o $(USER_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%.o: tests/unit/%.c $(wildcard tests/unit/*.h) $(USER_HDRS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit -c $< -o $@

$(BUILD)/unit_tests: $(TEST_OBJS) $(USER_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lcriterion

unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

e2e: $(BUILD)/relaybpf
	tests/e2e/run.sh

# The README's test command: installs what is missing, builds, runs it all.
test:
	scripts/deps.sh
	$(MAKE) unit
	$(MAKE) e2e

demo:
	scripts/deps.sh
	$(MAKE) all
	scripts/demo.sh

# The binary, the systemd unit (paths filled in), the man page and the
# example configs; the unit reads $(SYSCONFDIR)/relaybpf/{front,back}.conf.
install: $(BUILD)/relaybpf
	install -D -m 0755 $(BUILD)/relaybpf $(DESTDIR)$(SBINDIR)/relaybpf
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(MANDIR)/man8
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    -e 's|@DOCDIR@|$(DOCDIR)|g' dist/relaybpf@.service.in \
	    > $(DESTDIR)$(UNITDIR)/relaybpf@.service
	install -m 0644 dist/relaybpf.8 $(DESTDIR)$(MANDIR)/man8/relaybpf.8
	install -m 0644 dist/front.conf dist/back.conf $(DESTDIR)$(DOCDIR)/examples/

clean:
	rm -rf $(BUILD)
