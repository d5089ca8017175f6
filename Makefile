# relaybpf build. Every output goes under build/.
BUILD     ?= build
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= gcc
PREFIX    ?= /usr/local
DESTDIR   ?=

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

.PHONY: all clean test unit e2e demo install bench
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

# The benchmark (docs/bench.md): its own BPF programs and tool, never part of `make test`.
BENCH_BPF := $(wildcard bench/*.bpf.c)
BENCH_SKELS := $(patsubst bench/%.bpf.c,$(BUILD)/bench/%.skel.h,$(BENCH_BPF))

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c bench/bench.h $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -Ibench -c $< -o $@

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

$(BUILD)/bench/rbbench: bench/rbbench.c bench/bench.h $(BENCH_SKELS)
	$(CC) $(CFLAGS) -I$(BUILD)/bench -Ibench $< -o $@ $(LDLIBS) -lpthread

bench:
	scripts/deps.sh
	$(MAKE) all $(BUILD)/bench/rbbench
	bench/run.sh

install: $(BUILD)/relaybpf
	install -D -m 0755 $(BUILD)/relaybpf $(DESTDIR)$(PREFIX)/sbin/relaybpf

clean:
	rm -rf $(BUILD)
