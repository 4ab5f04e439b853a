# sysq - Makefile.  `make run` starts sysqd, `make test` runs every suite
# under ASan+UBSan.  Both install missing Debian packages when run as root
# (mk/deps.sh) and otherwise print the command to run.
#
# Builds land in build/rel (release) or build/asan (sanitizers); the
# variant is chosen by BUILD=rel|asan on the recursive make below.

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= rel
OUT      := build/$(BUILD)

UNAME_S := $(shell uname -s)
ifeq ($(UNAME_S),Darwin)
  OS := darwin
  OS_CPPFLAGS := -D_DARWIN_C_SOURCE
else
  OS := linux
  OS_CPPFLAGS := -D_GNU_SOURCE
endif

PKGS     := libuv msgpack
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC       ?= cc
WARN     := -Wall -Wextra -Werror -Wshadow -Wconversion -Wno-sign-conversion \
            -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS += $(OS_CPPFLAGS) -DSQ_VERSION='"$(VERSION)"' -Iproto -Ilib -Idaemon -Iclient
CFLAGS_rel  := -std=c11 -O2 -g $(WARN)
CFLAGS_asan := -std=c11 -O1 -g -fno-omit-frame-pointer $(WARN) \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS_asan := -fsanitize=address,undefined
ALL_CFLAGS  = $(CFLAGS_$(BUILD)) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(LDFLAGS_$(BUILD)) $(LDFLAGS)

# Per-OS sources: lib/<x>_<os>.c, daemon/<x>_<os>.c; everything else is portable.
os_filter = $(filter-out %_linux.c %_darwin.c,$(1)) $(filter %_$(OS).c,$(1))
PROTO_SRCS  := $(wildcard proto/*.c)
LIB_SRCS    := $(call os_filter,$(wildcard lib/*.c))
DAEMON_SRCS := $(call os_filter,$(wildcard daemon/*.c))
CLIENTLIB_SRCS := client/libsysq.c client/json.c
CLI_SRCS    := $(filter-out $(CLIENTLIB_SRCS),$(wildcard client/*.c))
UNIT_SRCS   := $(wildcard tests/unit/*.c)
INTEG_SRCS  := $(wildcard tests/integration/*.c)

obj = $(patsubst %.c,$(OUT)/%.o,$(1))
CORE_OBJS   := $(call obj,$(PROTO_SRCS) $(LIB_SRCS))
DAEMON_OBJS := $(call obj,$(DAEMON_SRCS))
CLIENT_OBJS := $(call obj,$(CLIENTLIB_SRCS))

.PHONY: all build deps run test check unit integration interop bench fuzz \
        valgrind install uninstall clean lint check-darwin help

all:
	@mk/deps.sh build
	@$(MAKE) --no-print-directory BUILD=rel build

build: $(OUT)/sysqd $(OUT)/sysq $(OUT)/libsysq.a

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(OUT)/libsysq.a: $(CLIENT_OBJS) $(CORE_OBJS)
	$(AR) rcs $@ $^

$(OUT)/sysqd: $(DAEMON_OBJS) $(CORE_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

$(OUT)/sysq: $(call obj,$(CLI_SRCS)) $(OUT)/libsysq.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# ---- tests ---------------------------------------------------------------
$(OUT)/tests/unit-tests: $(call obj,$(UNIT_SRCS)) $(CORE_OBJS) $(CLIENT_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion

$(OUT)/tests/integration-tests: $(call obj,$(INTEG_SRCS)) $(OUT)/libsysq.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion -lpthread

test-bins: build $(OUT)/tests/unit-tests $(OUT)/tests/integration-tests

# `make test` (= `make check`): everything, sanitized.  The summary line at
# the end is "sysq tests: N passed, N failed, N skipped".
test check:
	@mk/deps.sh test
	@$(MAKE) --no-print-directory BUILD=asan test-bins
	@tests/run-all.sh build/asan

unit integration interop:
	@mk/deps.sh test
	@$(MAKE) --no-print-directory BUILD=asan test-bins
	@tests/run-all.sh build/asan $@

# ---- running -------------------------------------------------------------
run: all
	@echo "sysqd: starting in the foreground (Ctrl-C stops it)"
	$(OUT)/sysqd -v $(ARGS)

bench:
	@mk/deps.sh bench
	@$(MAKE) --no-print-directory BUILD=rel build bench-bins
	@bench/run.sh build/rel

BENCH_SRCS := $(wildcard bench/*.c)
bench-bins: $(patsubst bench/%.c,$(OUT)/bench/%,$(BENCH_SRCS))
$(OUT)/bench/%: bench/%.c $(OUT)/libsysq.a $(wildcard bench/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $(filter-out %.h,$^) $(PKG_LIBS) -lpthread -lm

# ---- install -------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 build/rel/sysqd $(DESTDIR)$(PREFIX)/sbin/sysqd
	install -m 0755 build/rel/sysq $(DESTDIR)$(PREFIX)/bin/sysq

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/sysqd $(DESTDIR)$(PREFIX)/bin/sysq

clean:
	rm -rf build

help:
	@echo "make            build sysqd, sysq and libsysq.a (release) into build/rel"
	@echo "make run        build and start sysqd in the foreground (ARGS=... to add options)"
	@echo "make test       build with ASan+UBSan and run unit, integration and interop tests"
	@echo "make bench      speed and memory figures against raw baselines"
	@echo "make check-darwin  compile the macOS code for arm64 and x86_64"
	@echo "make install    install under PREFIX=$(PREFIX) (DESTDIR honoured)"

-include mk/darwin.mk
-include $(wildcard $(OUT)/*/*.d $(OUT)/*/*/*.d)
